package sshexec

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// IsControl reports whether r moves or changes a terminal: C0, DEL, C1.
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

// Visible makes remote text safe to show on a terminal: control characters
// other than tab (escape sequences, carriage returns, newlines) and bytes
// that are not UTF-8 become \x1b-style escapes, so the text cannot move the
// cursor, retitle the window or start a line of its own. At most max bytes
// of s are kept.
func Visible(s string, max int) string {
	cut := false
	if len(s) > max {
		s, cut = s[:max], true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if cut && !utf8.FullRuneInString(s[i:]) {
			break // a rune cut by max
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		WriteVisibleRune(&b, s[i:i+n], r)
		i += n
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// WriteVisibleRune writes r (raw, its bytes in the text) as Visible shows it.
func WriteVisibleRune(b *strings.Builder, raw string, r rune) {
	switch {
	case r == utf8.RuneError && len(raw) == 1:
		fmt.Fprintf(b, `\x%02x`, raw[0])
	case r == '\t':
		b.WriteByte('\t')
	case r < 0x80 && IsControl(r):
		fmt.Fprintf(b, `\x%02x`, r)
	case IsControl(r):
		fmt.Fprintf(b, `\u%04x`, r)
	default:
		b.WriteString(raw)
	}
}
