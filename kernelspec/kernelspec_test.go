package kernelspec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for host, want := range map[string]string{
		"gpu1": "jt-gpu1", "alice@Login.example.org": "jt-alice-login.example.org", "h:2222": "jt-h-2222",
		"[::1]": "jt-1", "jt-x": "jt-x",
	} {
		if got, err := NameFor(host); err != nil || got != want {
			t.Errorf("NameFor(%q) = %q, %v; want %q", host, got, err, want)
		}
	}
	for _, bad := range []string{"", "jt-", "A", "-x", "a/b", "../x", "a b", "$(x)", "x\n", strings.Repeat("a", 64)} {
		if _, err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) passed", bad)
		}
	}
	if n, err := CheckName("jt-gpu1"); err != nil || n != "jt-gpu1" {
		t.Errorf("CheckName(jt-gpu1) = %q, %v", n, err)
	}
}

func TestDataDir(t *testing.T) {
	t.Setenv("JUPYTER_DATA_DIR", "/x/y")
	if d, _ := DataDir(); d != "/x/y" {
		t.Errorf("DataDir with JUPYTER_DATA_DIR = %q", d)
	}
}

func TestInstallListRemove(t *testing.T) {
	data := t.TempDir()
	spec := New("/usr/local/bin/jt", []string{"kernel", "run", "-f", "{connection_file}", "--", "gpu1"}, "Python on gpu1 (jt)", Origin{Host: "gpu1"})
	if _, err := Install(data, "jt-gpu1", spec); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(data, "kernels", "jt-gpu1", "kernel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || raw["interrupt_mode"] != "message" {
		t.Fatalf("kernel.json %s: %v", b, err)
	}
	// Another's kernelspec with a jt- name: listed as nothing, never removed or replaced.
	other := filepath.Join(data, "kernels", "jt-theirs")
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(other, "kernel.json"), []byte(`{"argv": ["python3"], "display_name": "theirs"}`), 0o644)
	all, err := List(data)
	if err != nil || len(all) != 1 || all[0].Name != "jt-gpu1" || all[0].Spec.Metadata.JT.Host != "gpu1" {
		t.Fatalf("List = %+v, %v", all, err)
	}
	if err := Remove(data, "jt-theirs"); err == nil {
		t.Error("Remove removed a kernelspec jt did not write")
	}
	if _, err := Install(data, "jt-theirs", spec); err == nil {
		t.Error("Install replaced a kernelspec jt did not write")
	}
	if err := Remove(data, "jt-gpu1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "kernels", "jt-gpu1")); !os.IsNotExist(err) {
		t.Errorf("jt-gpu1 still there after Remove: %v", err)
	}
	if err := Remove(data, "jt-gpu1"); err == nil {
		t.Error("Remove of a missing kernelspec passed")
	}
}

const goodConn = `{"shell_port": 5001, "iopub_port": 5002, "stdin_port": 5003, "control_port": 5004, "hb_port": 5005,
 "ip": "127.0.0.1", "key": "a0b1c2d3-e4f5-4677-8899-aabbccddeeff", "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "jt-x"}`

func TestParseConnection(t *testing.T) {
	c, why := parseConnection([]byte(goodConn))
	if why != "" || c.Ports() != [5]int{5001, 5002, 5003, 5004, 5005} || c.Key != "a0b1c2d3-e4f5-4677-8899-aabbccddeeff" {
		t.Fatalf("good file: %+v, %q", c, why)
	}
	key := "a0b1c2d3-e4f5-4677-8899-aabbccddeeff"
	for name, bad := range map[string]string{
		"transport ipc": strings.Replace(goodConn, `"tcp"`, `"ipc"`, 1),
		"lan ip":        strings.Replace(goodConn, `"127.0.0.1"`, `"0.0.0.0"`, 1),
		"no scheme":     strings.Replace(goodConn, `"hmac-sha256"`, `"hmac-md5"`, 1),
		"empty key":     strings.Replace(goodConn, key, "", 1),
		"quote key":     strings.Replace(goodConn, key, `a'$(touch x)`, 1),
		"newline key":   strings.Replace(goodConn, key, `a\nb`, 1),
		"long key":      strings.Replace(goodConn, key, strings.Repeat("a", 300), 1),
		"port 0":        strings.Replace(goodConn, "5005", "0", 1),
		"port big":      strings.Replace(goodConn, "5005", "65536", 1),
		"port twice":    strings.Replace(goodConn, "5005", "5001", 1),
		"port missing":  strings.Replace(goodConn, `"hb_port": 5005,`, "", 1),
		"port string":   strings.Replace(goodConn, "5005", `"5005"`, 1),
		"not json":      "-oProxyCommand=x",
		"huge":          `{"x": "` + strings.Repeat("a", 70000) + `"}`,
	} {
		_, why := parseConnection([]byte(bad))
		if why == "" {
			t.Errorf("%s: accepted", name)
		}
		if strings.Contains(why, key) {
			t.Errorf("%s: the reason holds the key: %s", name, why)
		}
	}
}
