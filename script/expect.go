package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/lualib"
	"github.com/PeladoCollado/imager/types"
)

// expectFields lists the keys of an expect table, for error messages.
const expectFields = "name, status, body_contains, body_regex, json, header, max_body_bytes, max_latency"

// maxWholeNumber is the largest whole number a Lua number holds exactly.
const maxWholeNumber = 1 << 53

// toExpect converts and validates the expect field of a request table: a
// table with the keys of docs/CHECKS.md, lists counted from 1 as Lua
// does. Every problem is reported, joined, each naming its key
// ("expect.status[2]: ..."). A table converted before is taken from the
// VM's cache when it has not changed since.
func (v *VM) toExpect(val lua.LValue) (*types.Expect, error) {
	t, ok := val.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("expect is %s: want a table such as {status = \"200-299\"}", describe(val))
	}
	if e := v.expects.get(t); e != nil {
		return e, nil
	}
	e, err := v.convertExpect(t)
	if err != nil {
		return nil, err
	}
	v.expects.put(t, e)
	return e, nil
}

// convertExpect converts an expect table and validates the result.
func (v *VM) convertExpect(t *lua.LTable) (*types.Expect, error) {
	var e types.Expect
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for k, val := t.Next(lua.LNil); k != lua.LNil; k, val = t.Next(k) {
		key, ok := k.(lua.LString)
		if !ok {
			bad("expect has the key %s: want only the keys %s", describe(k), expectFields)
			continue
		}
		switch key {
		case "name":
			e.Name = expectString(val, "expect.name", bad)
		case "status":
			e.Status = expectStatus(val, bad)
		case "body_contains":
			e.BodyContains = expectContains(val, bad)
		case "body_regex":
			e.BodyRegex = expectString(val, "expect.body_regex", bad)
		case "json":
			e.JSON = v.expectJSON(val, bad)
		case "header":
			e.Header = expectHeader(val, bad)
		case "max_body_bytes":
			e.MaxBodyBytes = expectBytes(val, bad)
		case "max_latency":
			e.MaxLatency = expectLatency(val, bad)
		default:
			bad("expect has the unknown key %q (known: %s)", string(key), expectFields)
		}
	}
	// What did not convert was left out, so Validate finds the other
	// problems without repeating those.
	if err := errors.Join(append(errs, e.Validate())...); err != nil {
		return nil, err
	}
	return &e, nil
}

// expectString reads a string value.
func expectString(val lua.LValue, key string, bad func(string, ...any)) string {
	s, ok := val.(lua.LString)
	if !ok {
		bad("%s is %s: want a string", key, describe(val))
	}
	return string(s)
}

// listOf returns the items of val: val alone when it is not a table, the
// elements 1..n of a list. It reports a table that is not a list.
func listOf(val lua.LValue, key string, bad func(string, ...any)) []lua.LValue {
	t, ok := val.(*lua.LTable)
	if !ok {
		return []lua.LValue{val}
	}
	n := t.Len()
	keys := 0
	t.ForEach(func(lua.LValue, lua.LValue) { keys++ })
	if keys != n {
		bad("%s is a table with keys other than 1..n: want a list", key)
		return nil
	}
	out := make([]lua.LValue, n)
	for i := range out {
		out[i] = t.RawGetInt(i + 1)
	}
	return out
}

// itemKey names item i (from 0) of a list value: "key[i+1]", or key alone
// when the value was no table.
func itemKey(val lua.LValue, key string, i int) string {
	if _, ok := val.(*lua.LTable); ok {
		return fmt.Sprintf("%s[%d]", key, i+1)
	}
	return key
}

// expectStatus reads status: a code (a number or a string), a range
// ("200-299"), or a list of them. Each item is checked here, so that an
// error names it by its Lua index.
func expectStatus(val lua.LValue, bad func(string, ...any)) []types.StatusRange {
	items := listOf(val, "expect.status", bad)
	out := make([]types.StatusRange, 0, len(items))
	for i, item := range items {
		key := itemKey(val, "expect.status", i)
		var r types.StatusRange
		switch x := item.(type) {
		case lua.LNumber:
			f := float64(x)
			if f != math.Trunc(f) || f < 0 || f > 999 {
				bad("%s: %s is not a status code: want a whole number such as 200", key, describe(item))
				continue
			}
			r = types.StatusRange{Lo: int(f), Hi: int(f)}
		case lua.LString:
			var err error
			if r, err = types.ParseStatusRange(string(x)); err != nil {
				bad("%s: %v", key, err)
				continue
			}
		default:
			bad("%s is %s: want a status code such as 200 or a range such as \"200-299\"", key, describe(item))
			continue
		}
		if err := (types.Expect{Status: []types.StatusRange{r}}).Validate(); err != nil {
			// Validate names the item "expect.status[0]": keep its reason.
			_, reason, _ := strings.Cut(err.Error(), ": ")
			bad("%s: %s", key, reason)
			continue
		}
		out = append(out, r)
	}
	return out
}

// expectContains reads body_contains: a string or a list of strings.
func expectContains(val lua.LValue, bad func(string, ...any)) []string {
	items := listOf(val, "expect.body_contains", bad)
	out := make([]string, 0, len(items))
	for i, item := range items {
		key := itemKey(val, "expect.body_contains", i)
		s, ok := item.(lua.LString)
		switch {
		case !ok:
			bad("%s is %s: want a string", key, describe(item))
		case s == "":
			bad("%s: the text is empty, which every body contains", key)
		default:
			out = append(out, string(s))
		}
	}
	return out
}

// expectJSON reads json: a table of path = value, each value encoded as
// json.encode does (json.null for null, json.array for an empty array).
func (v *VM) expectJSON(val lua.LValue, bad func(string, ...any)) map[string]json.RawMessage {
	t, ok := val.(*lua.LTable)
	if !ok {
		bad("expect.json is %s: want a table of path = value such as {[\"data.id\"] = 7}", describe(val))
		return nil
	}
	out := make(map[string]json.RawMessage)
	for k, item := t.Next(lua.LNil); k != lua.LNil; k, item = t.Next(k) {
		path, ok := k.(lua.LString)
		if !ok {
			bad("expect.json has the key %s: want JSON paths (strings) such as \"data.id\"", describe(k))
			continue
		}
		text, err := lualib.EncodeJSON(v.L, item)
		if err != nil {
			bad("expect.json[%q]: the value cannot be JSON: %v", clip(string(path), 60), err)
			continue
		}
		out[string(path)] = json.RawMessage(text)
	}
	return out
}

// expectHeader reads header: a table of name = value (a string) or true
// (present).
func expectHeader(val lua.LValue, bad func(string, ...any)) map[string]types.HeaderMatch {
	t, ok := val.(*lua.LTable)
	if !ok {
		bad("expect.header is %s: want a table of name = value or true, such as {[\"Content-Type\"] = \"application/json\"}", describe(val))
		return nil
	}
	out := make(map[string]types.HeaderMatch)
	for k, item := t.Next(lua.LNil); k != lua.LNil; k, item = t.Next(k) {
		name, ok := k.(lua.LString)
		if !ok {
			bad("expect.header has the key %s: want header names (strings)", describe(k))
			continue
		}
		switch x := item.(type) {
		case lua.LString:
			out[string(name)] = types.HeaderMatch{Value: string(x)}
		case lua.LBool:
			if x {
				out[string(name)] = types.HeaderMatch{Present: true}
				continue
			}
			bad("expect.header[%q] is false: want a string (the value) or true (present)", clip(string(name), 60))
		default:
			bad("expect.header[%q] is %s: want a string (the value) or true (present)", clip(string(name), 60), describe(item))
		}
	}
	return out
}

// expectBytes reads max_body_bytes: a whole number.
func expectBytes(val lua.LValue, bad func(string, ...any)) int64 {
	n, ok := val.(lua.LNumber)
	if f := float64(n); !ok || f != math.Trunc(f) || math.Abs(f) > maxWholeNumber {
		bad("expect.max_body_bytes is %s: want a whole number of bytes", describe(val))
		return 0
	}
	return int64(n)
}

// expectLatency reads max_latency: a duration string such as "250ms".
func expectLatency(val lua.LValue, bad func(string, ...any)) time.Duration {
	s, ok := val.(lua.LString)
	if !ok {
		bad("expect.max_latency is %s: want a duration string such as \"250ms\" or \"1.5s\"", describe(val))
		return 0
	}
	d, err := time.ParseDuration(string(s))
	if err != nil {
		bad("expect.max_latency: %q is not a duration: want one such as \"250ms\" or \"1.5s\"", clip(string(s), 60))
	}
	return d
}
