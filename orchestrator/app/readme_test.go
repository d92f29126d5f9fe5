package app_test

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// readmeSection is the README section whose Go snippet ExampleRun runs.
const readmeSection = "## Using imager as a library"

// readmeSnippet returns the first Go code block of the README section
// named heading, without its fences.
func readmeSnippet(readme, heading string) (string, error) {
	_, section, ok := strings.Cut(readme, "\n"+heading+"\n")
	if !ok {
		return "", errors.New("no section " + heading)
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	if !ok {
		return "", errors.New("section " + heading + " has no ```go block")
	}
	block, _, ok = strings.Cut(block, "\n```")
	if !ok {
		return "", errors.New("section " + heading + ": ```go block is not closed")
	}
	return block, nil
}

// funcBody returns the source text of the body of the function name in
// the Go file path.
func funcBody(path, name string) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, decl := range file.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok && fn.Name.Name == name && fn.Body != nil {
			return string(src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]), nil
		}
	}
	return "", errors.New(path + " has no func " + name)
}

// codeLines splits code into lines without their indentation, leaving out
// blank lines, so a snippet matches however deeply it is indented.
func codeLines(code string) []string {
	var out []string
	for line := range strings.SplitSeq(code, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// containsRun reports whether want appears in got as consecutive lines.
func containsRun(got, want []string) bool {
	for i := 0; i+len(want) <= len(got); i++ {
		if slices.Equal(got[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// TestREADMESnippetIsExampleRun keeps README's embedding snippet and
// ExampleRun, which runs it, from drifting apart: every line of the
// snippet, in order and with nothing in between, must be in the example.
func TestREADMESnippetIsExampleRun(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := readmeSnippet(string(readme), readmeSection)
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	body, err := funcBody("example_test.go", "ExampleRun")
	if err != nil {
		t.Fatal(err)
	}
	want := codeLines(snippet)
	if len(want) < 10 {
		t.Fatalf("README snippet has %d lines, want the whole ParseConfig and Run call:\n%s", len(want), snippet)
	}
	if !containsRun(codeLines(body), want) {
		t.Errorf("ExampleRun in example_test.go no longer holds README.md's %q snippet line for line; change both together.\nREADME:\n%s\nExampleRun:\n%s", readmeSection, snippet, body)
	}
}
