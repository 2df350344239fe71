// Package visible makes text from untrusted places (remote hosts, user
// input) safe to show on a terminal and in one-line error messages. It
// sits below every other package of jt.
package visible

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// IsControl reports whether r moves or changes a terminal (C0, DEL, C1),
// or the order text is shown in: the bidirectional embeddings, overrides
// and isolates (U+202A–U+202E, U+2066–U+2069), which make "txt.exe" of
// "exe.txt" or hide a part of a line.
func IsControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// Text makes remote text safe to show on a terminal: control characters
// other than tab (escape sequences, carriage returns, newlines) and bytes
// that are not UTF-8 become \x1b-style escapes, so the text cannot move the
// cursor, retitle the window or start a line of its own. At most max bytes
// of s are kept.
func Text(s string, max int) string {
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
		WriteRune(&b, s[i:i+n], r)
		i += n
	}
	if cut {
		b.WriteString("…")
	}
	return b.String()
}

// WriteRune writes r (raw, its bytes in the text) as Text shows it.
func WriteRune(b *strings.Builder, raw string, r rune) {
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

// Writer passes text on as Text shows it, newlines kept: what a
// host sends for jt logs, and the remote's stderr in Stream mode. Flush
// writes what is left of a cut rune.
type Writer struct {
	W    io.Writer
	rest []byte
}

func (v *Writer) Write(p []byte) (int, error) {
	buf := append(v.rest, p...)
	var b strings.Builder
	b.Grow(len(buf))
	i := 0
	for i < len(buf) {
		if c := buf[i]; c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			b.WriteByte(c) // plain text, the bulk of it, as it is
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) {
			break
		}
		r, n := utf8.DecodeRune(buf[i:])
		WriteRune(&b, string(buf[i:i+n]), r)
		i += n
	}
	v.rest = append([]byte(nil), buf[i:]...)
	if _, err := io.WriteString(v.W, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes the bytes of an incomplete rune at the end, escaped.
func (v *Writer) Flush() error {
	var b strings.Builder
	for _, c := range v.rest {
		fmt.Fprintf(&b, `\x%02x`, c)
	}
	v.rest = nil
	_, err := io.WriteString(v.W, b.String())
	return err
}

// Quote quotes and shortens a hostile value so that an error message
// stays one readable line.
func Quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
