// Command executor runs one imager executor: it connects to the
// orchestrator's gRPC control plane, fires the HTTP load of the jobs it is
// sent and reports back, and serves /metrics, /healthz and /readyz. It
// stops on SIGINT or SIGTERM, and with -exit-when-done also when the
// orchestrator says the test is over (exit status 0). It exits with
// status 1 when the orchestrator refuses it for good (its id is taken, its
// token is wrong, or it was disconnected for forged reports).
//
// Without -id the executor is $POD_NAME, else the hostname with a random
// suffix; its first log line names the id it uses (id=...).
//
// Usage:
//
//	executor [-orchestrator host:port] [-id name] [-workers n] [-max-inflight n]
//	         [-metrics-port port] [-auth-token-file path]
//	         [-log-format text|json] [-log-level debug|info|warn|error]
//	         [-tls-ca file] [-tls-cert file -tls-key file] [-tls-server-name name]
//	         [-exit-when-done]
//	executor -version
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc/codes"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/httpserve"
	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/version"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// errUsage marks errors in the command line; they exit with status 2.
var errUsage = errors.New("invalid command line")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, environment{getenv: os.Getenv, hostname: os.Hostname, suffix: randomSuffix})
	stop()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "executor: %v\n", err)
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	os.Exit(1)
}

// environment is what the flag defaults are taken from.
type environment struct {
	getenv   func(string) string
	hostname func() (string, error)
	// suffix returns the random part of a default id outside a pod.
	suffix func() string
}

// randomSuffix returns 6 random hex digits.
func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// options are the parsed command line.
type options struct {
	orchestrator  string
	id            string
	workers       int
	maxInFlight   int
	connections   int
	metricsPort   int
	authTokenFile string
	logFormat     string
	logLevel      string
	exitWhenDone  bool
	showVersion   bool
	tls           tlsOptions
}

// parseFlags parses and checks args. It returns flag.ErrHelp after
// printing the usage for -h.
func parseFlags(args []string, stderr io.Writer, env environment) (options, error) {
	var o options
	fs := flag.NewFlagSet("executor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.orchestrator, "orchestrator", "imager-orchestrator:8100",
		"gRPC address (host:port) of the orchestrator's control plane; while it is unreachable the executor retries after "+
			fmt.Sprintf("%v-%v, backing off to at most %v", executor.DefaultMinBackoff/2, executor.DefaultMinBackoff, executor.DefaultMaxBackoff)+" between tries (one warning, then debug-level lines)")
	fs.StringVar(&o.id, "id", "", "executor id sent to the orchestrator, unique among its executors "+
		"(default: $POD_NAME, else the hostname plus a random suffix, e.g. host-3f9a2c)")
	fs.IntVar(&o.workers, "workers", 4, "capacity of this executor: its relative share of the load (at least 1)")
	fs.IntVar(&o.maxInFlight, "max-inflight", 10000, "most requests of a job queued or in flight at once; requests due beyond it are dropped")
	fs.IntVar(&o.connections, "connections", 0, "connections to the target, shared by the running jobs "+
		"(0: each job starts with its rate × min(2 × the latency of the last jobs to the target + 1ms, 20ms), 4 to 256, and grows up to rate × 20ms while it runs behind with the target holding its connections; for http jobs the mean time the target took to answer, for https the p99 latency)")
	fs.IntVar(&o.metricsPort, "metrics-port", 9100, "TCP port serving /metrics, /healthz and /readyz")
	fs.StringVar(&o.authTokenFile, "auth-token-file", "", "file holding the shared control-plane token (empty: no token)")
	cli.BindLogFlags(fs, &o.logFormat, &o.logLevel)
	fs.StringVar(&o.tls.ca, "tls-ca", "", "PEM file of the certificate authorities that sign the orchestrator's certificate; "+
		"setting it turns on TLS for the control plane")
	fs.StringVar(&o.tls.cert, "tls-cert", "", "PEM client certificate presented to the orchestrator (with -tls-key; "+
		"turns on TLS, verified with the system roots unless -tls-ca is given)")
	fs.StringVar(&o.tls.key, "tls-key", "", "PEM key of -tls-cert")
	fs.StringVar(&o.tls.serverName, "tls-server-name", "", "name to verify in the orchestrator's certificate "+
		"(default: the host of -orchestrator)")
	fs.BoolVar(&o.exitWhenDone, "exit-when-done", false,
		"exit with status 0 when the orchestrator says the test is over, after reporting the jobs in flight "+
			"(for a Kubernetes Job); without it the executor waits for the next orchestrator")
	showVersion := cli.BindVersionFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.showVersion = *showVersion; o.showVersion {
		return o, nil
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	switch {
	case o.orchestrator == "":
		return o, fmt.Errorf("%w: -orchestrator is empty", errUsage)
	case o.workers < 1:
		return o, fmt.Errorf("%w: -workers is %d, want at least 1", errUsage, o.workers)
	case o.connections < 0:
		return o, fmt.Errorf("%w: -connections is %d, want 0 or more", errUsage, o.connections)
	case o.maxInFlight < 1:
		return o, fmt.Errorf("%w: -max-inflight is %d, want at least 1", errUsage, o.maxInFlight)
	case o.metricsPort < 1 || o.metricsPort > 65535:
		return o, fmt.Errorf("%w: -metrics-port is %d, want 1 to 65535", errUsage, o.metricsPort)
	}
	if err := cli.CheckLogFlags(o.logFormat, o.logLevel); err != nil {
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	if err := o.tls.check(); err != nil {
		return o, err
	}
	if o.id == "" {
		id, err := defaultID(env)
		if err != nil {
			return o, err
		}
		o.id = id
	}
	return o, nil
}

// defaultID is the executor id without -id: the pod name inside a pod,
// which Kubernetes keeps unique, else the hostname plus a random suffix,
// so that executors started on one machine do not collide.
func defaultID(env environment) (string, error) {
	if pod := env.getenv("POD_NAME"); pod != "" {
		return pod, nil
	}
	host, err := env.hostname()
	if err != nil || host == "" {
		return "", fmt.Errorf("%w: no -id given, $POD_NAME is unset and the hostname is unknown (%v)", errUsage, err)
	}
	return host + "-" + env.suffix(), nil
}

// newMetrics returns a registry with the runtime collectors and the
// executor's metrics registered on it.
func newMetrics() (*prometheus.Registry, *metrics.Executor, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, nil, fmt.Errorf("register runtime metrics: %w", err)
		}
	}
	m, err := metrics.NewExecutor(reg)
	if err != nil {
		return nil, nil, err
	}
	return reg, m, nil
}

// logStart writes the executor's first log line, which names the id it
// uses, and warns when the auth token would cross the network in
// plaintext.
func logStart(logger *slog.Logger, o options, token, tls bool) {
	addr := executor.RedactAddress(o.orchestrator)
	logger.Info("executor starting", "id", o.id, "version", version.String(), "orchestrator", addr,
		"workers", o.workers, "max_inflight", o.maxInFlight, "auth", token, "tls", tls,
		"exit_when_done", o.exitWhenDone)
	if token && !tls && !isLoopbackTarget(o.orchestrator) {
		logger.Warn("the auth token is sent to the orchestrator in plaintext: anyone on the network path can read it; "+
			"use -tls-ca (TLS on the orchestrator: -tls-cert/-tls-key) or keep the control plane on a trusted network",
			"orchestrator", addr)
	}
}

// run parses args and runs the executor and its metrics server until ctx
// ends or one of them fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env environment) error {
	o, err := parseFlags(args, stderr, env)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.showVersion {
		return version.Print(stdout)
	}
	logger, err := cli.NewLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}

	var token string
	if o.authTokenFile != "" {
		if token, err = imagerv1.ReadAuthTokenFile(o.authTokenFile); err != nil {
			return fmt.Errorf("-auth-token-file: %w", err)
		}
	}
	tlsConfig, err := o.tls.config()
	if err != nil {
		return err
	}
	reg, m, err := newMetrics()
	if err != nil {
		return err
	}
	exec, err := executor.New(executor.Config{
		Orchestrator: o.orchestrator,
		ID:           o.id,
		Capacity:     o.workers,
		MaxInFlight:  o.maxInFlight,
		Connections:  o.connections,
		AuthToken:    token,
		TLS:          tlsConfig,
		Version:      version.String(),
		Metrics:      m,
		Logger:       logger,
		ExitWhenDone: o.exitWhenDone,
	})
	if err != nil {
		return withFlag(err)
	}
	logStart(logger, o, token != "", tlsConfig != nil)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- withFlag(exec.Run(ctx)) }()
	go func() {
		addr := net.JoinHostPort("", strconv.Itoa(o.metricsPort))
		srv := &http.Server{
			Handler:  metrics.Handler(reg, exec.Connected),
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		}
		err := httpserve.ListenAndServe(ctx, addr, srv, func(a net.Addr) {
			logger.Info("metrics server listening", "addr", a.String())
		})
		if err != nil {
			err = fmt.Errorf("-metrics-port: %w", err)
		}
		done <- err
	}()
	// Whichever ends first (a signal ends both; the executor also ends on
	// its own with -exit-when-done) takes the other down.
	first := <-done
	cancel()
	second := <-done
	logger.Info("executor stopped")
	return errors.Join(first, second)
}

// flagOf returns the flag that sets an executor.Config field, or "".
func flagOf(field string) string {
	switch field {
	case "Orchestrator":
		return "-orchestrator"
	case "ID":
		return "-id"
	case "Capacity":
		return "-workers"
	case "MaxInFlight":
		return "-max-inflight"
	case "Connections":
		return "-connections"
	}
	return ""
}

// refusalFlag returns the flag that sets what the orchestrator refused
// the executor for, or "".
func refusalFlag(code codes.Code) string {
	switch code {
	case codes.AlreadyExists:
		return "-id"
	case codes.Unauthenticated:
		return "-auth-token-file"
	}
	return ""
}

// withFlag names the flag behind a field executor.New refused, or behind
// the orchestrator's refusal that ended executor.Run.
func withFlag(err error) error {
	var (
		ce *executor.ConfigError
		re *executor.RefusedError
	)
	f := ""
	switch {
	case errors.As(err, &ce):
		f = flagOf(ce.Field)
	case errors.As(err, &re):
		f = refusalFlag(re.Code)
	}
	if f != "" {
		return fmt.Errorf("%s: %w", f, err)
	}
	return err
}
