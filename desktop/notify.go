package desktop

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// notifyCommandFor picks how to show a desktop notification on this kind
// of machine, or nil where there is none (no desktop session, no tool):
// notify-send on a Linux (or BSD) desktop, osascript on macOS, a toast
// through PowerShell on Windows. The title and body are jt's own words
// (host, session, job id, times): never a token.
func notifyCommandFor(goos string, getenv func(string) string, lookPath func(string) (string, error), title, body string) []string {
	has := func(tool string) bool { _, err := lookPath(tool); return err == nil }
	switch goos {
	case "darwin":
		if !has("osascript") {
			return nil
		}
		return []string{"osascript", "-e", "display notification " + appleString(body) + " with title " + appleString(title)}
	case "windows":
		if !has("powershell") {
			return nil
		}
		return []string{"powershell", "-NoProfile", "-NonInteractive", "-Command", toastScript(title, body)}
	default:
		desktop := getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
		if !desktop || getenv("DBUS_SESSION_BUS_ADDRESS") == "" && getenv("XDG_RUNTIME_DIR") == "" || !has("notify-send") {
			return nil
		}
		return []string{"notify-send", "--app-name=jt", "--", title, body}
	}
}

// appleString is s as an AppleScript string literal.
func appleString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ")
	return `"` + r.Replace(s) + `"`
}

// psString is s as a PowerShell single-quoted string literal.
func psString(s string) string {
	r := strings.NewReplacer("'", "''", "\u2018", "''", "\u2019", "''", "\n", " ", "\r", " ")
	return "'" + r.Replace(s) + "'"
}

// toastScript shows a toast with Windows' own notification API.
func toastScript(title, body string) string {
	return `$m = [Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]; ` +
		`$x = $m::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02); ` +
		`$t = $x.GetElementsByTagName('text'); ` +
		`[void]$t.Item(0).AppendChild($x.CreateTextNode(` + psString(title) + `)); ` +
		`[void]$t.Item(1).AppendChild($x.CreateTextNode(` + psString(body) + `)); ` +
		`$m::CreateToastNotifier('jt').Show([Windows.UI.Notifications.ToastNotification]::new($x))`
}

// Notify shows a desktop notification where this machine has a way to;
// elsewhere, and when the tool fails, nothing happens: the keeper's line
// on its terminal or log says it all the same.
func Notify(title, body string) {
	argv := notifyCommandFor(runtime.GOOS, os.Getenv, exec.LookPath, title, body)
	if argv == nil {
		return
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if cmd.Start() == nil {
		go cmd.Wait()
	}
}
