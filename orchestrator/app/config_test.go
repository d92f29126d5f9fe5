package app

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// podArgs are the least flags the default pod mode validates with.
var podArgs = []string{"-target-namespace=ns", "-target-deployment=web"}

func TestParseConfigDefaults(t *testing.T) {
	got, err := parse("orchestrator", podArgs, io.Discard)
	if err != nil {
		t.Fatalf("parse(%q) = %v, want nil", podArgs, err)
	}
	want := Config{
		RequestSourceType:        SourceAuto,
		RandomSumPath:            "/sum",
		RandomSumMin:             1,
		RandomSumMax:             1000,
		LoadCalculator:           CalculatorAuto,
		ScenarioReloadInterval:   2 * time.Second,
		LuaCallTimeout:           time.Second,
		LuaMemoryLimitMB:         256,
		LuaVMs:                   1,
		MinRPS:                   5,
		MaxRPS:                   50,
		StepRPS:                  5,
		AdaptiveMaxLatencyMillis: 250,
		TargetMode:               TargetModePod,
		TargetNamespace:          "ns",
		TargetDeployment:         "web",
		TargetPortName:           "http",
		InCluster:                true,
		MetricsPollInterval:      15 * time.Second,
		RoundInterval:            time.Second,
		RequestTimeout:           time.Minute,
		ListenPort:               8099,
		GRPCPort:                 8100,
		ExecutorTimeout:          10 * time.Second,
		ExecutorWait:             2 * time.Minute,
		LogFormat:                "text",
		LogLevel:                 "info",
		Method:                   "GET",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parse(%q) =\n%+v\nwant\n%+v", podArgs, got, want)
	}
}

func TestSeedFlagsExistWithHelp(t *testing.T) {
	seedFlags := []string{
		"request-source-type", "request-source-file",
		"random-sum-path", "random-sum-min", "random-sum-max",
		"load-calculator", "min-rps", "max-rps", "step-rps", "adaptive-max-latency-ms",
		"target-mode", "target-namespace", "target-deployment", "target-service", "target-port-name", "target-url",
		"listen-port", "in-cluster", "kubeconfig", "metrics-poll-interval", "auth-token-file",
		"duration", "request-timeout",
	}
	var c Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.BindFlags(fs)
	for _, name := range seedFlags {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("flag -%s is not defined", name)
			continue
		}
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("flag -%s has an empty help line", name)
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("flag -%s has an empty help line", f.Name)
		}
	})

	var out bytes.Buffer
	if _, err := parse("orchestrator", []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parse(-h) = %v, want flag.ErrHelp", err)
	}
	for _, name := range seedFlags {
		if !strings.Contains(out.String(), "-"+name+" ") && !strings.Contains(out.String(), "-"+name+"\n") {
			t.Errorf("-h output does not list -%s", name)
		}
	}
}

func TestParseConfigHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		if _, err := ParseConfig([]string{arg}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("ParseConfig(%q) = %v, want flag.ErrHelp", arg, err)
		}
	}
}

func TestFlagsSetTheirFields(t *testing.T) {
	tests := []struct {
		arg  string
		get  func(Config) any
		want any
	}{
		{"-request-source-type=random-sum", func(c Config) any { return c.RequestSourceType }, "random-sum"},
		{"-request-source-file=/tmp/r.json", func(c Config) any { return c.RequestSourceFile }, "/tmp/r.json"},
		{"-random-sum-path=/add", func(c Config) any { return c.RandomSumPath }, "/add"},
		{"-random-sum-min=3", func(c Config) any { return c.RandomSumMin }, 3},
		{"-random-sum-max=9", func(c Config) any { return c.RandomSumMax }, 9},
		{"-seed=42", func(c Config) any { return c.Seed }, int64(42)},
		{"-load-calculator=exponential", func(c Config) any { return c.LoadCalculator }, "exponential"},
		{"-min-rps=10", func(c Config) any { return c.MinRPS }, 10},
		{"-max-rps=500", func(c Config) any { return c.MaxRPS }, 500},
		{"-step-rps=7", func(c Config) any { return c.StepRPS }, 7},
		{"-adaptive-max-latency-ms=0", func(c Config) any { return c.AdaptiveMaxLatencyMillis }, int64(0)},
		{"-target-mode=service", func(c Config) any { return c.TargetMode }, "service"},
		{"-target-namespace=imager", func(c Config) any { return c.TargetNamespace }, "imager"},
		{"-target-deployment=api", func(c Config) any { return c.TargetDeployment }, "api"},
		{"-target-service=api-svc", func(c Config) any { return c.TargetService }, "api-svc"},
		{"-target-port-name=web", func(c Config) any { return c.TargetPortName }, "web"},
		{"-target-url=http://127.0.0.1:9", func(c Config) any { return c.TargetURL }, "http://127.0.0.1:9"},
		{"-listen-port=9100", func(c Config) any { return c.ListenPort }, 9100},
		{"-grpc-port=9200", func(c Config) any { return c.GRPCPort }, 9200},
		{"-in-cluster=false", func(c Config) any { return c.InCluster }, false},
		{"-kubeconfig=/home/k", func(c Config) any { return c.Kubeconfig }, "/home/k"},
		{"-metrics-poll-interval=30s", func(c Config) any { return c.MetricsPollInterval }, 30 * time.Second},
		{"-auth-token-file=/etc/tok", func(c Config) any { return c.AuthTokenFile }, "/etc/tok"},
		{"-duration=2m", func(c Config) any { return c.Duration }, 2 * time.Minute},
		{"-round-interval=500ms", func(c Config) any { return c.RoundInterval }, 500 * time.Millisecond},
		{"-request-timeout=3s", func(c Config) any { return c.RequestTimeout }, 3 * time.Second},
		{"-executor-timeout=20s", func(c Config) any { return c.ExecutorTimeout }, 20 * time.Second},
		{"-expect-executors=3", func(c Config) any { return c.ExpectExecutors }, 3},
		{"-executor-wait=30s", func(c Config) any { return c.ExecutorWait }, 30 * time.Second},
		{"-executor-wait-fail", func(c Config) any { return c.ExecutorWaitFail }, true},
		{"-log-format=json", func(c Config) any { return c.LogFormat }, "json"},
		{"-log-level=debug", func(c Config) any { return c.LogLevel }, "debug"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.BindFlags(fs)
			if err := fs.Parse([]string{tt.arg}); err != nil {
				t.Fatalf("Parse(%q): %v", tt.arg, err)
			}
			if got := tt.get(c); got != tt.want {
				t.Errorf("after %s the field is %v (%T), want %v (%T)", tt.arg, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestParseConfigValid(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"pod mode", podArgs},
		{"service mode", []string{"-target-mode=service", "-target-namespace=ns", "-target-service=api"}},
		{"url mode", []string{"-target-mode=url", "-target-url=http://127.0.0.1:8080"}},
		{"url mode https with path", []string{"-target-mode=url", "-target-url=https://api.example.com/v1"}},
		{"both ports disabled", append([]string{"-listen-port=0", "-grpc-port=0"}, podArgs...)},
		{"json log, warn level", append([]string{"-log-format=json", "-log-level=WARN"}, podArgs...)},
		{"zero duration", append([]string{"-duration=0"}, podArgs...)},
		{"expect executors", append([]string{"-expect-executors=3", "-executor-wait=10s", "-executor-wait-fail"}, podArgs...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parse("orchestrator", tt.args, io.Discard); err != nil {
				t.Errorf("parse(%q) = %v, want nil", tt.args, err)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	url := func(u string) []string { return []string{"-target-mode=url", "-target-url=" + u} }
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"defaults need a pod target", nil, []string{"-target-namespace", "-target-deployment"}},
		{"pod mode without deployment", []string{"-target-namespace=ns"}, []string{"-target-deployment"}},
		{"pod mode without namespace", []string{"-target-deployment=web"}, []string{"-target-namespace"}},
		{"service mode without service", []string{"-target-mode=service", "-target-namespace=ns"}, []string{"-target-service"}},
		{"url mode without url", []string{"-target-mode=url"}, []string{"-target-url"}},
		{"url mode with relative url", url("/api"), []string{"-target-url", "/api"}},
		{"url mode with host-less url", url("http://"), []string{"-target-url"}},
		{"url mode with ftp url", url("ftp://127.0.0.1"), []string{"-target-url"}},
		{"url mode with query and a request source", append(url("http://127.0.0.1/?a=1"), "-request-source-type=random-sum"), []string{"-target-url", "query"}},
		{"url mode with query and a request file", append(url("http://127.0.0.1/?a=1"), "-request-source-file=r.json"), []string{"-target-url", "query"}},
		{"url mode with fragment", url("http://127.0.0.1/#top"), []string{"-target-url", "fragment"}},
		{"unknown target mode", []string{"-target-mode=node"}, []string{"-target-mode", "node"}},
		{"bad log format", append([]string{"-log-format=xml"}, podArgs...), []string{"-log-format", "xml"}},
		{"bad log level", append([]string{"-log-level=loud"}, podArgs...), []string{"-log-level", "loud"}},
		{"ports clash", append([]string{"-listen-port=9000", "-grpc-port=9000"}, podArgs...), []string{"-listen-port", "-grpc-port", "9000"}},
		{"port out of range", append([]string{"-listen-port=70000"}, podArgs...), []string{"-listen-port", "70000"}},
		{"negative grpc port", append([]string{"-grpc-port=-1"}, podArgs...), []string{"-grpc-port"}},
		{"negative duration", append([]string{"-duration=-1s"}, podArgs...), []string{"-duration"}},
		{"tiny round interval", append([]string{"-round-interval=1ms"}, podArgs...), []string{"-round-interval"}},
		{"zero request timeout", append([]string{"-request-timeout=0"}, podArgs...), []string{"-request-timeout"}},
		{"zero executor timeout", append([]string{"-executor-timeout=0"}, podArgs...), []string{"-executor-timeout"}},
		{"negative expect executors", append([]string{"-expect-executors=-1"}, podArgs...), []string{"-expect-executors", "-1"}},
		{"zero executor wait", append([]string{"-executor-wait=0"}, podArgs...), []string{"-executor-wait", "positive"}},
		{"negative executor wait", append([]string{"-executor-wait=-1s"}, podArgs...), []string{"-executor-wait", "-1s"}},
		{"executor wait problems at once", append([]string{"-expect-executors=-2", "-executor-wait=0"}, podArgs...), []string{"-expect-executors", "-executor-wait"}},
		{"zero metrics poll interval", append([]string{"-metrics-poll-interval=0"}, podArgs...), []string{"-metrics-poll-interval"}},
		{"all problems at once", append([]string{"-log-format=xml", "-duration=-1s"}, podArgs...), []string{"-log-format", "-duration"}},
		{"malformed number", append([]string{"-min-rps=many"}, podArgs...), []string{"-min-rps"}},
		{"unknown flag", []string{"-no-such-flag"}, []string{"no-such-flag"}},
		{"positional argument", append(append([]string{}, podArgs...), "extra"), []string{"extra"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse("orchestrator", tt.args, io.Discard)
			if err == nil {
				t.Fatalf("parse(%q) = nil, want an error containing %q", tt.args, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("parse(%q) = %q, want it to contain %q", tt.args, err, w)
				}
			}
		})
	}
}
