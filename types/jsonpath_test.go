package types

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseJSONPath(t *testing.T) {
	key := func(k string) PathSegment { return PathSegment{Key: k} }
	idx := func(i int) PathSegment { return PathSegment{Index: i, IsIndex: true} }
	cases := []struct {
		in    string
		want  JSONPath
		canon string
	}{
		{"$", JSONPath{}, "$"},
		{"a", JSONPath{key("a")}, "a"},
		{"a.b[0].c", JSONPath{key("a"), key("b"), idx(0), key("c")}, "a.b[0].c"},
		{"$.a.b", JSONPath{key("a"), key("b")}, "a.b"},
		{"$[2]", JSONPath{idx(2)}, "[2]"},
		{"[2][10]", JSONPath{idx(2), idx(10)}, "[2][10]"},
		{`["x.y"].z`, JSONPath{key("x.y"), key("z")}, `["x.y"].z`},
		{`$["a"]`, JSONPath{key("a")}, "a"},
		{`["a b"]`, JSONPath{key("a b")}, `["a b"]`},
		{`[""]`, JSONPath{key("")}, `[""]`},
		{`["\"]\\"]`, JSONPath{key(`"]\`)}, `["\"]\\"]`},
		{`["\u00e9<"]`, JSONPath{key("é<")}, "é<"},
		{`["$"]`, JSONPath{key("$")}, `["$"]`},
		{"$x.y", JSONPath{key("$x"), key("y")}, "$x.y"},
		{"a-b_c.1", JSONPath{key("a-b_c"), key("1")}, "a-b_c.1"},
		{"é.ü", JSONPath{key("é"), key("ü")}, "é.ü"},
	}
	for _, c := range cases {
		got, err := ParseJSONPath(c.in)
		if err != nil {
			t.Errorf("ParseJSONPath(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseJSONPath(%q) = %#v, want %#v", c.in, got, c.want)
		}
		if s := got.String(); s != c.canon {
			t.Errorf("ParseJSONPath(%q).String() = %q, want %q", c.in, s, c.canon)
		}
	}
}

func TestParseJSONPathErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "empty JSON path"},
		{".a", "starts with '.'"},
		{"a.", "empty member name"},
		{"a..b", "empty member name"},
		{"$.", "empty member name"},
		{"a[", "without its ']'"},
		{"a[x]", "neither an index"},
		{"a[-1]", "neither an index"},
		{"a[01]", "neither an index"},
		{"a[+1]", "neither an index"},
		{"a[99999999999]", "neither an index"},
		{`a["b`, "unterminated"},
		{`a["b"`, "unterminated"},
		{`a["b"]x`, "follows a ']'"},
		{"a[0]b", "follows a ']'"},
		{`a["\x"]`, "not a JSON string"},
		{"a b", "write it quoted"},
		{"a]", "write it quoted"},
		{"a\"b", "write it quoted"},
		{"a\x01", "write it quoted"},
		{"\xff", "not valid UTF-8"},
		{strings.Repeat("a", MaxJSONPathLen+1), "longer than"},
	}
	for _, c := range cases {
		_, err := ParseJSONPath(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseJSONPath(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

// FuzzParseJSONPath checks that the parser never panics and that every
// path it accepts reads back the same from its canonical spelling.
func FuzzParseJSONPath(f *testing.F) {
	for _, s := range []string{"$", "a.b[0].c", `["x.y"].z`, `$["\u0041"][3]`, "a..b", `[""]`, "a[", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseJSONPath(s)
		if err != nil {
			return
		}
		canon := p.String()
		q, err := ParseJSONPath(canon)
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, canon, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%q parsed to %#v, its canonical %q to %#v", s, p, canon, q)
		}
		if q.String() != canon {
			t.Fatalf("canonical %q is not stable: %q", canon, q.String())
		}
	})
}
