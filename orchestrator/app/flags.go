package app

import (
	"errors"
	"flag"
	"net/url"
	"strings"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// sensitiveHeaders are the -H headers whose values are never written to a
// results file.
var sensitiveHeaders = []string{"authorization", "proxy-authorization", "cookie", "x-api-key"}

// FlagValues returns the flags whose values differ from their defaults, by
// name without the dash, as a results file records them. Secrets are
// redacted: the password of a URL and the values of credential headers.
func (c Config) FlagValues() map[string]string {
	defaults := flag.NewFlagSet("defaults", flag.ContinueOnError)
	var d Config
	d.BindFlags(defaults)
	current := flag.NewFlagSet("current", flag.ContinueOnError)
	var cur Config
	cur.BindFlags(current)
	// The flag values point into cur: assigning c makes them read c.
	cur = c
	out := map[string]string{}
	current.VisitAll(func(f *flag.Flag) {
		v := f.Value.String()
		if v == defaults.Lookup(f.Name).Value.String() {
			return
		}
		switch f.Name {
		case "target-url":
			v = RedactURL(v)
		case "H":
			v = redactHeaders(c.Headers)
		}
		out[f.Name] = v
	})
	return out
}

// RedactURL hides the password of a URL, for logs and printing; anything
// that does not parse as a URL is returned as it is.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// redactHeaders lists -H values with credential values hidden.
func redactHeaders(hs []string) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		name, _, _ := strings.Cut(h, ":")
		out[i] = h
		for _, s := range sensitiveHeaders {
			if strings.EqualFold(strings.TrimSpace(name), s) {
				out[i] = strings.TrimSpace(name) + ": xxxxx"
			}
		}
	}
	return strings.Join(out, ", ")
}

// rateFlag names the flag behind a field of a manager.RangeError.
func rateFlag(field string) string {
	switch field {
	case "min":
		return "-min-rps"
	case "max":
		return "-max-rps"
	case "step":
		return "-step-rps"
	}
	return field
}

// flagError is a library error reworded to name the flag at fault; the
// library's error stays in the chain for errors.As.
type flagError struct {
	msg string
	err error
}

func (e *flagError) Error() string { return e.msg }
func (e *flagError) Unwrap() error { return e.err }

// rateFlagErrors rewords the *manager.RangeError values in err (one, or
// several joined) to name the rate flags, for example "-min-rps (60) is
// greater than -max-rps (50)". Other errors pass through.
func rateFlagErrors(err error) error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var re *manager.RangeError
		if errors.As(e, &re) {
			e = &flagError{msg: re.Format(rateFlag), err: e}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}
