package script

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

func TestRequestConversion(t *testing.T) {
	tests := []struct {
		name string
		ret  string
		want types.RequestSpec
	}{
		{name: "method defaults to GET", ret: "{path = '/'}", want: types.RequestSpec{Method: "GET", Path: "/"}},
		{
			name: "everything",
			ret:  "{method = 'POST', path = '/items', query = 'a=1&b=2', headers = {['Content-Type'] = 'application/json'}, body = '{}'}",
			want: types.RequestSpec{Method: "POST", Path: "/items", QueryString: "a=1&b=2", Headers: map[string][]string{"Content-Type": {"application/json"}}, Body: "{}"},
		},
		{name: "query string drops a leading ?", ret: "{path = '/', query = '?x=1'}", want: types.RequestSpec{Method: "GET", Path: "/", QueryString: "x=1"}},
		{name: "query inside path kept as written", ret: "{path = '/sum?a=1&b=2'}", want: types.RequestSpec{Method: "GET", Path: "/sum?a=1&b=2"}},
		{name: "double slash kept", ret: "{path = '//evil.example/x'}", want: types.RequestSpec{Method: "GET", Path: "//evil.example/x"}},
		{name: "Host header kept", ret: "{path = '/', headers = {Host = 'vhost.example'}}", want: types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{"Host": {"vhost.example"}}}},
		{
			name: "query table sorted and escaped",
			ret:  "{path = '/', query = {z = 'last', a = 'x y', ['k&v'] = 'a=b/c', n = 42, f = 1.5, neg = -3, yes = true}}",
			want: types.RequestSpec{Method: "GET", Path: "/", QueryString: "a=x+y&f=1.5&k%26v=a%3Db%2Fc&n=42&neg=-3&yes=true&z=last"},
		},
		{name: "list values repeat the key", ret: "{path = '/', query = {id = {3, 1, 2}, a = 'b'}}", want: types.RequestSpec{Method: "GET", Path: "/", QueryString: "a=b&id=3&id=1&id=2"}},
		{name: "empty query table", ret: "{path = '/', query = {}}", want: types.RequestSpec{Method: "GET", Path: "/"}},
		{
			name: "header lists and numbers",
			ret:  "{path = '/', headers = {Accept = {'text/html', 'application/json'}, ['X-N'] = 7, ['X-Empty'] = ''}}",
			want: types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{"Accept": {"text/html", "application/json"}, "X-N": {"7"}, "X-Empty": {""}}},
		},
		{name: "empty headers table", ret: "{path = '/', headers = {}}", want: types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{}}},
		{name: "lower-case method kept", ret: "{path = '/', method = 'purge'}", want: types.RequestSpec{Method: "purge", Path: "/"}},
		{name: "name", ret: "{path = '/', name = 'home page'}", want: types.RequestSpec{Method: "GET", Path: "/", Name: "home page"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, "function request()\nreturn "+tt.ret+"\nend\n", VMConfig{})
			got, err := vm.Request()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Request() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestQueryEscapeMatchesNetURL(t *testing.T) {
	for _, s := range []string{"", "abc", "a b", "ä/ö?&=#+%", "~-._", "\x00\xff", "日本"} {
		if got, want := string(appendQueryEscape(nil, s)), url.QueryEscape(s); got != want {
			t.Errorf("appendQueryEscape(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestRequestResultsAreIndependent(t *testing.T) {
	// Scratch buffers are reused between calls: earlier results must not
	// change.
	vm := newVM(t, "n = 0\nfunction request()\nn = n + 1\nreturn {path = '/', query = {n = n}, headers = {['X-N'] = {tostring(n), 'b'}}}\nend\n", VMConfig{})
	first, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := vm.Request(); err != nil {
			t.Fatal(err)
		}
	}
	if first.QueryString != "n=1" || first.Headers["X-N"][0] != "1" {
		t.Errorf("first request changed to %+v", first)
	}
	first.Headers["X-N"] = append(first.Headers["X-N"], "appended")
	second, _ := vm.Request()
	if len(second.Headers["X-N"]) != 2 {
		t.Errorf("appending to one request's header changed another: %v", second.Headers)
	}
}

func TestSetupOptions(t *testing.T) {
	vm := newVM(t, `
function setup(options)
  got = string.format("%s|%s|%s|%s|%s|%s", options.users, type(options.users), tostring(options.flags.min_rps),
    tostring(options.flags.interval), tostring(options.flags.dry_run), options.flags.target_url)
end
function request() return {path = "/", body = got} end
`, VMConfig{
		Options: map[string]string{"users": "10"},
		Flags:   map[string]any{"min-rps": 5, "interval": 1500 * time.Millisecond, "dry-run": true, "target_url": "http://x"},
	})
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spec.Body, "10|string|5|1.5|true|http://x"; got != want {
		t.Errorf("setup saw %q, want %q", got, want)
	}
}

func TestMathRandomIsSeeded(t *testing.T) {
	src := "function request() return {path = '/', query = {a = math.random(1, 1000000), b = math.random(10), c = math.random()}} end"
	draw := func(seed int64) string {
		vm := newVM(t, src, VMConfig{Seed: seed})
		spec, err := vm.Request()
		if err != nil {
			t.Fatal(err)
		}
		return spec.QueryString
	}
	if a, b := draw(7), draw(7); a != b {
		t.Errorf("seed 7 gave %q then %q, want equal", a, b)
	}
	if a, b := draw(7), draw(8); a == b {
		t.Errorf("seeds 7 and 8 both gave %q", a)
	}
	vm := newVM(t, "function request() math.randomseed(3); local a = math.random(1, 100); math.randomseed(3); return {path = '/' .. a .. '/' .. math.random(1, 100)} end", VMConfig{})
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	if p := spec.Path; p[1:len(p)/2] != p[len(p)/2+1:] {
		t.Errorf("math.randomseed did not repeat the sequence: %s", p)
	}
}
