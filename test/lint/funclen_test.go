package lint

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function may be, counted from the line of
// its func keyword to the line of its closing brace.
const maxFuncLines = 80

// TestFunctionLength fails for every function in the module's non-test
// code that is longer than maxFuncLines, naming its file, line and length.
// Test files, testdata, generated files, hidden directories and nested
// modules are left out.
func TestFunctionLength(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := sourceFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files found under %s", root)
	}
	var long []string
	for _, path := range files {
		found, err := longFunctions(path, maxFuncLines)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range found {
			rel, _ := filepath.Rel(root, f.file)
			long = append(long, fmt.Sprintf("%s:%d: %s is %d lines long (at most %d)", filepath.ToSlash(rel), f.line, f.name, f.lines, maxFuncLines))
		}
	}
	sort.Strings(long)
	for _, l := range long {
		t.Error(l)
	}
}

// TestLongFunctionsFound checks that the check itself finds a long
// function, in a file written for the purpose, and passes a short one.
func TestLongFunctionsFound(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("package p\n\nfunc short() {}\n\nfunc long() {\n")
	for range maxFuncLines - 2 { // exactly at the limit
		b.WriteString("\t_ = 1\n")
	}
	b.WriteString("}\n\nvar lit = func() {\n")
	for range maxFuncLines { // two lines over it
		b.WriteString("\t_ = 1\n")
	}
	b.WriteString("}\n")
	path := filepath.Join(dir, "p.go")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	found, err := longFunctions(path, maxFuncLines)
	if err != nil {
		t.Fatal(err)
	}
	wantLine := maxFuncLines + 6
	if len(found) != 1 {
		t.Fatalf("found %+v, want only the function literal at line %d", found, wantLine)
	}
	if f := found[0]; f.line != wantLine || f.lines != maxFuncLines+2 || f.name != "func literal" {
		t.Errorf("found %+v, want a func literal at line %d of %d lines", f, wantLine, maxFuncLines+2)
	}
}

// longFunc is one function over the limit.
type longFunc struct {
	file  string
	line  int
	name  string
	lines int
}

// longFunctions parses the file at path and returns its functions (named
// ones and function literals) longer than limit lines; a generated file
// has none.
func longFunctions(path string, limit int) ([]longFunc, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if ast.IsGenerated(f) {
		return nil, nil
	}
	var out []longFunc
	check := func(name string, from, to token.Pos) {
		start, end := fset.Position(from).Line, fset.Position(to).Line
		if n := end - start + 1; n > limit {
			out = append(out, longFunc{file: path, line: start, name: name, lines: n})
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch fn := n.(type) {
		case *ast.FuncDecl:
			if fn.Body != nil {
				check(funcName(fn), fn.Pos(), fn.End())
			}
		case *ast.FuncLit:
			check("func literal", fn.Pos(), fn.End())
		}
		return true
	})
	return out, nil
}

// funcName names a function declaration, with its receiver type if any.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	for {
		switch x := typ.(type) {
		case *ast.StarExpr:
			typ = x.X
			continue
		case *ast.IndexExpr:
			typ = x.X
			continue
		case *ast.IndexListExpr:
			typ = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fn.Name.Name
		}
		return fn.Name.Name
	}
}

// moduleRoot finds the directory holding go.mod, from the test's working
// directory (its package directory) upward.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// sourceFiles lists the module's Go files that the rule covers.
func sourceFiles(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == root {
				return nil
			}
			if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module is not part of this one
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") && !strings.HasSuffix(name, ".pb.go") {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}
