package templates

import "strconv"

// The answers, one type a kind of script: what jt reads of a block the
// gate has checked (Read, with the grammars of keys), as fields. Nothing
// outside this package reads a block's values by key, so that a key is
// named twice only here: in keys and in its reader below. A key the script
// did not send reads as the field's zero value.

func (b Block) int(key string) int {
	n, _ := strconv.Atoi(b.Values[key])
	return n
}

func (b Block) int64(key string) int64 {
	n, _ := strconv.ParseInt(b.Values[key], 10, 64)
	return n
}

// Failure is an error block's words (any kind): what failed and a hint.
type Failure struct{ Error, Hint string }

// Failure reads an error block.
func (b Block) Failure() Failure { return Failure{Error: b.Values["error"], Hint: b.Values["hint"]} }

// SessionAnswer is a block of the session scripts (KindSession: open,
// list, status): one session and, with b.Server, its Jupyter.
type SessionAnswer struct {
	Status                          string // what open did: "started" or "running"; "elsewhere": nothing, Node runs it
	Fallback                        string // why a private socket was not used
	Name                            string
	State                           string // running, dead or elsewhere (its node is another machine)
	Node                            string // the machine the session runs on
	Here                            string // the machine this login reached
	Boot                            string // that machine's boot id
	Mux, Dir, Log, Flavour, Runtime string
	Started                         int64  // unix seconds
	IdlePeriod                      int    // seconds; 0: no idle release
	Idle                            bool   // jt's idle watcher released the server
	Container                       string // the container runtime Jupyter runs under; "" for none
}

// Session reads a KindSession block.
func (b Block) Session() SessionAnswer {
	v := b.Values
	return SessionAnswer{
		Status: v["status"], Fallback: v["fallback"], Name: v["name"], State: v["state"],
		Node: v["node"], Here: v["here"], Boot: v["boot"],
		Mux: v["mux"], Dir: v["dir"], Log: v["log"], Flavour: v["flavour"], Runtime: v["runtime"],
		Started: b.int64("started"), IdlePeriod: b.int("idle_period"), Idle: v["idle"] == "yes",
		Container: v["container"],
	}
}

// CloseAnswer is close.sh's answer (KindClose).
type CloseAnswer struct {
	Name  string
	State string // kept, elsewhere, gone or stopped
	Node  string // with elsewhere: where the session runs
	Here  string // and where this login reached
	PID   int    // with stopped: the server stopped
}

// Close reads a KindClose block.
func (b Block) Close() CloseAnswer {
	v := b.Values
	return CloseAnswer{Name: v["name"], State: v["state"], Node: v["node"], Here: v["here"], PID: b.int("pid")}
}

// AttachJob is what attach_job.sh says of a job's Jupyter (KindAttach):
// "running" or "gone". Its console is ConsoleOf.
func (b Block) AttachJob() string { return b.Values["job"] }

// DoctorAnswer is one check of a doctor script (KindDoctor).
type DoctorAnswer struct {
	Check  string
	Status string // ok, warn or fail
	Msg    string
	Fix    string
}

// Doctor reads a KindDoctor block.
func (b Block) Doctor() DoctorAnswer {
	v := b.Values
	return DoctorAnswer{Check: v["check"], Status: v["status"], Msg: v["msg"], Fix: v["fix"]}
}

// HostKeysNode is the node a KindHostKeys answer is about (its keys are
// HostKeysOf).
func (b Block) HostKeysNode() string { return b.Values["node"] }

// NotebookExists is notebook.sh's word for the path (KindNotebook):
// "file", "dir" or "no".
func (b Block) NotebookExists() string { return b.Values["exists"] }

// PortsAnswer is a block of ports.sh (KindPorts): the first says whether
// the session runs (Name, State); each one after it is a listener.
type PortsAnswer struct {
	Name  string
	State string // running, dead or noproc
	PID   int
	Port  int
	Addr  string
	Sock  string
	Cmd   string
}

// Ports reads a KindPorts block.
func (b Block) Ports() PortsAnswer {
	v := b.Values
	return PortsAnswer{Name: v["name"], State: v["state"], PID: b.int("pid"), Port: b.int("port"),
		Addr: v["addr"], Sock: v["sock"], Cmd: v["cmd"]}
}

// BatchOpenAnswer is a batch open script's answer (KindBatchOpen), any
// scheduler's: the job, its node and, once Jupyter runs, where it listens.
type BatchOpenAnswer struct {
	Status  string // started or running
	Name    string
	Job     string
	Nonce   string
	Node    string
	Addr    string // the node's address
	Port    int
	Runtime string // Jupyter's runtime file's name
	Started int64
	Left    string // the time the job has left, in the scheduler's words
	Limit   string
	Dir     string
	Log     string
	Ended   bool // with an error: the job has ended
	Waits   bool // the job runs and waits for jt's word on how to listen (wait=mode)
}

// BatchOpen reads a KindBatchOpen block.
func (b Block) BatchOpen() BatchOpenAnswer {
	v := b.Values
	return BatchOpenAnswer{
		Status: v["status"], Name: v["name"], Job: v["job"], Nonce: v["nonce"], Node: v["node"], Addr: v["addr"],
		Port: b.int("port"), Runtime: v["runtime"], Started: b.int64("started"), Left: v["left"], Limit: v["limit"],
		Dir: v["dir"], Log: v["log"], Ended: v["ended"] == "yes", Waits: v["wait"] == "mode",
	}
}

// BatchStatusAnswer is a block of a scheduler's status script
// (KindBatchStatus). Which fields a block has is the scheduler's protocol:
// a job's state from the queue or its accounting, or jt's files of a job
// (its nonce and, where its Jupyter runs, the Info fields).
type BatchStatusAnswer struct {
	Source      string // what the block holds, where the scheduler's script says
	Job         string
	Name        string
	Nonce       string
	State       string
	Reason      string
	Nodes       string // where it runs, in the scheduler's words
	Left, Limit string // its time, in the scheduler's words
	Start, Now  string // a queued job's start estimate and the clock, on the host's clock (CheckClock)
	Idle        bool   // jt's idle watcher released the job's server
	InfoAddr    string
	InfoPort    int
	InfoDir     string
	InfoStarted int64
	// What the job got, in the scheduler's words: CPUs, memory, its
	// partition or queue, generic resources (GPUs).
	CPUs, Mem, Queue, Gres string
}

// BatchStatus reads a KindBatchStatus block.
func (b Block) BatchStatus() BatchStatusAnswer {
	v := b.Values
	return BatchStatusAnswer{
		Source: v["source"], Job: v["job"], Name: v["name"], Nonce: v["nonce"], State: v["state"], Reason: v["reason"],
		Nodes: v["nodes"], Left: v["left"], Limit: v["limit"], Start: v["start"], Now: v["now"], Idle: v["idle"] == "yes", InfoAddr: v["info_addr"], InfoPort: b.int("info_port"), InfoDir: v["info_dir"],
		InfoStarted: b.int64("info_started"), CPUs: v["cpus"], Mem: v["mem"], Queue: v["queue"], Gres: v["gres"],
	}
}

// BatchCancelAnswer is a scheduler's cancel script's answer
// (KindBatchCancel).
type BatchCancelAnswer struct {
	State string // noslurm, absent, kept, cancelled, stuck or none
	Jobs  string // the jobs cancelled, space-separated ids
	Stuck string // those that would not go
}

// BatchCancel reads a KindBatchCancel block.
func (b Block) BatchCancel() BatchCancelAnswer {
	v := b.Values
	return BatchCancelAnswer{State: v["state"], Jobs: v["jobs"], Stuck: v["stuck"]}
}
