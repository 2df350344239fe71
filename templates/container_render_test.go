package templates_test

import (
	"testing"

	"github.com/jt-sh/jt/templates"
	"github.com/jt-sh/jt/templates/scripttest"
)

// A hostile image, runtime and runtime options reach open.sh and
// doctor.sh only quoted: each script parses (dash too), ct_image holds the
// value byte for byte, and no canary is outside quotes.
func TestRenderContainerHostile(t *testing.T) {
	h := scripttest.Hostile
	for i, v := range h {
		c := templates.Container{Image: v, Runtime: h[(i+3)%len(h)], Args: []string{h[(i+5)%len(h)], v}, GPU: true}
		o := benignOpen
		o.Env.Container = c
		for _, script := range []string{render(t, o), render(t, templates.Doctor{Name: "n", Mux: "auto", Flavour: "lab", Env: templates.Env{Container: c}})} {
			f := parse(t, script)
			w, n := topAssign(f, "ct_image")
			if n != 1 {
				t.Fatalf("%d top-level assignments to ct_image", n)
			}
			if got := literal(t, w); got != v {
				t.Errorf("ct_image holds %.60q, want %.60q", got, v)
			}
			noCanaryOutsideQuotes(t, f)
			shN(t, script)
		}
	}
}
