package tally

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		want   Outcome
	}{
		{200, Success}, {204, Success}, {301, Success}, {399, Success},
		{400, ClientError}, {404, ClientError}, {429, ClientError},
		{500, ServerError}, {502, ServerError}, {503, Timeout}, {504, Timeout}, {599, ServerError},
		{101, ConnError}, {0, ConnError},
	}
	for _, tt := range tests {
		if got := Classify(tt.status); got != tt.want {
			t.Errorf("Classify(%d) = %v, want %v", tt.status, got, tt.want)
		}
	}
}
