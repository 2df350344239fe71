package templates

import "strconv"

// IdleOptions are Jupyter's own settings that make it cull kernels idle
// for seconds and then, with no kernel or terminal left and no request
// for seconds, shut itself down. Both notebook 6 (NotebookApp) and
// jupyter_server (ServerApp) settings are given: each ignores the other's
// class, so the same words serve every flavour and a user's --cmd.
func IdleOptions(seconds int) []string {
	if seconds <= 0 {
		return nil
	}
	n := strconv.Itoa(seconds)
	// Kernels are looked at a few times per idle period (at most once a
	// minute, at least every 10s); the server itself checks once a minute.
	interval := strconv.Itoa(min(max(seconds/4, 10), 60))
	return []string{
		"--NotebookApp.shutdown_no_activity_timeout=" + n,
		"--ServerApp.shutdown_no_activity_timeout=" + n,
		"--MappingKernelManager.cull_idle_timeout=" + n,
		"--MappingKernelManager.cull_interval=" + interval,
		// An open browser tab does not make a kernel busy.
		"--MappingKernelManager.cull_connected=True",
	}
}
