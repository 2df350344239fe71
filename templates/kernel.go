package templates

import (
	"fmt"

	"github.com/jt-sh/jt/kernelspec"
)

// Kernel is the input of kernel.sh: start ipykernel for jt kernel run with
// the local client's key, in a new directory named by Nonce.
type Kernel struct {
	Nonce     string
	Key       string // the client's HMAC key: it reaches the host on stdin only
	Scheme    string // hmac-sha256
	Timeout   int    // seconds to wait for the kernel (or its job) to start
	Env       Env
	Scheduler string   // "" or "slurm"
	Args      []string // the scheduler's submit options
}

// KernelExit is the line kernel.sh prints when the kernel has ended and
// its directory is gone.
const KernelExit = "@@JT-KERNEL-EXIT@@"

func (k Kernel) check() error {
	if !nonceRE.MatchString(k.Nonce) || k.Nonce == "" {
		return fmt.Errorf("nonce %q is not one jt makes", k.Nonce)
	}
	if !kernelspec.ValidKey(k.Key) || k.Scheme != "hmac-sha256" {
		return fmt.Errorf("a kernel key or signature scheme jt does not carry")
	}
	if k.Scheduler != "" && k.Scheduler != "slurm" {
		return fmt.Errorf("jt kernel runs kernels on Slurm, not on %q", k.Scheduler)
	}
	return nil
}

// KernelAnswer is kernel.sh's answer (KindKernel): where the kernel's
// sockets are, and what runs it.
type KernelAnswer struct {
	Dir  string // the 0700 directory; the sockets are Dir/k-1 … Dir/k-5
	PID  int    // the kernel's pid on a plain host
	Job  string // its job on a batch host
	Node string // the machine it runs on
}

// Kernel reads a KindKernel block.
func (b Block) Kernel() KernelAnswer {
	v := b.Values
	return KernelAnswer{Dir: v["dir"], PID: b.int("pid"), Job: v["job"], Node: v["node"]}
}

// KernelSocket is the path of channel n (1 to 5) of a kernel in dir.
func KernelSocket(dir string, n int) string { return fmt.Sprintf("%s/k-%d", dir, n) }

// checkKernelDir: every socket path under it must be one jt hands to ssh.
func checkKernelDir(s string) string {
	if why := CheckSocketPath(KernelSocket(s, 5)); why != "" {
		return why
	}
	return ""
}
