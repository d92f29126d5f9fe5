package app

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/PeladoCollado/imager/internal/requests"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/script"
	"github.com/PeladoCollado/imager/types"
)

// DefaultRequestSourceFile is the file source's request file when
// -request-source-file is not given: where the Kubernetes manifests mount
// the request ConfigMap.
const DefaultRequestSourceFile = "/config/requests.json"

// methodFlag is -method. It records that the flag was given, so that a
// -method the request source would ignore is reported even when it names
// the default.
type methodFlag struct{ c *Config }

func (f methodFlag) String() string {
	if f.c == nil {
		return ""
	}
	return f.c.Method
}

func (f methodFlag) Set(v string) error {
	f.c.Method, f.c.methodSet = v, true
	return nil
}

// requestFile is the file the file source reads: -request-source-file, or
// DefaultRequestSourceFile when it is not given.
func (c Config) requestFile() string {
	if c.RequestSourceFile != "" {
		return c.RequestSourceFile
	}
	return DefaultRequestSourceFile
}

// mayUseAdHoc reports whether the flags leave the requests to the ad hoc
// source: url mode, no -request-source-file, and -request-source-type url,
// or auto (where a scenario defining request() still takes over, which
// only loading it can tell).
func (c Config) mayUseAdHoc() bool {
	return c.TargetMode == TargetModeURL && c.RequestSourceFile == "" &&
		(c.RequestSourceType == SourceURL || c.RequestSourceType == SourceAuto)
}

// adHocFlags names the ad hoc request flags that were given.
func (c Config) adHocFlags() []string {
	var given []string
	if c.methodSet || (c.Method != "" && c.Method != "GET") {
		given = append(given, "-method")
	}
	if len(c.Headers) > 0 {
		given = append(given, "-H")
	}
	if c.Body != "" {
		given = append(given, "-body")
	}
	if c.BodyFile != "" {
		given = append(given, "-body-file")
	}
	return given
}

// adHocProblems checks the ad hoc request flags, and that they are used
// when given, as far as that can be told without loading a scenario.
func (c Config) adHocProblems() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case c.methodSet && c.Method == "":
		bad("-method is empty (want an HTTP method such as GET)")
	case c.Method != "":
		if err := requests.CheckMethod(c.Method); err != nil {
			bad("-method: %v", err)
		}
	}
	for _, h := range c.Headers {
		if _, _, err := requests.ParseHeader(h); err != nil {
			bad("-H: %v", err)
		}
	}
	if c.Body != "" && c.BodyFile != "" {
		bad("-body and -body-file both give the body: give one")
	}
	if c.BodyFile != "" {
		if err := checkReadable(c.BodyFile); err != nil {
			bad("-body-file: %v", err)
		}
	}
	if c.RequestSourceType == SourceURL {
		if c.TargetMode != TargetModeURL {
			bad("-request-source-type=url needs -target-mode=url (it sends to -target-url)")
		}
		if c.RequestSourceFile != "" {
			bad("-request-source-file %s is not used with -request-source-type=url", c.RequestSourceFile)
		}
	}
	if given := c.adHocFlags(); len(given) > 0 && !c.mayUseAdHoc() && c.RequestSourceType != SourceURL {
		bad("%s given, but the requests come from %s: they would be ignored (ad hoc requests need -target-mode=url and no -request-source-file)",
			strings.Join(given, ", "), c.staticSourceName())
	}
	return errs
}

// staticSourceName names what supplies the requests when the flags alone
// rule out the ad hoc source.
func (c Config) staticSourceName() string {
	switch {
	case c.RequestSourceFile != "":
		return "-request-source-file " + c.RequestSourceFile
	case c.RequestSourceType != SourceAuto && c.RequestSourceType != SourceURL:
		return "-request-source-type=" + c.RequestSourceType
	default:
		return fmt.Sprintf("the file source (%s mode reads -request-source-file, default %s)", c.TargetMode, DefaultRequestSourceFile)
	}
}

// rateProblems checks -rate against -load-calculator.
func (c Config) rateProblems() []error {
	var errs []error
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("-rate (%d) must not be negative", c.Rate))
	}
	if c.Rate > 0 && c.LoadCalculator != CalculatorAuto && c.LoadCalculator != CalculatorConstant {
		errs = append(errs, fmt.Errorf("-rate %d and -load-calculator=%s conflict: -rate runs the %s load calculator (leave -load-calculator at %s, or drop -rate)",
			c.Rate, c.LoadCalculator, CalculatorConstant, CalculatorAuto))
	}
	return errs
}

// checkReadable reports whether path is a regular file this process can
// open.
func checkReadable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	return nil
}

// newAdHocSource builds the ad hoc source from -target-url, -method, -H
// and -body or the contents of -body-file.
func newAdHocSource(cfg Config) (*requests.AdHocSource, error) {
	if cfg.TargetMode != TargetModeURL {
		return nil, fmt.Errorf("-request-source-type=%s needs -target-mode=url (it sends to -target-url)", SourceURL)
	}
	body := cfg.Body
	if cfg.BodyFile != "" {
		if cfg.Body != "" {
			return nil, fmt.Errorf("-body and -body-file both give the body: give one")
		}
		b, err := readBodyFile(cfg.BodyFile)
		if err != nil {
			return nil, err
		}
		body = string(b)
	}
	src, err := requests.NewAdHocSource(requests.AdHocRequest{URL: cfg.TargetURL, Method: cfg.Method, Headers: cfg.Headers, Body: body})
	if err != nil {
		return nil, fmt.Errorf("-target-url, -method, -H: %w", err)
	}
	return src, nil
}

// readBodyFile reads -body-file, refusing one larger than a request may
// be before reading it.
func readBodyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-body-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, tally.MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("-body-file: %w", err)
	}
	if len(b) > tally.MaxRequestBytes {
		return nil, fmt.Errorf("-body-file %s: larger than the limit of %d bytes for one request", path, tally.MaxRequestBytes)
	}
	return b, nil
}

// sourceTarget returns the base URL function for the jobs of src. The ad
// hoc source's requests carry the target URL's path and query, so its jobs
// go to the URL's scheme, host and port. Any other source's requests carry
// their own path and query: there the ad hoc flags would be ignored and a
// query in -target-url could not be joined, so both are refused.
func sourceTarget(cfg Config, src types.RequestSource, target func() (string, error)) (func() (string, error), error) {
	if a, ok := src.(*requests.AdHocSource); ok {
		base := a.Base()
		return func() (string, error) { return base, nil }, nil
	}
	name := sourceName(cfg, src)
	if given := cfg.adHocFlags(); len(given) > 0 {
		return nil, fmt.Errorf("%s given, but the requests come from %s: they would be ignored", strings.Join(given, ", "), name)
	}
	if cfg.TargetMode == TargetModeURL && strings.ContainsAny(cfg.TargetURL, "?#") {
		return nil, fmt.Errorf("-target-url %q: a base URL takes no query or fragment: the requests from %s carry their own (only ad hoc requests take the path and query of -target-url)",
			cfg.TargetURL, name)
	}
	return target, nil
}

// sourceName names the request source src for error messages.
func sourceName(cfg Config, src types.RequestSource) string {
	switch src.(type) {
	case *script.ReloadableSource:
		return "request() of -scenario " + cfg.Scenario
	case *requests.FileSource:
		return "-request-source-file " + cfg.requestFile()
	default:
		return "-request-source-type=" + cfg.RequestSourceType
	}
}
