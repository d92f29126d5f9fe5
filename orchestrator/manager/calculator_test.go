package manager_test

import (
	"errors"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

func TestValidateRange(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		// want is the exact error text, "" for no error.
		want string
	}{
		{"valid", 5, 50, ""},
		{"min equals max", 40, 40, ""},
		{"all zero rates", 0, 0, ""},
		{"min greater than max", 60, 50, "min rate (60) is greater than max rate (50)"},
		{"negative min", -1, 50, "min rate (-1) must not be negative"},
		{"negative max", 0, -2, "max rate (-2) must not be negative\nmin rate (0) is greater than max rate (-2)"},
		{"both negative", -3, -1, "min rate (-3) must not be negative\nmax rate (-1) must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := manager.ValidateRange(tt.min, tt.max)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateRange(%d, %d) = %q, want %q", tt.min, tt.max, got, tt.want)
			}
			var re *manager.RangeError
			if (err != nil) != errors.As(err, &re) {
				t.Errorf("ValidateRange(%d, %d) = %v: not a *RangeError", tt.min, tt.max, err)
			}
		})
	}
}

// TestValidateStep: every step of zero or less is refused, -1 included
// (it once doubled as a "no step" sentinel).
func TestValidateStep(t *testing.T) {
	for _, step := range []int{0, -1, -5} {
		var re *manager.RangeError
		if err := manager.ValidateStep(step); !errors.As(err, &re) || re.Field != "step" || re.Value != step {
			t.Errorf("ValidateStep(%d) = %v, want a *RangeError for the step", step, err)
		}
	}
	if err := manager.ValidateStep(1); err != nil {
		t.Errorf("ValidateStep(1) = %v", err)
	}
}

// TestConstructorsReturnLoadCalculators pins which built-ins learn from
// feedback: only the adaptive one does.
func TestConstructorsReturnLoadCalculators(t *testing.T) {
	tests := []struct {
		name         string
		c            manager.LoadCalculator
		wantFeedback bool
	}{
		{"step", manager.NewStepFunctionLoadCalculator(1, 10, 1), false},
		{"exponential", manager.NewExponentialLoadCalculator(1, 10), false},
		{"logarithmic", manager.NewLogarithmicLoadCalculator(1, 10), false},
		{"adaptive-exponential", manager.NewAdaptiveExponentialLoadCalculator(1, 10, 250), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := tt.c.(manager.FeedbackLoadCalculator)
			if got != tt.wantFeedback {
				t.Errorf("implements FeedbackLoadCalculator = %v, want %v", got, tt.wantFeedback)
			}
		})
	}
}
