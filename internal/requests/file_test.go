package requests

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/types"
)

// writeRequests writes content to a file named requests.json in a fresh
// temporary directory and returns its path.
func writeRequests(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "requests.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// nextN calls Next n times and returns the specs.
func nextN(t *testing.T, src types.RequestSource, n int) []types.RequestSpec {
	t.Helper()
	out := make([]types.RequestSpec, 0, n)
	for i := range n {
		spec, err := src.Next()
		if err != nil {
			t.Fatalf("Next() call %d: unexpected error %v", i+1, err)
		}
		out = append(out, spec)
	}
	return out
}

func TestNewFileSourceGood(t *testing.T) {
	get := types.RequestSpec{Method: "GET", Path: "/"}
	status := types.RequestSpec{Method: "GET", Path: "/status"}
	post := types.RequestSpec{
		Method:      "POST",
		Path:        "/submit",
		QueryString: "x=1&y=2",
		Headers:     map[string][]string{"Content-Type": {"application/json"}, "X-Multi": {"a", "b"}},
		Body:        `{"run":"demo"}`,
	}
	longBody := strings.Repeat("x", 1<<20) // well beyond bufio.Scanner's 64 KiB default
	tests := []struct {
		name    string
		content string
		want    []types.RequestSpec
	}{
		{
			name:    "named record",
			content: `{"method":"GET","path":"/","name":"home"}`,
			want:    []types.RequestSpec{{Method: "GET", Path: "/", Name: "home"}},
		},
		{
			name:    "single record without trailing newline",
			content: `{"method":"GET","path":"/"}`,
			want:    []types.RequestSpec{get},
		},
		{
			name: "all fields",
			content: `{"method":"GET","path":"/"}` + "\n" +
				`{"method":"POST","path":"/submit","queryString":"x=1&y=2","headers":{"Content-Type":["application/json"],"X-Multi":["a","b"]},"body":"{\"run\":\"demo\"}"}` + "\n",
			want: []types.RequestSpec{get, post},
		},
		{
			name:    "blank and whitespace-only lines are skipped",
			content: "\n  \n" + `{"method":"GET","path":"/"}` + "\n\t\n\n" + `{"method":"GET","path":"/status"}` + "\n   \n",
			want:    []types.RequestSpec{get, status},
		},
		{
			name:    "CRLF line endings",
			content: `{"method":"GET","path":"/"}` + "\r\n" + `{"method":"GET","path":"/status"}` + "\r\n",
			want:    []types.RequestSpec{get, status},
		},
		{
			name:    "method case is kept",
			content: `{"method":"get","path":"/"}` + "\n" + `{"method":"Get","path":"/status"}`,
			want:    []types.RequestSpec{{Method: "get", Path: "/"}, {Method: "Get", Path: "/status"}},
		},
		{
			name:    "surrounding white space on a line",
			content: "   " + `{"method":"GET","path":"/"}` + "  \t\n",
			want:    []types.RequestSpec{get},
		},
		{
			name:    "long line",
			content: `{"method":"POST","path":"/big","body":"` + longBody + `"}` + "\n",
			want:    []types.RequestSpec{{Method: "POST", Path: "/big", Body: longBody}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewFileSource(writeRequests(t, tt.content))
			if err != nil {
				t.Fatalf("NewFileSource: got error %v, want nil", err)
			}
			if got := src.Len(); got != len(tt.want) {
				t.Fatalf("Len() = %d, want %d", got, len(tt.want))
			}
			got := nextN(t, src, len(tt.want))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("records:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestNewFileSourceBad(t *testing.T) {
	const good = `{"method":"GET","path":"/"}` + "\n"
	tests := []struct {
		name    string
		content string
		line    int    // line the error must name
		want    string // substring the error must contain after "file:line: "
	}{
		{"invalid JSON", good + good + `{"method":"GET",` + "\n", 3, "invalid JSON"},
		{"syntax error", `{"method" "GET"}`, 1, "invalid JSON at byte"},
		{"unknown field", good + `{"method":"GET","path":"/","query":"a=1"}`, 2, `unknown field "query"`},
		{"missing method", `{"path":"/"}`, 1, `missing required field "method"`},
		{"empty method", `{"method":"","path":"/"}`, 1, `missing required field "method"`},
		{"missing path", "\n\n" + `{"method":"GET"}`, 3, `missing required field "path"`},
		{"relative path", `{"method":"GET","path":"status"}`, 1, `path "status" must start with '/'`},
		{"absolute URL as path", `{"method":"GET","path":"http://x/"}`, 1, "must start with '/'"},
		{"method with space", `{"method":"GE T","path":"/"}`, 1, `method "GE T" is not a valid HTTP method token`},
		{"method with slash", `{"method":"GET/1","path":"/"}`, 1, "not a valid HTTP method token"},
		{"method non-ASCII", `{"method":"GÉT","path":"/"}`, 1, "not a valid HTTP method token"},
		{"bad header name", `{"method":"GET","path":"/","headers":{"Bad Name":["x"]}}`, 1, `header name "Bad Name"`},
		{"wrong field type", `{"method":"GET","path":"/","headers":{"A":"x"}}`, 1, `field "headers" has the wrong type (got string)`},
		{"method is a number", `{"method":1,"path":"/"}`, 1, `field "method" has the wrong type (got number)`},
		{"array instead of object", `[1,2]`, 1, "must be a JSON object"},
		{"name with a newline", `{"method":"GET","path":"/","name":"a\nb"}`, 1, "control or non-printing character"},
		{"name too long", `{"method":"GET","path":"/","name":"` + strings.Repeat("n", 101) + `"}`, 1, "longer than 100 bytes"},
		{"null record", `null`, 1, `missing required field "method"`},
		{"two objects on one line", `{"method":"GET","path":"/"} {"method":"GET","path":"/"}`, 1, "unexpected data after the JSON object"},
		{"trailing garbage", good + `{"method":"GET","path":"/"},`, 2, "unexpected data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRequests(t, tt.content)
			src, err := NewFileSource(path)
			if err == nil {
				t.Fatalf("NewFileSource: got source with %d records, want error", src.Len())
			}
			prefix := path + ":" + strconv.Itoa(tt.line) + ": "
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q: want prefix %q", err, prefix)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNewFileSourceNoRequests(t *testing.T) {
	for _, content := range []string{"", "\n", "  \n\t\n\r\n"} {
		path := writeRequests(t, content)
		_, err := NewFileSource(path)
		if err == nil {
			t.Fatalf("NewFileSource(%q content): got nil error, want no requests", content)
		}
		if want := path + ": no requests"; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("NewFileSource(%q content): error %q, want prefix %q", content, err, want)
		}
	}
}

func TestNewFileSourceMissingFile(t *testing.T) {
	_, err := NewFileSource(filepath.Join(t.TempDir(), "absent.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("NewFileSource(absent file): got %v, want an error wrapping fs.ErrNotExist", err)
	}
}

func TestFileSourceLineLimit(t *testing.T) {
	const limit = 40
	fits := `{"method":"GET","path":"/` + strings.Repeat("a", limit-len(`{"method":"GET","path":"/"}`)) + `"}`
	if len(fits) != limit {
		t.Fatalf("test setup: line has %d bytes, want %d", len(fits), limit)
	}
	tooLong := `{"method":"GET","path":"/` + strings.Repeat("a", 200) + `"}`
	tests := []struct {
		name    string
		content string
		wantErr string // empty: no error
	}{
		{"exactly at the limit", fits + "\n", ""},
		{"at the limit with CRLF", fits + "\r\n" + fits + "\r\n", ""},
		{"one byte over", fits[:len(fits)-2] + `a"}` + "\n", ":1: line longer than the limit of 40 bytes"},
		{"far over on line 2", fits + "\n" + tooLong + "\n" + fits + "\n", ":2: line longer than the limit of 40 bytes"},
		{"far over without newline", fits + "\n\n" + tooLong, ":3: line longer than the limit of 40 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRequests(t, tt.content)
			_, err := newFileSource(path, limit)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("got nil error, want %q", tt.wantErr)
			case tt.wantErr != "" && !strings.HasPrefix(err.Error(), path+tt.wantErr):
				t.Errorf("error %q: want prefix %q", err, path+tt.wantErr)
			}
		})
	}
}

func TestFileSourceLoopsAndResets(t *testing.T) {
	path := writeRequests(t, `{"method":"GET","path":"/1"}
{"method":"GET","path":"/2"}

{"method":"GET","path":"/3"}
`)
	src, err := NewFileSource(path)
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	paths := func(specs []types.RequestSpec) string {
		var b strings.Builder
		for _, s := range specs {
			b.WriteString(s.Path)
		}
		return b.String()
	}
	if got, want := paths(nextN(t, src, 7)), "/1/2/3/1/2/3/1"; got != want {
		t.Errorf("first 7 paths = %s, want %s", got, want)
	}
	if err := src.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if got, want := paths(nextN(t, src, 4)), "/1/2/3/1"; got != want {
		t.Errorf("paths after Reset = %s, want %s", got, want)
	}
}

// TestNewFileSourceDefaultLineLimit checks the exported limit end to end: a
// record line just over MaxLineBytes is refused with its line number.
func TestNewFileSourceDefaultLineLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 16 MiB file")
	}
	head, tail := `{"method":"POST","path":"/","body":"`, `"}`
	line := head + strings.Repeat("x", MaxLineBytes+1-len(head)-len(tail)) + tail
	path := writeRequests(t, `{"method":"GET","path":"/"}`+"\n"+line+"\n")
	_, err := NewFileSource(path)
	want := path + ":2: line longer than the limit of 16777216 bytes"
	if err == nil || err.Error() != want {
		t.Errorf("NewFileSource: got error %v, want %q", err, want)
	}
}
