package shape

import (
	"go/ast"
	"go/token"
	"strings"
)

// initWork finds the package-level variables whose value compiles a
// regular expression: work every jt command would pay for at start, jt
// --help too, whether it uses the expression or not. A function literal
// (sync.OnceValue's) compiles it on first use instead.
func initWork(fset *token.FileSet, af *ast.File) []Place {
	var out []Place
	for _, d := range af.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		ast.Inspect(gd, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncLit:
				return false
			case *ast.CallExpr:
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "regexp" && strings.HasPrefix(sel.Sel.Name, "MustCompile") {
						out = append(out, Place{fset.Position(x.Pos()).Line, "compiles a regular expression at init (regexp." + sel.Sel.Name + " in a package-level variable)"})
					}
				}
			}
			return true
		})
	}
	return out
}

// initOffences are the package-level regular expressions compiled at
// init, anywhere but the tools: compile them on first use.
func (s *Shape) initOffences() []Offence {
	return s.onlyIn("scripts", func(f File) []Place { return f.AtInit }, ": compile it on first use (sync.OnceValue)")
}
