package app_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

func TestFileRequestSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "requests.json")
	content := `{"method":"GET","path":"/a"}

{"method":"post","path":"/b","queryString":"x=1","headers":{"X-Run":["1"]},"body":"hi"}
`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := app.NewBuiltInRequestSource(app.Config{RequestSourceType: app.SourceFile, RequestSourceFile: path})
	if err != nil {
		t.Fatalf("NewBuiltInRequestSource(file %s) = %v", path, err)
	}
	want := []types.RequestSpec{
		{Method: "GET", Path: "/a"},
		{Method: "post", Path: "/b", QueryString: "x=1", Headers: map[string][]string{"X-Run": {"1"}}, Body: "hi"}, // as written
		{Method: "GET", Path: "/a"}, // wraps around
	}
	for i, w := range want {
		got, err := src.Next()
		if err != nil {
			t.Fatalf("Next() #%d: %v", i, err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("Next() #%d = %+v, want %+v", i, got, w)
		}
	}
}

func TestRandomSumRequestSource(t *testing.T) {
	cfg := app.Config{RequestSourceType: app.SourceRandomSum, RandomSumPath: "/sum", RandomSumMin: 1, RandomSumMax: 3, Seed: 42}
	a, err := app.NewBuiltInRequestSource(cfg)
	if err != nil {
		t.Fatalf("NewBuiltInRequestSource(random-sum) = %v", err)
	}
	b, err := app.NewBuiltInRequestSource(cfg)
	if err != nil {
		t.Fatalf("NewBuiltInRequestSource(random-sum) = %v", err)
	}
	for i := range 50 {
		got, _ := a.Next()
		again, _ := b.Next()
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("request #%d differs between two sources with -seed=42: %+v and %+v", i, got, again)
		}
		if got.Method != "GET" || got.Path != "/sum" {
			t.Fatalf("request #%d = %s %s, want GET /sum", i, got.Method, got.Path)
		}
		q, err := url.ParseQuery(got.QueryString)
		if err != nil {
			t.Fatalf("request #%d query %q: %v", i, got.QueryString, err)
		}
		for _, k := range []string{"a", "b"} {
			v, err := strconv.Atoi(q.Get(k))
			if err != nil || v < 1 || v > 3 {
				t.Errorf("request #%d operand %s = %q, want an integer in [1, 3]", i, k, q.Get(k))
			}
		}
	}
}

func TestRequestSourceErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.json")
	tests := []struct {
		name string
		cfg  app.Config
		want []string
	}{
		{"missing file", app.Config{RequestSourceType: app.SourceFile, RequestSourceFile: missing}, []string{"-request-source-file", missing}},
		{"random-sum min above max", app.Config{RequestSourceType: app.SourceRandomSum, RandomSumPath: "/sum", RandomSumMin: 9, RandomSumMax: 1}, []string{"random-sum"}},
		{"random-sum relative path", app.Config{RequestSourceType: app.SourceRandomSum, RandomSumPath: "sum", RandomSumMax: 1}, []string{"random-sum", "sum"}},
		{"unknown type", app.Config{RequestSourceType: "db"}, []string{`"db"`, "-request-source-type", app.SourceFile, app.SourceRandomSum}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := app.NewBuiltInRequestSource(tt.cfg)
			if err == nil {
				t.Fatalf("NewBuiltInRequestSource(%+v) = %v, nil; want an error", tt.cfg, src)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			// A rate-range problem keeps the library's typed error.
			var re *manager.RangeError
			if strings.Contains(err.Error(), "-rps (") && !errors.As(err, &re) {
				t.Errorf("error %q has no *manager.RangeError in its chain", err)
			}
		})
	}
}

func TestBuiltInLoadCalculators(t *testing.T) {
	tests := []struct {
		name         string
		cfg          app.Config
		want         []int
		wantFeedback bool
	}{
		{"step", app.Config{LoadCalculator: app.CalculatorStep, MinRPS: 10, MaxRPS: 100, StepRPS: 30}, []int{10, 40, 70, 100, 100}, false},
		{"step default flags", app.Config{LoadCalculator: app.CalculatorStep, MinRPS: 5, MaxRPS: 50, StepRPS: 5}, []int{5, 10, 15, 20}, false},
		{"exponential", app.Config{LoadCalculator: app.CalculatorExponential, MinRPS: 10, MaxRPS: 100}, []int{10, 20, 40, 80, 100, 100}, false},
		{"exponential ignores step", app.Config{LoadCalculator: app.CalculatorExponential, MinRPS: 1, MaxRPS: 4, StepRPS: 0}, []int{1, 2, 4, 4}, false},
		{"logarithmic", app.Config{LoadCalculator: app.CalculatorLogarithmic, MinRPS: 0, MaxRPS: 100}, []int{0, 29, 46, 58, 67}, false},
		// Without observations the adaptive search stays at its start.
		{"adaptive-exponential", app.Config{LoadCalculator: app.CalculatorAdaptiveExponential, MinRPS: 10, MaxRPS: 500, AdaptiveMaxLatencyMillis: 250}, []int{10, 10, 10}, true},
		{"adaptive-exponential timeout mode", app.Config{LoadCalculator: app.CalculatorAdaptiveExponential, MinRPS: 0, MaxRPS: 500}, []int{1, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calc, err := app.NewBuiltInLoadCalculator(tt.cfg)
			if err != nil {
				t.Fatalf("NewBuiltInLoadCalculator(%+v) = %v", tt.cfg, err)
			}
			got := make([]int, len(tt.want))
			for i := range got {
				got[i] = calc.Next()
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("first rates = %v, want %v", got, tt.want)
			}
			if _, ok := calc.(manager.FeedbackLoadCalculator); ok != tt.wantFeedback {
				t.Errorf("implements FeedbackLoadCalculator = %v, want %v", ok, tt.wantFeedback)
			}
		})
	}
}

func TestBuiltInLoadCalculatorErrors(t *testing.T) {
	type test struct {
		name string
		cfg  app.Config
		want []string
	}
	var tests []test
	for _, name := range []string{app.CalculatorStep, app.CalculatorExponential, app.CalculatorLogarithmic, app.CalculatorAdaptiveExponential} {
		tests = append(tests,
			test{name + " min above max", app.Config{LoadCalculator: name, MinRPS: 60, MaxRPS: 50, StepRPS: 5}, []string{"-min-rps", "-max-rps", "60", "50"}},
			test{name + " negative min", app.Config{LoadCalculator: name, MinRPS: -1, MaxRPS: 50, StepRPS: 5}, []string{"-min-rps"}},
		)
	}
	tests = append(tests,
		test{"step zero", app.Config{LoadCalculator: app.CalculatorStep, MinRPS: 1, MaxRPS: 10, StepRPS: 0}, []string{"-step-rps"}},
		test{"step minus one", app.Config{LoadCalculator: app.CalculatorStep, MinRPS: 1, MaxRPS: 10, StepRPS: -1}, []string{"-step-rps"}},
		test{"step negative", app.Config{LoadCalculator: app.CalculatorStep, MinRPS: 1, MaxRPS: 10, StepRPS: -5}, []string{"-step-rps"}},
		test{"range and step wrong together", app.Config{LoadCalculator: app.CalculatorStep, MinRPS: 60, MaxRPS: 50, StepRPS: -1},
			[]string{"-min-rps (60) is greater than -max-rps (50)", "-step-rps (-1) must be greater than zero"}},
		test{"adaptive negative latency", app.Config{LoadCalculator: app.CalculatorAdaptiveExponential, MinRPS: 1, MaxRPS: 10, AdaptiveMaxLatencyMillis: -1}, []string{"-adaptive-max-latency-ms"}},
		test{"unknown name", app.Config{LoadCalculator: "random-spike", MinRPS: 1, MaxRPS: 10}, []string{`"random-spike"`, "-load-calculator",
			app.CalculatorStep, app.CalculatorExponential, app.CalculatorLogarithmic, app.CalculatorAdaptiveExponential}},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calc, err := app.NewBuiltInLoadCalculator(tt.cfg)
			if err == nil {
				t.Fatalf("NewBuiltInLoadCalculator(%+v) = %v, nil; want an error", tt.cfg, calc)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
