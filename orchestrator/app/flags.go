package app

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/PeladoCollado/imager/internal/k8s"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/script"
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

// flagErrors rewords the typed library errors in err (one, or several
// joined) to name the flags behind them, for example "-min-rps (60) is
// greater than -max-rps (50)" for a *manager.RangeError. Other errors, and
// nil, pass through unchanged.
func flagErrors(err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return withFlag(err)
	}
	errs := j.Unwrap()
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		out = append(out, withFlag(e))
	}
	return errors.Join(out...)
}

// withFlag rewords err when it is (or wraps) a library error that a flag
// stands behind, keeping err in the chain.
func withFlag(err error) error {
	if err == nil {
		return nil
	}
	if msg := flagMessage(err); msg != "" {
		return &flagError{msg: msg, err: err}
	}
	return err
}

// flagMessage is the message naming the flags for a typed library error
// in err's chain, or "" when there is none.
func flagMessage(err error) string {
	var (
		re *manager.RangeError
		we *manager.ExecutorWaitError
		mf *script.MissingFunctionError
		kc *k8s.ClientConfigError
		tc *k8s.ConfigError
	)
	switch {
	case errors.As(err, &re):
		return re.Format(rateFlag)
	case errors.As(err, &we):
		return fmt.Sprintf("-expect-executors=%d: only %d executor(s) joined within -executor-wait=%v", we.Want, we.Have, we.Wait)
	case errors.As(err, &mf):
		return missingFunctionMessage(mf)
	case errors.As(err, &kc):
		return kubeconfigMessage(kc)
	case errors.As(err, &tc):
		if f := targetFlag(tc.Field); f != "" {
			return f + " " + tc.Problem
		}
	}
	return ""
}

// targetFlag names the flag behind a k8s.Config field, or "".
func targetFlag(field string) string {
	switch field {
	case "Mode":
		return "-target-mode"
	case "Namespace":
		return "-target-namespace"
	case "Deployment":
		return "-target-deployment"
	case "Service":
		return "-target-service"
	case "PortName":
		return "-target-port-name"
	case "MetricsPollInterval":
		return "-metrics-poll-interval"
	}
	return ""
}

// missingFunctionMessage names the flag that asked for the Lua role the
// scenario lacks.
func missingFunctionMessage(e *script.MissingFunctionError) string {
	switch e.Function {
	case script.FuncRequest:
		return fmt.Sprintf("%s: -request-source-type=lua needs a %s function", e.Scenario, e.Function)
	case script.FuncRPS:
		return fmt.Sprintf("%s: -load-calculator=lua needs an %s function", e.Scenario, e.Function)
	}
	return ""
}

// kubeconfigMessage names the Kubernetes access flags behind a client
// configuration that could not be loaded.
func kubeconfigMessage(e *k8s.ClientConfigError) string {
	switch e.Source {
	case k8s.SourceKubeconfig:
		return fmt.Sprintf("-kubeconfig %s: %v", e.Path, e.Err)
	case k8s.SourceInCluster:
		if e.NotInPod() {
			return fmt.Sprintf("-in-cluster: not running in a Kubernetes pod (%v); outside the cluster pass -kubeconfig", e.Err)
		}
		return fmt.Sprintf("-in-cluster: %v", e.Err)
	case k8s.SourceDefault:
		return fmt.Sprintf("-in-cluster=false and no -kubeconfig: no usable kubeconfig from KUBECONFIG or ~/.kube/config (%v); pass -kubeconfig", e.Err)
	}
	return ""
}
