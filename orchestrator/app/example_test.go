package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// orderDB stands in for a program's own database: the orders a load test
// asks for.
type orderDB struct {
	orderIDs []int
}

// dbSource is a custom request source backed by the database: one GET of
// each order in turn, starting over after the last.
type dbSource struct {
	db  *orderDB
	pos int
}

var _ types.RequestSource = (*dbSource)(nil)

// newDBSource returns a source that starts at the first order of db.
func newDBSource(db *orderDB) *dbSource { return &dbSource{db: db} }

// Next returns the request for the next order.
func (s *dbSource) Next() (types.RequestSpec, error) {
	id := s.db.orderIDs[s.pos%len(s.db.orderIDs)]
	s.pos++
	return types.RequestSpec{Method: http.MethodGet, Path: "/orders/" + strconv.Itoa(id)}, nil
}

// Reset starts again from the first order.
func (s *dbSource) Reset() error {
	s.pos = 0
	return nil
}

// sawtoothTeeth is how many teeth newSawtooth's calculator runs before it
// ends the test.
const sawtoothTeeth = 2

// sawtooth is a custom load calculator: min, halfway, max, then from min
// again, for a fixed number of teeth, after which Next returns -1 to end
// the test. Ending the test itself, rather than by -duration, keeps the
// requests a run sends fixed: a round skipped because the process was
// starved of CPU does not ask the calculator for its rate.
type sawtooth struct {
	min, max, teeth, round int
}

var _ manager.LoadCalculator = (*sawtooth)(nil)

// newSawtooth returns a sawtooth from min to max of sawtoothTeeth teeth.
func newSawtooth(min, max int) *sawtooth {
	return &sawtooth{min: min, max: max, teeth: sawtoothTeeth}
}

// Next returns the rate of the next round, or -1 after the last tooth.
func (s *sawtooth) Next() int {
	if s.round >= 3*s.teeth {
		return -1
	}
	tooth := s.round % 3
	s.round++
	return s.min + (s.max-s.min)*tooth/2
}

// ordersTarget is an HTTP target that counts the requests it serves by
// method and path.
type ordersTarget struct {
	mu   sync.Mutex
	hits map[string]int
}

// ServeHTTP counts the request and answers 200 OK.
func (t *ordersTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	t.hits[r.Method+" "+r.URL.Path]++
	t.mu.Unlock()
	_, _ = w.Write([]byte("ok\n"))
}

// print writes the total and the count of every method and path, sorted.
func (t *ordersTarget) print() {
	t.mu.Lock()
	defer t.mu.Unlock()
	total := 0
	for _, n := range t.hits {
		total += n
	}
	fmt.Println("target served", total, "requests")
	for _, k := range slices.Sorted(maps.Keys(t.hits)) {
		fmt.Printf("%s: %d\n", k, t.hits[k])
	}
}

// Run starts the orchestrator with a request source and a load calculator
// of the program's own, leaving every other name to the built-ins: the
// snippet of README.md's "Using imager as a library", which a test keeps
// identical to the lines from ParseConfig to the end of Run here.
//
// The flags pick the custom names. Rounds of 100ms at the sawtooth's 10, 20
// and 30 requests per second plan 1, 2 and 3 requests, two teeth of them,
// which one executor inside this process sends to a test server on
// 127.0.0.1 (-listen-port=0 and -grpc-port=0 open no ports of the
// orchestrator's own).
func ExampleRun() {
	target := &ordersTarget{hits: map[string]int{}}
	server := httptest.NewServer(target)
	defer server.Close()
	db := &orderDB{orderIDs: []int{101, 102, 103}}
	logger := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{
		"-target-mode=url", "-target-url=" + server.URL,
		"-request-source-type=db", "-load-calculator=sawtooth", "-min-rps=10", "-max-rps=30",
		"-round-interval=100ms", "-listen-port=0", "-grpc-port=0",
	}

	cfg, err := app.ParseConfig(args)
	if err != nil {
		fmt.Println("parse config:", err)
		return
	}
	err = app.Run(ctx, cfg, app.RunOptions{
		RequestSourceFactory: app.RequestSourceFactoryFunc(func(cfg app.Config) (types.RequestSource, error) {
			if cfg.RequestSourceType == "db" {
				return newDBSource(db), nil
			}
			return app.NewBuiltInRequestSource(cfg)
		}),
		LoadCalculatorFactory: app.LoadCalculatorFactoryFunc(func(cfg app.Config) (manager.LoadCalculator, error) {
			if cfg.LoadCalculator == "sawtooth" {
				return newSawtooth(cfg.MinRPS, cfg.MaxRPS), nil
			}
			return app.NewBuiltInLoadCalculator(cfg)
		}),
		LocalExecutors: 1,      // 0: only executors that connect over gRPC
		Logger:         logger, // nil: slog.Default()
	})
	if err != nil {
		fmt.Println("run:", err)
		return
	}

	target.print()
	// Output:
	// target served 12 requests
	// GET /orders/101: 4
	// GET /orders/102: 4
	// GET /orders/103: 4
}

// ParseConfig turns orchestrator flags into a Config, one field per flag,
// and checks them; a flag left out keeps its default.
func ExampleParseConfig() {
	cfg, err := app.ParseConfig([]string{
		"-target-mode=url", "-target-url=http://127.0.0.1:8080",
		"-load-calculator=step", "-min-rps=10", "-max-rps=100", "-step-rps=30",
		"-round-interval=2s", "-duration=1m", "-seed=42",
		"-threshold=p99 < 250ms", "-threshold=error_rate <= 0.01",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("target:", cfg.TargetMode, cfg.TargetURL)
	fmt.Println("calculator:", cfg.LoadCalculator, cfg.MinRPS, cfg.MaxRPS, cfg.StepRPS)
	fmt.Println("rounds:", cfg.RoundInterval, "for", cfg.Duration)
	fmt.Println("source:", cfg.RequestSourceType, "seed", cfg.Seed)
	fmt.Printf("thresholds: %q\n", cfg.Thresholds)
	fmt.Println("defaults:", cfg.RequestTimeout, cfg.ListenPort, cfg.GRPCPort)

	_, err = app.ParseConfig([]string{"-target-mode=url", "-round-interval=1ms"})
	fmt.Println(err)
	// Output:
	// target: url http://127.0.0.1:8080
	// calculator: step 10 100 30
	// rounds: 2s for 1m0s
	// source: auto seed 42
	// thresholds: ["p99 < 250ms" "error_rate <= 0.01"]
	// defaults: 1m0s 8099 8100
	// -target-url: required in url mode (an absolute URL such as http://127.0.0.1:8080)
	// -round-interval (1ms) must be at least 10ms
}

// NewBuiltInLoadCalculator builds the calculator -load-calculator names;
// a custom factory falls back to it for the names it does not handle.
func ExampleNewBuiltInLoadCalculator() {
	for _, flags := range [][]string{
		{"-load-calculator=exponential", "-min-rps=5", "-max-rps=60"},
		{"-load-calculator=step", "-min-rps=10", "-max-rps=40", "-step-rps=15"},
		{"-rate=25"},
	} {
		cfg, err := app.ParseConfig(append([]string{"-target-mode=url", "-target-url=http://127.0.0.1:8080"}, flags...))
		if err != nil {
			fmt.Println(err)
			return
		}
		calc, err := app.NewBuiltInLoadCalculator(cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		var rates []int
		for range 5 {
			rates = append(rates, calc.Next())
		}
		fmt.Println(strings.Join(flags, " "), rates)
	}
	// Output:
	// -load-calculator=exponential -min-rps=5 -max-rps=60 [5 10 20 40 60]
	// -load-calculator=step -min-rps=10 -max-rps=40 -step-rps=15 [10 25 40 40 40]
	// -rate=25 [25 25 25 25 25]
}

// NewBuiltInRequestSource builds the source -request-source-type names.
// random-sum asks the demo sumservice for sums of random operands; a fixed
// -seed makes the sequence repeat exactly.
func ExampleNewBuiltInRequestSource() {
	cfg, err := app.ParseConfig([]string{
		"-target-mode=url", "-target-url=http://127.0.0.1:8080",
		"-request-source-type=random-sum", "-random-sum-max=100", "-seed=7",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := app.NewBuiltInRequestSource(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		spec, err := src.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(spec.Method, spec.Path+"?"+spec.QueryString)
	}
	// Output:
	// GET /sum?a=49&b=1
	// GET /sum?a=56&b=29
	// GET /sum?a=83&b=78
}
