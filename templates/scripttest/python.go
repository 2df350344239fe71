package scripttest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jt-sh/jt/templates"
)

// EnvJupyter is a jupyter that records the JUPYTER_PATH it was started
// with, then writes its runtime file and serves until killed.
const EnvJupyter = `#!/bin/sh
printf '%s\n' "${JUPYTER_PATH-unset}" >"$JUPYTER_RUNTIME_DIR/jupyter_path"
printf '{"pid": %d, "port": 1, "token": "t0k", "base_url": "/"}\n' $$ >"$JUPYTER_RUNTIME_DIR/nbserver-$$.json"
trap 'rm -f "$JUPYTER_RUNTIME_DIR/nbserver-$$.json"; exit 0' TERM
while :; do sleep 0.1; done
`

// FakePython writes an env's python at path: the real python3 without its
// site directories (so never the system's ipykernel), with a stub
// ipykernel package importable when withKernel is set.
func FakePython(t testing.TB, path string, withKernel bool) {
	t.Helper()
	real, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 is needed to run the kernelspec writer: %v", err)
	}
	body := "#!/bin/sh\nexec " + templates.Quote(real) + ` -S "$@"` + "\n"
	if withKernel {
		stub := filepath.Join(filepath.Dir(path), "stub")
		if err := os.MkdirAll(filepath.Join(stub, "ipykernel"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(stub, "ipykernel", "__init__.py"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		body = "#!/bin/sh\nPYTHONPATH=" + templates.Quote(stub) + " exec " + templates.Quote(real) + ` -S "$@"` + "\n"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// MakeVenv lays out a venv at home/dir: an activate script that puts its
// bin first on PATH, and its python.
func MakeVenv(t testing.TB, home, dir string, withKernel bool) string {
	t.Helper()
	venv := filepath.Join(home, dir)
	WriteFiles(t, venv, map[string]string{
		"bin/activate": "VIRTUAL_ENV=" + templates.Quote(venv) + "; export VIRTUAL_ENV; PATH=\"$VIRTUAL_ENV/bin:$PATH\"; export PATH\n",
	})
	FakePython(t, filepath.Join(venv, "bin", "python"), withKernel)
	return venv
}

// KernelSpec is the kernelspec python3 that open.sh (or a batch job) wrote
// for session dir sess, or nil.
func KernelSpec(t testing.TB, sess string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sess, "jupyter", "kernels", "python3", "kernel.json"))
	if err != nil {
		return nil
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("kernel.json is not JSON: %v\n%s", err, data)
	}
	return spec
}

// ArgvOf is a kernelspec's argv.
func ArgvOf(spec map[string]any) []string {
	var argv []string
	list, _ := spec["argv"].([]any)
	for _, a := range list {
		s, _ := a.(string)
		argv = append(argv, s)
	}
	return argv
}
