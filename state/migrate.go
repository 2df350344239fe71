package state

import (
	"time"

	"github.com/BurntSushi/toml"
)

// v1Session is a session as schema version 1 wrote it: a Slurm job in
// slurm_* keys.
type v1Session struct {
	Session
	SlurmJob   string    `toml:"slurm_job,omitempty"`
	SlurmNode  string    `toml:"slurm_node,omitempty"`
	SlurmNonce string    `toml:"slurm_nonce,omitempty"`
	SlurmLimit string    `toml:"slurm_limit,omitempty"`
	SlurmEnd   time.Time `toml:"slurm_end,omitempty"`
}

type v1File struct {
	SchemaVersion int         `toml:"schema_version"`
	Sessions      []v1Session `toml:"sessions"`
	Pending       []Pending   `toml:"pending,omitempty"`
}

// decode reads b into f, migrating a file of an older schema version.
func decode(b []byte, f *File) (toml.MetaData, error) {
	var head struct {
		SchemaVersion int `toml:"schema_version"`
	}
	if _, err := toml.Decode(string(b), &head); err != nil {
		return toml.MetaData{}, err
	}
	if head.SchemaVersion >= 2 {
		return toml.Decode(string(b), f)
	}
	var old v1File
	md, err := toml.Decode(string(b), &old)
	if err != nil {
		return md, err
	}
	*f = File{SchemaVersion: SchemaVersion, Pending: old.Pending}
	for _, s := range old.Sessions {
		if s.SlurmJob != "" {
			s.Session.Job = &Job{Scheduler: "slurm", ID: s.SlurmJob, Node: s.SlurmNode, Nonce: s.SlurmNonce, Limit: s.SlurmLimit, End: s.SlurmEnd}
		}
		f.Sessions = append(f.Sessions, s.Session)
	}
	return md, nil
}
