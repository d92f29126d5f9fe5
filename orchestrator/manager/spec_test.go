package manager

import (
	"slices"
	"testing"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/types"
)

// TestSpecConverterHeaders checks that a header map met again is converted
// once while unchanged, and again when its content changed in place.
func TestSpecConverterHeaders(t *testing.T) {
	m := map[string][]string{"B": {"2", "3"}, "A": {"1"}}
	spec := types.RequestSpec{Method: "GET", Path: "/", Headers: m}
	c := newSpecConverter()
	first := c.fromSpec(&spec)
	want := []engine.Header{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "B", Value: "3"}}
	if !slices.Equal(first.Headers, want) {
		t.Fatalf("headers = %v, want %v", first.Headers, want)
	}
	if again := c.fromSpec(&spec); &again.Headers[0] != &first.Headers[0] {
		t.Errorf("an unchanged map was converted again")
	}
	changes := []func(){
		func() { m["B"] = []string{"2"} },
		func() { m["C"] = []string{} },
		func() { delete(m, "C"); m["A"] = []string{"9"} },
		func() { delete(m, "A") },
	}
	for i, change := range changes {
		change()
		got := c.fromSpec(&spec).Headers
		if want := FromSpec(spec).Headers; !slices.Equal(got, want) {
			t.Errorf("change %d: headers = %v, want %v", i, got, want)
		}
	}
}

func TestFromSpecHeaderOrder(t *testing.T) {
	spec := types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{
		"Zeta": {"z"}, "Alpha": {"a1", "a2"}, "Empty": {}, "Mid": {"m"},
	}}
	want := []engine.Header{{Name: "Alpha", Value: "a1"}, {Name: "Alpha", Value: "a2"}, {Name: "Mid", Value: "m"}, {Name: "Zeta", Value: "z"}}
	if got := FromSpec(spec).Headers; !slices.Equal(got, want) {
		t.Errorf("headers = %v, want %v", got, want)
	}
	if got := FromSpec(types.RequestSpec{Method: "GET", Path: "/"}).Headers; got != nil {
		t.Errorf("no headers: got %v, want nil", got)
	}
}
