package templates

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/jt-sh/jt/validate"
	"github.com/jt-sh/jt/visible"
)

// The gate: every answer of a remote script is read by Read, which checks
// each value against the grammar of its key before any of it is used. The
// host may be compromised, and it writes Jupyter's runtime files too: a
// value that fails is an error naming the field, and nothing is used.

// MaxReply bounds a whole answer; a script's real answers are a few kB.
const MaxReply = 1 << 20

// Kind says which script answered: each has its own keys.
type Kind int

const (
	KindSession  Kind = iota // open.sh and list.sh (answer_session)
	KindClose                // close.sh
	KindAttach               // attach.sh
	KindDoctor               // doctor.sh
	KindHostKeys             // hostkeys.sh

	// The batch answer protocol: any scheduler's scripts (package
	// scheduler and its implementations) answer with these keys.
	KindBatchOpen   // a Submit script: the job, its node and Jupyter
	KindBatchStatus // a Status script: one block per job
	KindBatchCancel // a Cancel script

	KindNotebook // notebook.sh
	KindPorts    // ports.sh: the session, then one block per listener
	KindActivity // activity.sh: one block per session, its idle watcher's verdict
	KindKernel   // kernel.sh: where jt kernel run's kernel listens
)

// AnswerError is a value a host answered that jt refuses to use.
type AnswerError struct {
	Host  string
	Field string // "a socket path", "a port", …
	Value string
	Why   string
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("%s answered %s jt will not use: %s (%s)", e.Host, e.Field, visible.Quote(e.Value), e.Why)
}

// Refused reports whether err is the gate refusing an answer (as opposed
// to an answer that is missing or cut short).
func Refused(err error) bool {
	var a *AnswerError
	return errors.As(err, &a)
}

// A grammar checks one value; why is "" when it passes.
type grammar struct {
	field string
	check func(string) (why string)
	text  bool // free text shown to the user: made visible, not refused
}

var (
	labelRE     = lazy(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$`) // and at most 63 long
	nodeListRE  = bounded(`^[A-Za-z0-9_.,()\[\]-]*$`, 1000)
	jobStateRE  = lazy(`^[A-Za-z0-9_ ]{0,64}$`)
	sockPathRE  = lazy(`^/[A-Za-z0-9._+/-]*$`)
	baseURLRE   = lazy(`^/([A-Za-z0-9._~+-]+/)*$`)
	tokenRE     = bounded(`^[A-Za-z0-9_-]+$`, 256)
	resourceRE  = bounded(`^[A-Za-z0-9_.:@/+-]*$`, 128)
	runtimeRE   = lazy(`^(nb|jp)server-[0-9]{1,10}\.json$`)
	bootRE      = lazy(`^[A-Za-z0-9-]{1,64}$`)
	jobRE       = lazy(`^[0-9]{1,12}(_[0-9]{1,12})?$`)
	jobsRE      = lazy(`^([0-9]{1,12}(_[0-9]{1,12})? ?)*$`)
	nonceRE     = lazy(`^[0-9a-f]{0,64}$`)
	wordRE      = lazy(`^[A-Za-z0-9_]{0,32}$`)
	slurmTimeRE = lazy(`^[A-Za-z0-9:_-]{0,32}$`)
	windowRE    = lazy(`^([0-9]+\.)?jt-[A-Za-z0-9._-]{1,64}$`)
	digitsRE    = lazy(`^[0-9]{0,20}$`)
	commRE      = lazy(`^[A-Za-z0-9._+-]{0,32}$`)
	versionRE   = lazy(`^[0-9][0-9A-Za-z.+_-]{0,31}$`)
)

// maxPID is Linux's PID_MAX_LIMIT; other systems stay below it.
const maxPID = 1 << 22

// A boundedRE is a regexp with a length bound: a bound written as a
// counted repetition ({0,1000}) costs milliseconds to compile, at every
// start of jt.
type boundedRE struct {
	re  lazyRE
	max int
}

func bounded(expr string, max int) boundedRE { return boundedRE{lazy(expr), max} }

// lazyRE is a regular expression compiled when first used: a command that
// reads no answer (jt --help, jt url) pays nothing for the grammars, whose
// counted repetitions ({0,64}) cost most of this package's start.
type lazyRE struct{ re func() *regexp.Regexp }

// lazies are every lazyRE, for the test that compiles them all.
var lazies []lazyRE

func lazy(expr string) lazyRE {
	l := lazyRE{sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })}
	lazies = append(lazies, l)
	return l
}

func (l lazyRE) MatchString(s string) bool { return l.re().MatchString(s) }

func (b boundedRE) MatchString(s string) bool { return len(s) <= b.max && b.re.MatchString(s) }

func match(re interface{ MatchString(string) bool }, why string) func(string) string {
	return func(s string) string {
		if re.MatchString(s) {
			return ""
		}
		return why
	}
}

func oneOf(words ...string) func(string) string {
	return func(s string) string {
		for _, w := range words {
			if s == w {
				return ""
			}
		}
		return "not one of " + strings.Join(words, ", ")
	}
}

func number(lo, hi int, emptyOK bool) func(string) string {
	return func(s string) string {
		if s == "" && emptyOK {
			return ""
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi || strconv.Itoa(n) != s {
			return fmt.Sprintf("not a number from %d to %d", lo, hi)
		}
		return ""
	}
}

// checkPath: a remote file or directory name jt records and shows.
func checkPath(s string) string {
	switch {
	case len(s) > 4096:
		return "longer than 4096 bytes"
	case !utf8.ValidString(s):
		return "not UTF-8"
	case strings.ContainsFunc(s, visible.IsControl):
		return "holds a control character"
	}
	return ""
}

// checkName: a session name, by the rule names are given by (validate).
func checkName(s string) string {
	if !validate.IsName(s) {
		return "not a session name"
	}
	return ""
}

func checkHostName(s string) string {
	if s == "" || len(s) > 253 {
		return "not a host name"
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) > 63 || !labelRE.MatchString(label) {
			return "not a host name"
		}
	}
	return ""
}

func checkAddr(s string) string {
	if net.ParseIP(s) == nil {
		return "not an IP address"
	}
	return ""
}

// CheckSocketPath is the grammar of a unix socket path jt hands to
// ssh -L: ssh expands %, $ and ~ in it and reads ':' as a separator.
func CheckSocketPath(s string) string {
	switch {
	case len(s) > 104:
		return "longer than a unix socket path may be"
	case !sockPathRE.MatchString(s):
		return "not an absolute path of letters, digits and . _ + / -"
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." {
			return "holds .."
		}
	}
	return ""
}

// CheckBaseURL is the grammar of Jupyter's base_url: a plain path that
// keeps every request on jt's own 127.0.0.1:PORT.
func CheckBaseURL(s string) string {
	switch {
	case len(s) > 1024:
		return "longer than 1024 bytes"
	case !baseURLRE.MatchString(s):
		return "not a plain path: one leading /, letters, digits and . _ ~ + -, ending in /"
	}
	for _, part := range strings.Split(s, "/") {
		if part == "." || part == ".." {
			return "holds . or .."
		}
	}
	return ""
}

var text = grammar{text: true}

func g(field string, check func(string) string) grammar { return grammar{field: field, check: check} }

var (
	gName     = g("a session name", checkName)
	gNode     = g("a node name", checkHostName)
	gPath     = g("a path", checkPath)
	gDir      = g("a directory", checkPath)
	gLog      = g("a log path", checkPath)
	gPID      = g("a pid", number(1, maxPID, false))
	gPort     = g("a port", number(1, 65535, true))
	gStarted  = g("a start time", match(digitsRE, "not a number"))
	gBoot     = g("a boot id", match(bootRE, "not a boot id"))
	gRuntime  = g("a runtime file name", match(runtimeRE, "not nbserver-PID.json or jpserver-PID.json"))
	gJob      = g("a job id", match(jobRE, "not a job id"))
	gJobs     = g("job ids", match(jobsRE, "not job ids"))
	gNonce    = g("a nonce", match(nonceRE, "not a nonce"))
	gWord     = g("a word", match(wordRE, "not a word"))
	gTime     = g("a time", match(slurmTimeRE, "not a Slurm time"))
	gAddr     = g("a node address", checkAddr)
	gNodeList = g("a node list", match(nodeListRE, "not a Slurm node list"))
	gClock    = g("a time", CheckClock)
	gResource = g("a resource", match(resourceRE, "not a resource as a scheduler writes it"))
)

func checkAddrOrEmpty(s string) string {
	if s == "" {
		return ""
	}
	return checkAddr(s)
}

// keys lists, per script, every key jt reads and its grammar. A key not
// listed is dropped: nothing can read a value that was not checked.
var keys = map[Kind]map[string]grammar{
	KindSession: {
		"status": g("a status", oneOf("started", "running", "elsewhere")), "fallback": text,
		"name": gName, "boot": gBoot, "node": gNode, "here": gNode, "log": gLog,
		"started": gStarted, "mux": g("a multiplexer", oneOf("screen", "tmux", "none")),
		"dir": gDir, "flavour": g("a flavour", oneOf("", "notebook", "server", "lab", "custom")),
		"state": g("a state", oneOf("running", "dead", "elsewhere")), "pid": gPID, "runtime": gRuntime,
		"exit": g("an exit status", number(0, 255, true)), "idle": g("idle", oneOf("yes")),
		"idle_period": g("an idle period", number(10, 30*24*3600, false)),
		"error":       text, "hint": text, "kernel_warning": text,
		"container": g("a container runtime", oneOf("apptainer", "singularity", "podman", "charliecloud", "docker")),
	},
	KindClose: {
		"name": gName, "state": g("a state", oneOf("kept", "elsewhere", "gone", "stopped")),
		"node": gNode, "here": gNode, "pid": gPID,
	},
	KindAttach: {
		"mux": g("a multiplexer", oneOf("screen", "tmux", "none", "")), "id": g("a window id", match(windowRE, "not a window id")),
		"socket": g("a tmux socket name", match(windowRE, "not a tmux socket name")), "screendir": gPath,
		"job": g("a job state", oneOf("running", "gone")), "node": gNode,
	},
	KindDoctor: {
		"check": gWord, "status": g("a status", oneOf("ok", "warn", "fail")), "msg": text, "fix": text,
	},
	KindHostKeys: hostKeyKeys(),
	// The batch protocol's keys, whichever scheduler's scripts answer.
	KindBatchOpen: {
		"status": g("a status", oneOf("started", "running")), "name": gName, "job": gJob, "nonce": gNonce,
		"node": gNode, "addr": gAddr, "port": gPort, "pid": g("a pid", number(1, maxPID, true)), "runtime": gRuntime,
		"started": gStarted, "left": gTime, "limit": gTime, "dir": gDir, "log": gLog,
		"error": text, "hint": text, "ended": g("ended", oneOf("yes")), "kernel_warning": text,
		"wait": g("a wait", oneOf("mode")),
	},
	KindBatchStatus: {
		"job": gJob, "name": gName, "nonce": gNonce, "state": g("a job state", match(jobStateRE, "not a job state")),
		"reason": text, "nodes": gNodeList, "left": gTime, "limit": gTime, "source": gWord,
		"info_addr": gAddr, "info_port": gPort, "info_pid": g("a pid", number(1, maxPID, true)),
		"info_runtime": gRuntime, "info_started": gStarted, "info_dir": gDir, "error": text,
		"start": gClock, "now": gClock, "idle": g("idle", oneOf("yes")),
		"cpus": gResource, "mem": gResource, "queue": gResource, "gres": gResource,
	},
	// A cancel's state "absent" says the host has no scheduler commands;
	// "noslurm" is Slurm's word for it, which scheduler/slurm reads as
	// "absent".
	KindBatchCancel: {
		"name": gName, "jobs": gJobs, "stuck": gJobs, "scancel": text,
		"state": g("a state", oneOf("noslurm", "absent", "kept", "cancelled", "stuck", "none")),
	},
	KindNotebook: {"exists": g("an answer", oneOf("file", "dir", "no"))},
	// The verdict file is written on the host: held to its grammar here.
	KindActivity: {
		"name": gName, "now": gStarted, "at": gStarted,
		"period": g("an idle period", number(10, 30*24*3600, false)),
		"state":  g("a verdict", oneOf("busy", "idle", "released", "off")),
		"reason": g("a reason", oneOf("computing", "client", "terminal", "unknown", "nopython")),
		"idle":   g("an idle time", number(0, 1<<30, false)),
	},
	KindKernel: {
		"dir": g("a kernel directory", checkKernelDir), "pid": gPID, "job": gJob, "node": gNode,
		"error": text, "hint": text,
	},
	KindPorts: {
		"name": gName, "state": g("a state", oneOf("running", "dead", "noproc")), "pid": gPID,
		"port": g("a port", number(1, 65535, false)), "addr": g("an address", checkAddrOrEmpty),
		"sock": g("a socket path", CheckSocketPath), "cmd": g("a command name", match(commRE, "not a command name")),
	},
}

// Read is the gate: it parses a script's answer from host and checks it,
// value by value, for the script of kind. Free text (errors, hints, log
// lines) comes back with its control characters made visible.
func Read(host string, kind Kind, out []byte) (Reply, error) {
	if len(out) > MaxReply {
		return Reply{}, &AnswerError{Host: host, Field: "an answer", Value: fmt.Sprintf("%d bytes", len(out)), Why: fmt.Sprintf("more than the %d bytes jt reads", MaxReply)}
	}
	r, err := ParseReply(out)
	for i := range r.Blocks {
		if cerr := checkBlock(host, kind, &r.Blocks[i]); cerr != nil {
			return Reply{}, cerr
		}
	}
	return r, err
}

func checkBlock(host string, kind Kind, b *Block) error {
	table := keys[kind]
	for k, v := range b.Values {
		gr, ok := table[k]
		if !ok {
			delete(b.Values, k)
			continue
		}
		if gr.text {
			b.Values[k] = visible.Text(v, 1024)
			continue
		}
		if why := gr.check(v); why != "" {
			return &AnswerError{Host: host, Field: gr.field, Value: v, Why: why}
		}
	}
	if len(b.Log) > 100000 {
		b.Log = b.Log[len(b.Log)-100000:]
	}
	for i, l := range b.Log {
		b.Log[i] = visible.Text(l, 4096)
	}
	if b.Server != nil {
		if err := b.Server.check(host); err != nil {
			return err
		}
	}
	return nil
}

// check holds Jupyter's runtime file to the grammars above.
func (s *ServerInfo) check(host string) error {
	bad := func(field, value, why string) error {
		return &AnswerError{Host: host, Field: field, Value: value, Why: why + " (in Jupyter's runtime file)"}
	}
	if s.PID < 1 || s.PID > maxPID {
		return bad("a pid", strconv.Itoa(s.PID), fmt.Sprintf("not a number from 1 to %d", maxPID))
	}
	lo := 1
	if s.Sock != "" {
		lo = 0 // a server on a unix socket has no port
		if why := CheckSocketPath(s.Sock); why != "" {
			return bad("a socket path", s.Sock, why)
		}
	}
	if s.Port < lo || s.Port > 65535 {
		return bad("a port", strconv.Itoa(s.Port), fmt.Sprintf("not a number from %d to 65535", lo))
	}
	if s.BaseURL == "" {
		s.BaseURL = "/"
	}
	if why := CheckBaseURL(s.BaseURL); why != "" {
		return bad("a base_url", s.BaseURL, why)
	}
	if s.Token != "" || !s.Password {
		if !tokenRE.MatchString(s.Token) {
			return bad("a token", s.Token, "not 1-256 letters, digits, _ or -")
		}
	}
	for _, dir := range []string{s.RootDir, s.NotebookDir} {
		if why := checkPath(dir); why != "" {
			return bad("a directory", dir, why)
		}
	}
	// Used by nothing: dropped.
	s.URL, s.Hostname = "", ""
	// Shown by jt ls: a plain version or nothing.
	if !CheckVersion(s.Version) {
		s.Version = ""
	}
	return nil
}

// CheckVersion reports whether a server's version (from its runtime file,
// or its /api answer) is plain enough to show: 6.4.12, 2.15.0, 4.0.0rc1.
func CheckVersion(s string) bool { return versionRE.MatchString(s) }
