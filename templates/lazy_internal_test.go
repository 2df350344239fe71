package templates

import "testing"

// Every grammar's expression compiles: a lazy one would otherwise panic
// only when a script's answer first needs it.
func TestLazyExpressionsCompile(t *testing.T) {
	if len(lazies) < 20 {
		t.Fatalf("%d lazy expressions; the package has more", len(lazies))
	}
	for _, l := range lazies {
		l.re()
	}
}
