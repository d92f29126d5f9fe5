package script

import (
	"fmt"
	"strings"
)

// ParseOptions parses a scenario's options as written on the command
// line: comma-separated key=value pairs, spaces around keys and values
// ignored. A value runs to the next comma and may hold '='; keys must be
// unique and not empty, and "flags" is reserved, since setup(options)
// finds the built-in flags under options.flags. Blank input is no options.
func ParseOptions(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", pair)
		}
		if k == "flags" {
			return nil, fmt.Errorf("key %q is reserved: setup(options) finds the built-in flags under options.flags", k)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("key %q given twice", k)
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}
