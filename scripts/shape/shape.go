// Package shape measures the shape of jt's source: how long its files and
// functions are, and which of its packages import which. Check returns
// every place that breaks one of the limits below; `go test ./scripts/shape`
// runs it over the repository and fails naming each one.
//
// It reads the source with go/parser only (no go list, no build), so it is
// fast and sees every file whatever its build tags.
//
// What it measures:
//
//   - product files: the .go files of the module that are not _test.go, not
//     under a testdata/ directory and not generated ("Code generated … DO
//     NOT EDIT."); scripts/, e2e/ and templates/scripttest/ (the scripts'
//     test helpers) are tools (Tools), measured for size too;
//   - a file's lines as wc -l counts them, a function's from its func line
//     to its closing brace, inclusive (function literals count in the
//     function they are written in);
//   - imports: a product package may import only product packages on a
//     strictly lower layer of Layers (and any standard or third-party
//     package); tools may import anything of the product, and no product
//     package may import a tool;
//   - only commands/ imports the CLI library (CLIModule);
//   - only sshexec/ runs ssh: no other product package names the
//     ExecRunner type, or reads or sets $JT_SSH (a string literal "JT_SSH"
//     or one starting "JT_SSH="; prose that mentions it, as in a hint,
//     is not counted);
//   - only templates/ reads a remote answer's values by key (the selector
//     .Values, a templates.Block's): every other package reads the typed
//     answers of templates/answers.go.
package shape

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The limits.
const (
	MaxFileLines     = 500  // lines of one product file
	MaxFuncLines     = 80   // lines of one product function
	MaxCommandsLines = 3200 // lines of all product files under commands/
)

// CLIModule is the command-line library, which only commands/ may import.
const CLIModule = "github.com/urfave/cli/v2"

// Exemption is a function allowed to be longer than MaxFuncLines.
type Exemption struct {
	File, Func string // the file, relative to the root, and the function
	Why        string
}

// Exempt are the functions allowed over MaxFuncLines. Each is data written
// as code, which splitting would only make harder to read.
var Exempt = []Exemption{
	{"commands/completion.go", "bashCompletion", "the bash completion script, kept as data"},
	{"commands/completion.go", "zshCompletion", "the zsh completion script, kept as data"},
	{"commands/completion.go", "fishCompletion", "the fish completion script, kept as data"},
}

// Layers are the product packages, lowest first, by directory relative to
// the module root ("." is the root package, "dir/*" any package below dir).
// A package may import only packages of a lower layer. A package that does
// not exist yet has no files and so nothing to check.
var Layers = [][]string{
	{"visible"}, // text from untrusted places made safe to show; below everything
	{"sshexec", "state", "manpage", "kernelspec"}, // manpage: roff from plain values; kernelspec: the local Jupyter kernelspecs and connection files
	// validate sits below config: the config file checks its values
	// through it.
	{"validate"},
	{"config", "templates", "desktop"}, // desktop: the browser and notifications
	{"scheduler"},                      // the scheduler interface and its registry
	{"scheduler/*"},                    // one package per scheduler, e.g. scheduler/slurm
	{"session"},                        // the engine
	{"commands"},
	{"."}, // main
}

// Tools are directories of packages that may import anything of the
// product but that no product package may import. templates/scripttest
// helps the tests of the remote scripts: tests only.
var Tools = []string{"scripts", "e2e", "templates/scripttest"}

// File is one measured .go file.
type File struct {
	Path    string // relative to the root, with forward slashes
	Dir     string // the package's directory, relative to the root ("." for the root)
	Lines   int
	Product bool // not a test and not generated (testdata is never read)
	// Of a product file only:
	Funcs   []Func
	Imports []Import
	RunsSSH []Place // where it names ExecRunner or $JT_SSH
	Values  []Place // where it selects .Values (a remote answer's values by key)
	AtInit  []Place // where a package-level variable compiles a regular expression
}

// Func is one function or method.
type Func struct {
	Name  string // "Name" or "Type.Name"
	Line  int    // of its func keyword
	Lines int
}

// Import is one import of a file.
type Import struct {
	Path string
	Line int
}

// Place is a line of a file, and what is there.
type Place struct {
	Line int
	What string
}

// Shape is the measured source of a module.
type Shape struct {
	Root   string // the module's directory
	Module string // the module path, from go.mod
	Files  []File // sorted by Path
}

// Offence is one broken limit.
type Offence struct {
	Where string // file:line, a file, or a directory
	What  string
}

func (o Offence) String() string { return o.Where + ": " + o.What }

// FindRoot returns the directory of the module dir is in: the nearest
// directory, dir or above, holding a go.mod.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in this directory or above")
		}
		dir = parent
	}
}

// Check measures the module at root and returns what breaks the limits.
func Check(root string) ([]Offence, error) {
	s, err := Measure(root)
	if err != nil {
		return nil, err
	}
	return s.Offences(), nil
}

// Measure reads every .go file of the module at root, skipping hidden and
// testdata directories, vendor/ and nested modules.
func Measure(root string) (*Shape, error) {
	module, err := modulePath(root)
	if err != nil {
		return nil, err
	}
	s := &Shape{Root: root, Module: module}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return skipDir(root, p, d.Name())
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := measureFile(root, p)
		if err != nil {
			return err
		}
		s.Files = append(s.Files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(s.Files, func(i, j int) bool { return s.Files[i].Path < s.Files[j].Path })
	return s, nil
}

// skipDir says whether the walk goes into a directory: not into testdata,
// vendor, hidden or _-prefixed ones, nor into another module.
func skipDir(root, p, name string) error {
	if p == root {
		return nil
	}
	if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return filepath.SkipDir
	}
	if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
		return filepath.SkipDir
	}
	return nil
}

// modulePath reads the module line of root/go.mod.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			if m := strings.Trim(strings.TrimSpace(rest), `"`); m != "" {
				return m, nil
			}
		}
	}
	return "", fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
}

// measureFile reads one file: its lines, and for a product file its
// functions, imports and the places it runs ssh from. The imports come
// from an ImportsOnly parse; only product files are parsed in full.
func measureFile(root, p string) (File, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return File{}, err
	}
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return File{}, err
	}
	rel = filepath.ToSlash(rel)
	f := File{Path: rel, Dir: path.Dir(rel), Lines: countLines(data)}
	fset := token.NewFileSet()
	head, err := parser.ParseFile(fset, p, data, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return File{}, err
	}
	f.Product = !strings.HasSuffix(rel, "_test.go") && !ast.IsGenerated(head)
	if !f.Product {
		return f, nil
	}
	f.Imports = imports(fset, head)
	af, err := parser.ParseFile(fset, p, data, parser.SkipObjectResolution)
	if err != nil {
		return File{}, err
	}
	f.RunsSSH = runsSSH(fset, af)
	f.Values = valueReads(fset, af)
	f.AtInit = initWork(fset, af)
	for _, d := range af.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			start, end := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
			f.Funcs = append(f.Funcs, Func{Name: funcName(fd), Line: start, Lines: end - start + 1})
		}
	}
	return f, nil
}

// countLines counts lines as wc -l does, plus an unterminated last one.
func countLines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// funcName is a function's name, with its receiver's type for a method.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}

// imports lists a parsed file's imports.
func imports(fset *token.FileSet, af *ast.File) []Import {
	var out []Import
	for _, is := range af.Imports {
		p, err := strconv.Unquote(is.Path.Value)
		if err != nil {
			continue
		}
		out = append(out, Import{Path: p, Line: fset.Position(is.Pos()).Line})
	}
	return out
}

// valueReads finds where a file selects .Values: a remote answer's values
// read by key.
func valueReads(fset *token.FileSet, af *ast.File) []Place {
	var out []Place
	ast.Inspect(af, func(n ast.Node) bool {
		if x, ok := n.(*ast.SelectorExpr); ok && x.Sel.Name == "Values" {
			out = append(out, Place{fset.Position(x.Pos()).Line, "reads a remote answer's values by key (.Values)"})
		}
		return true
	})
	return out
}

// runsSSH finds where a file names the ExecRunner type, or reads or sets
// $JT_SSH: what only sshexec may do.
func runsSSH(fset *token.FileSet, af *ast.File) []Place {
	var out []Place
	ast.Inspect(af, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			if x.Name == "ExecRunner" {
				out = append(out, Place{fset.Position(x.Pos()).Line, "names sshexec's ExecRunner"})
			}
		case *ast.BasicLit:
			if x.Kind != token.STRING {
				break
			}
			if v, err := strconv.Unquote(x.Value); err == nil && (v == "JT_SSH" || strings.HasPrefix(v, "JT_SSH=")) {
				out = append(out, Place{fset.Position(x.Pos()).Line, "reads or sets $JT_SSH"})
			}
		}
		return true
	})
	return out
}

// Offences returns every broken limit: sizes, then imports, then ssh.
func (s *Shape) Offences() []Offence {
	out := s.sizeOffences()
	out = append(out, s.importOffences()...)
	out = append(out, s.sshOffences()...)
	out = append(out, s.valueOffences()...)
	return append(out, s.initOffences()...)
}

// sizeOffences are the files and functions over their limits, and
// commands/ over its total.
func (s *Shape) sizeOffences() []Offence {
	var out []Offence
	commands := 0
	for _, f := range s.Files {
		if !f.Product {
			continue
		}
		if under(f.Dir, "commands") {
			commands += f.Lines
		}
		if f.Lines > MaxFileLines {
			out = append(out, Offence{f.Path, fmt.Sprintf("%d lines, more than %d", f.Lines, MaxFileLines)})
		}
		for _, fn := range f.Funcs {
			if fn.Lines > MaxFuncLines && !exempt(f.Path, fn.Name) {
				out = append(out, Offence{fmt.Sprintf("%s:%d", f.Path, fn.Line), fmt.Sprintf("func %s is %d lines, more than %d", fn.Name, fn.Lines, MaxFuncLines)})
			}
		}
	}
	if commands > MaxCommandsLines {
		out = append(out, Offence{"commands/", fmt.Sprintf("%d lines in all, more than %d", commands, MaxCommandsLines)})
	}
	return out
}

func exempt(file, fn string) bool {
	for _, e := range Exempt {
		if e.File == file && e.Func == fn {
			return true
		}
	}
	return false
}

// importOffences are the imports against Layers, Tools and CLIModule, and
// the product packages Layers does not place.
func (s *Shape) importOffences() []Offence {
	var out []Offence
	unplaced := map[string]bool{}
	for _, f := range s.Files {
		if !f.Product {
			continue
		}
		from, placed := layerOf(f.Dir)
		tool := isTool(f.Dir)
		if !placed && !tool && !unplaced[f.Dir] {
			unplaced[f.Dir] = true
			out = append(out, Offence{f.Dir + "/", "a product package that shape.Layers does not place"})
		}
		for _, imp := range f.Imports {
			where := fmt.Sprintf("%s:%d", f.Path, imp.Line)
			if (imp.Path == CLIModule || strings.HasPrefix(imp.Path, CLIModule+"/")) && !under(f.Dir, "commands") {
				out = append(out, Offence{where, "imports " + CLIModule + ", which only commands/ may"})
			}
			dir, ok := s.dirOf(imp.Path)
			if !ok || tool {
				continue
			}
			if isTool(dir) {
				out = append(out, Offence{where, fmt.Sprintf("imports %s, a tool, which no product package may", dir)})
			} else if to, ok := layerOf(dir); ok && placed && to >= from {
				out = append(out, Offence{where, fmt.Sprintf("%s (layer %d) imports %s (layer %d): a package may import only lower layers", f.Dir, from, dir, to)})
			}
		}
	}
	return out
}

// sshOffences are the places outside sshexec/ that name ExecRunner or
// $JT_SSH. Tools may: they run jt through a wrapper.
func (s *Shape) sshOffences() []Offence {
	return s.onlyIn("sshexec", func(f File) []Place { return f.RunsSSH }, ", which only sshexec/ may")
}

// valueOffences are the places outside templates/ that read a remote
// answer's values by key: the typed answers of templates/answers.go are
// how the others read them. Tools may.
func (s *Shape) valueOffences() []Offence {
	return s.onlyIn("templates", func(f File) []Place { return f.Values }, ", which only templates/ may: read its typed answer")
}

// onlyIn are the places of product files outside dir (and the tools) that
// do what only dir may: places(f), each said with why.
func (s *Shape) onlyIn(dir string, places func(File) []Place, why string) []Offence {
	var out []Offence
	for _, f := range s.Files {
		if !f.Product || isTool(f.Dir) || under(f.Dir, dir) {
			continue
		}
		for _, p := range places(f) {
			out = append(out, Offence{fmt.Sprintf("%s:%d", f.Path, p.Line), p.What + why})
		}
	}
	return out
}

// dirOf is the directory of a package of the module, from its import path.
func (s *Shape) dirOf(importPath string) (string, bool) {
	if importPath == s.Module {
		return ".", true
	}
	rest, ok := strings.CutPrefix(importPath, s.Module+"/")
	return rest, ok
}

// layerOf is the index in Layers of the package in dir.
func layerOf(dir string) (int, bool) {
	for i, layer := range Layers {
		for _, p := range layer {
			if p == dir {
				return i, true
			}
			if parent, ok := strings.CutSuffix(p, "/*"); ok && strings.HasPrefix(dir, parent+"/") {
				return i, true
			}
		}
	}
	return 0, false
}

func isTool(dir string) bool {
	for _, t := range Tools {
		if under(dir, t) {
			return true
		}
	}
	return false
}

// under reports whether dir is top or below it.
func under(dir, top string) bool { return dir == top || strings.HasPrefix(dir, top+"/") }
