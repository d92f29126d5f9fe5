// Package app is the orchestrator's importable runtime: its configuration
// and flags, the factories that build request sources and load calculators,
// and Run, which wires them to the round scheduler, the control plane and
// the HTTP endpoints. A program outside this module can start the
// orchestrator with its own request source and calculator through
// RunOptions, falling back to the built-ins for everything else.
package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/results"
	"github.com/PeladoCollado/imager/script"
)

// Target modes.
const (
	TargetModePod     = "pod"
	TargetModeService = "service"
	TargetModeURL     = "url"
)

// Config holds one field per orchestrator flag.
type Config struct {
	// Request source.
	RequestSourceType string
	RequestSourceFile string
	RandomSumPath     string
	RandomSumMin      int
	RandomSumMax      int
	Seed              int64

	// Lua scenario.
	Scenario               string
	ScenarioOptions        string
	ScenarioReloadInterval time.Duration
	LuaCallTimeout         time.Duration
	LuaMemoryLimitMB       int
	LuaVMs                 int

	// Load calculator.
	LoadCalculator           string
	MinRPS                   int
	MaxRPS                   int
	StepRPS                  int
	AdaptiveMaxLatencyMillis int64

	// Target.
	TargetMode       string
	TargetNamespace  string
	TargetDeployment string
	TargetService    string
	TargetPortName   string
	TargetURL        string
	// ServiceHost replaces the Service's cluster DNS name in service mode.
	ServiceHost string

	// Kubernetes access.
	InCluster           bool
	Kubeconfig          string
	MetricsPollInterval time.Duration

	// Test shape.
	Duration       time.Duration
	RoundInterval  time.Duration
	RequestTimeout time.Duration

	// Serving and control plane.
	ListenPort    int
	GRPCPort      int
	AuthTokenFile string
	// HTTPBind and GRPCBind are the hosts (IP or name, no port) the HTTP
	// and gRPC servers listen on; "" means all interfaces for HTTP, and for
	// gRPC all interfaces when executors are authenticated (a token or
	// client certificates) or InsecureControlPlane is set, else 127.0.0.1.
	HTTPBind string
	GRPCBind string
	// InsecureControlPlane allows a control plane beyond loopback without
	// any authentication of executors (a warning at every start).
	InsecureControlPlane bool
	// TLSCert and TLSKey serve the control plane over TLS; TLSClientCA
	// makes executors present a client certificate signed by it.
	TLSCert     string
	TLSKey      string
	TLSClientCA string

	ExecutorTimeout time.Duration
	// ExpectExecutors is how many executors round 0 waits for (0: start
	// when the first joins), for at most ExecutorWait; ExecutorWaitFail
	// fails the run when fewer joined in that time instead of starting
	// with those present.
	ExpectExecutors  int
	ExecutorWait     time.Duration
	ExecutorWaitFail bool

	// Logging.
	LogFormat string
	LogLevel  string

	// Results.
	// Out is the results file written as the run goes; empty for none.
	Out string
	// Thresholds are the expressions that judge the run (see
	// docs/RESULTS.md); AbortOnFail ends the test at the first round that
	// fails a round: threshold.
	Thresholds  []string
	AbortOnFail bool
	// TerminationLog receives the compact summary when the run ends
	// (Kubernetes' terminationMessagePath); empty for none.
	TerminationLog string
	// ResultsLinger keeps the HTTP server up this long after the test
	// ends, serving the results file at /results; 0 exits at once.
	ResultsLinger time.Duration

	// Ad hoc requests: with no request file and no scenario, url mode
	// sends Method to the target URL's own path and query, with Headers
	// ("Name: value") and Body or the contents of BodyFile.
	Rate     int
	Method   string
	Headers  []string
	Body     string
	BodyFile string
	// methodSet records that -method was given (see methodFlag).
	methodSet bool

	// Response checks (docs/CHECKS.md) of every request without an
	// expect of its own: -expect-status (codes and ranges, comma-
	// separated), -expect-body-contains, -expect-body-regex, -expect-json
	// (PATH=VALUE) and -expect-header ('Name: value' or 'Name').
	ExpectStatus       string
	ExpectBodyContains []string
	ExpectBodyRegex    string
	ExpectJSON         []string
	ExpectHeaders      []string

	// TLS to https targets.
	InsecureSkipVerify bool
	CAFile             string
	ClientCert         string
	ClientKey          string

	// builtIns, set by Run and DryRun on the Config they hand to the
	// factories, is what the built-in factories share within that run:
	// its logger and its once-loaded scenario.
	builtIns *builtIns
}

// stringList is a repeatable string flag.
type stringList struct{ p *[]string }

func (l stringList) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ", ")
}

func (l stringList) Set(v string) error {
	*l.p = append(*l.p, v)
	return nil
}

// BindFlags registers every orchestrator flag on fs, with its default and
// help line, writing into c.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.RequestSourceType, "request-source-type", SourceAuto, "request source: file, random-sum, lua, url (ad hoc: -method to -target-url with -H and -body), auto (lua when -scenario defines request(), else file when -request-source-file is given or not in url mode, else url), or a name a custom factory knows")
	fs.StringVar(&c.RequestSourceFile, "request-source-file", "", "newline-delimited JSON RequestSpec records (file source); empty means "+DefaultRequestSourceFile+" in pod and service modes and ad hoc requests in url mode")
	fs.StringVar(&c.RandomSumPath, "random-sum-path", "/sum", "path of random-sum requests: GET <path>?a=X&b=Y")
	fs.IntVar(&c.RandomSumMin, "random-sum-min", 1, "smallest operand of random-sum requests")
	fs.IntVar(&c.RandomSumMax, "random-sum-max", 1000, "largest operand of random-sum requests")
	fs.Int64Var(&c.Seed, "seed", 0, "seed for random request sources; 0 picks one from the clock (logged)")

	fs.StringVar(&c.Scenario, "scenario", "", "Lua scenario file providing request() and/or rps(round) (see docs/LUA.md)")
	fs.StringVar(&c.ScenarioOptions, "scenario-options", "", "comma-separated key=value pairs handed to the scenario's setup(options)")
	fs.DurationVar(&c.ScenarioReloadInterval, "scenario-reload-interval", 2*time.Second, "how often the scenario file is checked for changes (a new version takes over at the next round); 0 disables reloading")
	fs.DurationVar(&c.LuaCallTimeout, "lua-call-timeout", time.Second, "time limit of each call into the scenario (request, rps, setup, observe, reset)")
	fs.IntVar(&c.LuaMemoryLimitMB, "lua-memory-limit-mb", 256, "memory a single call into the scenario may allocate, in MiB")
	fs.IntVar(&c.LuaVMs, "lua-vms", 1, "Lua VMs producing requests in parallel, each with its own state; more than 1 helps only with more than two cores (see docs/LUA.md)")

	fs.StringVar(&c.LoadCalculator, "load-calculator", CalculatorAuto, "load calculator: constant (-rate), step, exponential, logarithmic, adaptive-exponential, lua, auto (lua when -scenario defines rps(), else constant with -rate, else step), or a name a custom factory knows")
	fs.IntVar(&c.MinRPS, "min-rps", 5, "first (lowest) requests per second")
	fs.IntVar(&c.MaxRPS, "max-rps", 50, "highest requests per second")
	fs.IntVar(&c.StepRPS, "step-rps", 5, "increase per round of the step calculator")
	fs.Int64Var(&c.AdaptiveMaxLatencyMillis, "adaptive-max-latency-ms", 250, "adaptive-exponential: p99 limit in ms; 0 ramps until half of a round's requests time out")

	fs.StringVar(&c.TargetMode, "target-mode", TargetModePod, "what to load: pod (one pod of a Deployment), service (a Service), or url")
	fs.StringVar(&c.TargetNamespace, "target-namespace", "", "namespace of the target Deployment or Service (pod and service modes)")
	fs.StringVar(&c.TargetDeployment, "target-deployment", "", "Deployment whose pod is the target (pod mode)")
	fs.StringVar(&c.TargetService, "target-service", "", "Service to target (service mode)")
	fs.StringVar(&c.TargetPortName, "target-port-name", "http", "name of the container or Service port to send to (pod and service modes)")
	fs.StringVar(&c.TargetURL, "target-url", "", "absolute base URL to load, e.g. http://127.0.0.1:8080 (url mode); ad hoc requests (no -request-source-file or scenario request()) go to its own path and query")
	fs.StringVar(&c.ServiceHost, "service-host", "", "host executors send to in service mode instead of the Service's cluster DNS name <service>.<namespace>.svc, e.g. 127.0.0.1 with a port-forward when running outside the cluster")

	fs.BoolVar(&c.InCluster, "in-cluster", true, "use the pod's service account to reach the Kubernetes API (pod and service modes)")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig file for running outside the cluster (implies -in-cluster=false)")
	fs.DurationVar(&c.MetricsPollInterval, "metrics-poll-interval", 15*time.Second, "how often target pod CPU and memory are read from metrics.k8s.io")

	fs.DurationVar(&c.Duration, "duration", 0, "length of the test; 0 runs until stopped or until the load calculator ends it")
	fs.DurationVar(&c.RoundInterval, "round-interval", time.Second, "length of one round; each round runs at one rate")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", time.Minute, "per-request timeout: no response headers within it counts as a timeout")

	fs.IntVar(&c.ListenPort, "listen-port", 8099, "HTTP port for /metrics, /healthz and /readyz; 0 disables it")
	fs.IntVar(&c.GRPCPort, "grpc-port", 8100, "gRPC port executors connect to; 0 disables it")
	fs.StringVar(&c.AuthTokenFile, "auth-token-file", "", "file holding the shared control-plane token executors must present; without it (or -tls-client-ca) the control plane listens on 127.0.0.1 only")
	c.bindControlPlaneFlags(fs)
	fs.DurationVar(&c.ExecutorTimeout, "executor-timeout", 10*time.Second, "remove an executor that has sent nothing for this long")
	fs.IntVar(&c.ExpectExecutors, "expect-executors", 0, "executors round 0 waits for (at most -executor-wait); 0 starts the test when the first executor joins")
	fs.DurationVar(&c.ExecutorWait, "executor-wait", 2*time.Minute, "how long round 0 waits for -expect-executors executors; then the test starts with those present, or fails with -executor-wait-fail")
	fs.BoolVar(&c.ExecutorWaitFail, "executor-wait-fail", false, "fail the run when fewer than -expect-executors executors joined within -executor-wait, instead of starting with those present")

	cli.BindLogFlags(fs, &c.LogFormat, &c.LogLevel)

	fs.StringVar(&c.Out, "out", "", "results file: newline-delimited JSON written as the run goes (see docs/RESULTS.md)")
	fs.Var(stringList{&c.Thresholds}, "threshold", "pass/fail criterion judged on the whole run, e.g. 'p99 < 250ms' or 'error_rate <= 0.01'; 'round:' judges every round (repeatable; see docs/RESULTS.md). A failed threshold exits 99")
	fs.BoolVar(&c.AbortOnFail, "abort-on-fail", false, "end the test at the first round that fails a round: threshold, keeping what was measured")
	fs.StringVar(&c.TerminationLog, "termination-log", "", "file the verdict and a compact summary (at most 4096 bytes) are written to when the run ends, e.g. /dev/termination-log in Kubernetes; its directory must exist")
	fs.DurationVar(&c.ResultsLinger, "results-linger", 0, "after the test ends, keep the HTTP server of -listen-port up this long, serving the -out file at /results, then exit; a signal ends it early")

	fs.IntVar(&c.Rate, "rate", 0, "constant rate in requests per second (the constant load calculator); 0 leaves the calculator to -load-calculator")
	c.Method = "GET"
	fs.Var(methodFlag{c}, "method", "method of ad hoc requests: with no -request-source-file and no scenario, url mode sends it to the target URL's own path and query")
	fs.Var(stringList{&c.Headers}, "H", "header of ad hoc requests, 'Name: value' (repeatable)")
	fs.StringVar(&c.Body, "body", "", "body of ad hoc requests")
	fs.StringVar(&c.BodyFile, "body-file", "", "file whose contents are the body of ad hoc requests")
	c.bindExpectFlags(fs)

	fs.BoolVar(&c.InsecureSkipVerify, "insecure-skip-verify", false, "https targets: accept any certificate (no verification of chain or host name)")
	fs.StringVar(&c.CAFile, "ca-file", "", "https targets: PEM file of the certificate authorities to trust instead of the system roots")
	fs.StringVar(&c.ClientCert, "client-cert", "", "https targets: PEM client certificate to present (with -client-key)")
	fs.StringVar(&c.ClientKey, "client-key", "", "https targets: PEM key of -client-cert")
}

// ParseConfig parses orchestrator flags from args and validates them. -h
// prints every flag with its help line and returns flag.ErrHelp.
func ParseConfig(args []string) (Config, error) {
	return parse("orchestrator", args, os.Stderr)
}

func parse(name string, args []string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	c.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	return c, c.Validate()
}

// Validate checks the flags that do not depend on which request source or
// calculator is used; those are checked by their factories. All problems
// are reported at once, each naming its flag.
func (c Config) Validate() error {
	errs := c.targetProblems()
	errs = append(errs, c.timingProblems()...)
	errs = append(errs, c.portProblems()...)
	errs = append(errs, c.scenarioProblems()...)
	if err := cli.CheckLogFlags(c.LogFormat, c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if _, err := results.ParseThresholds(c.Thresholds); err != nil {
		errs = append(errs, fmt.Errorf("-threshold: %v", err))
	}
	errs = append(errs, c.outputProblems()...)
	errs = append(errs, c.rateProblems()...)
	errs = append(errs, c.adHocProblems()...)
	_, expectErrs := c.expectFlags()
	errs = append(errs, expectErrs...)
	errs = append(errs, c.tlsProblems()...)
	errs = append(errs, c.controlPlaneProblems()...)
	return errors.Join(errs...)
}

// targetProblems checks -target-mode and the flags it needs.
func (c Config) targetProblems() []error {
	var err error
	switch c.TargetMode {
	case TargetModePod:
		if c.TargetNamespace == "" || c.TargetDeployment == "" {
			err = errors.New("-target-mode=pod needs -target-namespace and -target-deployment")
		}
	case TargetModeService:
		if c.TargetNamespace == "" || c.TargetService == "" {
			err = errors.New("-target-mode=service needs -target-namespace and -target-service")
		}
	case TargetModeURL:
		if uerr := checkTargetURL(c.TargetURL, c.mayUseAdHoc()); uerr != nil {
			err = fmt.Errorf("-target-url: %v", uerr)
		}
	default:
		err = fmt.Errorf("-target-mode %q: want pod, service or url", c.TargetMode)
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// timingProblems checks the durations of the test, its rounds and
// requests, and of the executors' and the target's supervision.
func (c Config) timingProblems() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.RoundInterval < 10*time.Millisecond {
		bad("-round-interval (%v) must be at least 10ms", c.RoundInterval)
	}
	if c.RequestTimeout <= 0 {
		bad("-request-timeout (%v) must be positive", c.RequestTimeout)
	}
	if c.Duration < 0 {
		bad("-duration (%v) must not be negative", c.Duration)
	}
	if c.ExecutorTimeout <= 0 {
		bad("-executor-timeout (%v) must be positive", c.ExecutorTimeout)
	}
	if c.ExpectExecutors < 0 {
		bad("-expect-executors (%d) must not be negative", c.ExpectExecutors)
	}
	if c.ExecutorWait <= 0 {
		bad("-executor-wait (%v) must be positive", c.ExecutorWait)
	}
	if c.MetricsPollInterval <= 0 {
		bad("-metrics-poll-interval (%v) must be positive", c.MetricsPollInterval)
	}
	return errs
}

// portProblems checks -listen-port and -grpc-port.
func (c Config) portProblems() []error {
	var errs []error
	for _, p := range []struct {
		name string
		v    int
	}{{"-listen-port", c.ListenPort}, {"-grpc-port", c.GRPCPort}} {
		if p.v < 0 || p.v > 65535 {
			errs = append(errs, fmt.Errorf("%s (%d) must be between 0 and 65535", p.name, p.v))
		}
	}
	if c.ListenPort != 0 && c.ListenPort == c.GRPCPort {
		errs = append(errs, fmt.Errorf("-listen-port and -grpc-port are both %d", c.ListenPort))
	}
	return errs
}

// ScenarioOptionMap parses -scenario-options: comma-separated key=value
// pairs (see script.ParseOptions).
func (c Config) ScenarioOptionMap() (map[string]string, error) {
	return script.ParseOptions(c.ScenarioOptions)
}

// checkTargetURL accepts an absolute http or https URL without a
// fragment, and without a query unless the ad hoc source may send to it.
func checkTargetURL(raw string, adHoc bool) error {
	if raw == "" {
		return errors.New("required in url mode (an absolute URL such as http://127.0.0.1:8080)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// A url.Error quotes the URL whole, password included.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a valid URL: %w", err)
	}
	shown := RedactURL(raw)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", shown)
	}
	if strings.Contains(raw, "#") {
		return fmt.Errorf("%q: a fragment is never sent; drop it", shown)
	}
	if !adHoc && (u.RawQuery != "" || u.ForceQuery) {
		return fmt.Errorf("%q: a base URL takes no query (requests carry their own; only ad hoc requests take the query of -target-url)", shown)
	}
	return nil
}
