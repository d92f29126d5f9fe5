package tally

import (
	"strings"
	"testing"
)

func TestBreakdownBounds(t *testing.T) {
	var b Breakdown
	for i := range 3 * MaxErrorReasons {
		b.AddError(strings.Repeat("x", i+1), 1)
	}
	if len(b.Errors) != MaxErrorReasons || b.Errors[OtherReason] != 2*MaxErrorReasons+1 {
		t.Errorf("%d reasons, other %d; want %d reasons with the rest under other", len(b.Errors), b.Errors[OtherReason], MaxErrorReasons)
	}
	var one Breakdown
	one.AddError("a\nlong\treason "+strings.Repeat("y", 500), 1)
	for reason := range one.Errors {
		if !strings.HasPrefix(reason, "a long reason yyy") || len(reason) != maxReasonLen+len("…") {
			t.Errorf("reason %q is not one bounded line", reason)
		}
	}
	b.AddStatus(99, 1)
	b.AddStatus(600, 1)
	b.AddStatus(200, 2)
	if len(b.StatusCodes) != 1 || b.StatusCodes[200] != 2 {
		t.Errorf("status codes %v, want only 200: 2", b.StatusCodes)
	}
}
