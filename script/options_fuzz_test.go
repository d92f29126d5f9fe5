package script

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
)

func optionSeeds() []fuzzseed.Seed {
	return []fuzzseed.Seed{
		{Name: "pairs", Args: []any{"users=10, region = eu-west ,mode=fast"}},
		{Name: "value-with-equals", Args: []any{"query=a=1&b=2,empty="}},
		{Name: "duplicate", Args: []any{"users=1,users=2"}},
		{Name: "reserved", Args: []any{"users=1, flags=x"}},
		{Name: "trailing-comma", Args: []any{"users=10,"}},
		{Name: "no-key", Args: []any{"=10"}},
		{Name: "blank", Args: []any{" \t "}},
		{Name: "unicode-space", Args: []any{"\u00a0k\u2003=\u3000v\u00a0"}},
	}
}

func TestOptionSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzParseOptions", optionSeeds())
}

func TestParseOptions(t *testing.T) {
	got, err := ParseOptions(" users = 10 ,query=a=1&b=2, empty=")
	want := map[string]string{"users": "10", "query": "a=1&b=2", "empty": ""}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("ParseOptions = %v, %v; want %v", got, err, want)
	}
	for in, msg := range map[string]string{
		"users=1,users=2": `key "users" given twice`,
		"a=1,flags=x":     `key "flags" is reserved`,
		"a=1,":            `"" is not key=value`,
		" =1":             `" =1" is not key=value`,
	} {
		if _, err := ParseOptions(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseOptions(%q) = %v, want an error containing %q", in, err, msg)
		}
	}
}

// FuzzParseOptions parses scenario options: it never panics, every pair
// it accepts becomes one key (not empty, trimmed, without ',' or '=',
// not "flags") and one trimmed value (without ','), and the options
// written back as key=value pairs parse to the same map.
func FuzzParseOptions(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseOptions(s)
		if err != nil {
			return
		}
		if pairs := strings.Count(s, ",") + 1; strings.TrimSpace(s) != "" && len(m) != pairs {
			t.Fatalf("%q: %d keys from %d pairs", s, len(m), pairs)
		}
		var parts []string
		for k, v := range m {
			if k == "" || k == "flags" || k != strings.TrimSpace(k) || strings.ContainsAny(k, ",=") {
				t.Fatalf("%q: bad key %q", s, k)
			}
			if v != strings.TrimSpace(v) || strings.Contains(v, ",") {
				t.Fatalf("%q: bad value %q for key %q", s, v, k)
			}
			parts = append(parts, k+"="+v)
		}
		slices.Sort(parts)
		again, err := ParseOptions(strings.Join(parts, ","))
		if err != nil || !maps.Equal(again, m) {
			t.Fatalf("%q parsed to %v; written back as %q it parses to %v, %v", s, m, strings.Join(parts, ","), again, err)
		}
	})
}
