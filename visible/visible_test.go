package visible_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jt-sh/jt/visible"
)

// Bidirectional controls reorder what a terminal shows ("\u202egnp.exe"
// reads as "exe.png"): they are made visible like control characters,
// by Visible and by the writer of streamed text, and the text around
// them is kept.
func TestVisibleShowsBidiControls(t *testing.T) {
	for _, r := range []rune{0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069} {
		in := "report" + string(r) + "fdp.exe é"
		want := `report\u` + string("0123456789abcdef"[r>>12&15]) + string("0123456789abcdef"[r>>8&15]) + string("0123456789abcdef"[r>>4&15]) + string("0123456789abcdef"[r&15]) + "fdp.exe é"
		if got := visible.Text(in, 100); got != want {
			t.Errorf("Visible(%+q) = %q, want %q", in, got, want)
		}
		var b bytes.Buffer
		w := &visible.Writer{W: &b}
		w.Write([]byte(in + "\n"))
		if got := b.String(); got != want+"\n" {
			t.Errorf("VisibleWriter(%+q) wrote %q, want %q", in, got, want+"\n")
		}
	}
	// Neighbours that are not controls stay as they are.
	if got := visible.Text("\u2029\u2065\u206a\u2029", 100); got != "\u2029\u2065\u206a\u2029" {
		t.Errorf("Visible changed non-controls: %+q", got)
	}
}

func TestQuoteIsOneShortLine(t *testing.T) {
	for _, s := range []string{"a\nb", strings.Repeat("\n", 10000), "\x00\x7f\x1b[2J", "é\xff"} {
		p := visible.Quote(s)
		if strings.ContainsAny(p, "\n\r\x00\x1b\x7f") {
			t.Errorf("Quote(%q) = %q: raw control characters", s, p)
		}
		if len(p) > 64*6+8 {
			t.Errorf("Quote of %d bytes is %d bytes long", len(s), len(p))
		}
	}
}
