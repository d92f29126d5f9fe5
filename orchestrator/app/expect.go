package app

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/PeladoCollado/imager/types"
)

// bindExpectFlags registers the -expect-* flags: the response checks of
// every request without an expect of its own (docs/CHECKS.md).
func (c *Config) bindExpectFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ExpectStatus, "expect-status", "", "response check: the allowed status codes and ranges, comma-separated, e.g. 200-299,304; the checks of -expect-status, -expect-body-contains, -expect-body-regex, -expect-json and -expect-header apply to every request without an expect of its own (see docs/CHECKS.md)")
	fs.Var(stringList{&c.ExpectBodyContains}, "expect-body-contains", "response check: text the body must contain (repeatable)")
	fs.StringVar(&c.ExpectBodyRegex, "expect-body-regex", "", "response check: an RE2 regular expression that must match somewhere in the body")
	fs.Var(stringList{&c.ExpectJSON}, "expect-json", "response check: PATH=VALUE, the JSON value the body holds at a JSON path, e.g. data.id=7; a VALUE that is not JSON is taken as a string (repeatable)")
	fs.Var(stringList{&c.ExpectHeaders}, "expect-header", "response check: 'Name: value', a response header and its value, or 'Name' alone for any value (repeatable)")
}

// expectFlags builds the checks the -expect-* flags give: nil when none
// is given, else one Expect without a name (its checks are named after
// each request). Every problem is reported, naming its flag.
func (c Config) expectFlags() (*types.Expect, []error) {
	var e types.Expect
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.ExpectStatus != "" {
		for _, item := range strings.Split(c.ExpectStatus, ",") {
			if r, ok := flagStatus(strings.TrimSpace(item), bad); ok {
				e.Status = append(e.Status, r)
			}
		}
	}
	for _, text := range c.ExpectBodyContains {
		if text == "" {
			bad("-expect-body-contains: the text is empty, which every body contains")
			continue
		}
		e.BodyContains = append(e.BodyContains, text)
	}
	if c.ExpectBodyRegex != "" {
		if _, err := regexp.Compile(c.ExpectBodyRegex); err != nil {
			bad("-expect-body-regex %q: %s", c.ExpectBodyRegex, regexpProblem(err))
		} else {
			e.BodyRegex = c.ExpectBodyRegex
		}
	}
	e.JSON = flagJSON(c.ExpectJSON, bad)
	e.Header = flagHeaders(c.ExpectHeaders, bad)
	if len(errs) > 0 {
		return nil, errs
	}
	if e.CheckCount() == 0 {
		return nil, nil
	}
	// What is left for Validate: problems of the checks together.
	if err := e.Validate(); err != nil {
		return nil, []error{fmt.Errorf("-expect-status, -expect-body-contains, -expect-body-regex, -expect-json, -expect-header: %w", err)}
	}
	return &e, nil
}

// flagStatus parses one item of -expect-status.
func flagStatus(item string, bad func(string, ...any)) (types.StatusRange, bool) {
	r, err := types.ParseStatusRange(item)
	if err != nil {
		bad("-expect-status: %v", err)
		return r, false
	}
	if err := (types.Expect{Status: []types.StatusRange{r}}).Validate(); err != nil {
		// Validate names the item "expect.status[0]": keep its reason.
		_, reason, _ := strings.Cut(err.Error(), ": ")
		bad("-expect-status: %s", reason)
		return r, false
	}
	return r, true
}

// regexpProblem is what is wrong with a regular expression, without the
// expression itself ("missing closing )").
func regexpProblem(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return se.Code.String()
	}
	return err.Error()
}

// flagJSON parses the -expect-json values: PATH=VALUE, split at the first
// '=' outside a quoted member name (["a=b"]).
func flagJSON(flags []string, bad func(string, ...any)) map[string]json.RawMessage {
	if len(flags) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(flags))
	seen := make(map[string]string, len(flags))
	for _, f := range flags {
		path, value, ok := splitPathValue(f)
		if !ok {
			bad("-expect-json %q: want PATH=VALUE, e.g. data.id=7 or status=ok", f)
			continue
		}
		p, err := types.ParseJSONPath(path)
		if err != nil {
			bad("-expect-json %q: %v", f, err)
			continue
		}
		if other, dup := seen[p.String()]; dup {
			bad("-expect-json %q: the path names the same value as in %q", f, other)
			continue
		}
		seen[p.String()] = f
		raw := json.RawMessage(value)
		if !json.Valid(raw) {
			raw, _ = json.Marshal(value) // a string always marshals
		}
		out[path] = raw
	}
	return out
}

// splitPathValue splits PATH=VALUE at the first '=' that is not inside a
// quoted member name.
func splitPathValue(s string) (path, value string, ok bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == '=' && !quoted:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// flagHeaders parses the -expect-header values: 'Name: value', or 'Name'
// alone for present.
func flagHeaders(flags []string, bad func(string, ...any)) map[string]types.HeaderMatch {
	if len(flags) == 0 {
		return nil
	}
	out := make(map[string]types.HeaderMatch, len(flags))
	seen := make(map[string]string, len(flags))
	for _, f := range flags {
		name, value, hasValue := strings.Cut(f, ":")
		name = strings.TrimSpace(name)
		m := types.HeaderMatch{Value: strings.Trim(value, " \t"), Present: !hasValue}
		if !types.IsToken(name) {
			bad("-expect-header %q: the name %q is not a valid HTTP token (letters, digits and !#$%%&'*+-.^_`|~)", f, name)
			continue
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			bad("-expect-header %q: header %s is checked by %q too", f, name, other)
			continue
		}
		seen[strings.ToLower(name)] = f
		if err := (types.Expect{Header: map[string]types.HeaderMatch{name: m}}).Validate(); err != nil {
			// Validate names the header: "expect.header[...]: reason".
			_, reason, _ := strings.Cut(err.Error(), "]: ")
			bad("-expect-header %q: %s", f, reason)
			continue
		}
		out[name] = m
	}
	return out
}

// expectSourceOf wraps src by withExpect with the -expect-* checks.
func expectSourceOf(cfg Config, src types.RequestSource) (types.RequestSource, error) {
	e, errs := cfg.expectFlags()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return withExpect(src, e), nil
}

// withExpect returns src giving every request without an Expect of its
// own the checks e; src itself when e is nil. The result is a BatchSource
// when src is one, and passes BeginRound on to src.
func withExpect(src types.RequestSource, e *types.Expect) types.RequestSource {
	if e == nil {
		return src
	}
	s := &expectSource{RequestSource: src, expect: e}
	if b, ok := src.(types.BatchSource); ok {
		return &expectBatchSource{expectSource: s, batch: b}
	}
	return s
}

// expectSource is a source whose requests get the -expect-* checks when
// they have none of their own.
type expectSource struct {
	types.RequestSource
	expect *types.Expect
}

var (
	_ types.RequestSource = (*expectSource)(nil)
	_ types.RoundHook     = (*expectSource)(nil)
	_ types.BatchSource   = (*expectBatchSource)(nil)
)

// Next returns the next request of the inner source, with the checks.
func (s *expectSource) Next() (types.RequestSpec, error) {
	spec, err := s.RequestSource.Next()
	if err == nil && spec.Expect == nil {
		spec.Expect = s.expect
	}
	return spec, err
}

// BeginRound passes the round on to the inner source when it has hooks.
func (s *expectSource) BeginRound(index int64) {
	if h, ok := s.RequestSource.(types.RoundHook); ok {
		h.BeginRound(index)
	}
}

// expectBatchSource is an expectSource over a BatchSource.
type expectBatchSource struct {
	*expectSource
	batch types.BatchSource
}

// NextBatch returns the inner source's batch, with the checks.
func (s *expectBatchSource) NextBatch(n int) ([]types.RequestSpec, error) {
	specs, err := s.batch.NextBatch(n)
	for i := range specs {
		if specs[i].Expect == nil {
			specs[i].Expect = s.expect
		}
	}
	return specs, err
}
