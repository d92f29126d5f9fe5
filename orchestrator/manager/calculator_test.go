package manager_test

import (
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

func TestValidateRange(t *testing.T) {
	tests := []struct {
		name           string
		min, max, step int
		// want is the exact error text, "" for no error.
		want string
	}{
		{"valid step profile", 5, 50, 5, ""},
		{"valid with step check skipped", 10, 500, manager.NoStep, ""},
		{"min equals max", 40, 40, 1, ""},
		{"all zero rates", 0, 0, 1, ""},
		{"min greater than max", 60, 50, 5, "-min-rps (60) is greater than -max-rps (50)"},
		{"min greater than max without step", 60, 50, manager.NoStep, "-min-rps (60) is greater than -max-rps (50)"},
		{"negative min", -1, 50, 5, "-min-rps (-1) must not be negative"},
		{"negative max", 0, -2, manager.NoStep, "-max-rps (-2) must not be negative\n-min-rps (0) is greater than -max-rps (-2)"},
		{"both negative", -3, -1, manager.NoStep, "-min-rps (-3) must not be negative\n-max-rps (-1) must not be negative"},
		{"zero step", 5, 50, 0, "-step-rps (0) must be greater than zero"},
		{"negative step other than NoStep", 5, 50, -5, "-step-rps (-5) must be greater than zero"},
		{"everything wrong", -1, -9, 0, "-min-rps (-1) must not be negative\n-max-rps (-9) must not be negative\n-min-rps (-1) is greater than -max-rps (-9)\n-step-rps (0) must be greater than zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := manager.ValidateRange(tt.min, tt.max, tt.step)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateRange(%d, %d, %d) = %q, want %q", tt.min, tt.max, tt.step, got, tt.want)
			}
		})
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
