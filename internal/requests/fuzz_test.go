package requests

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/testutil/wiretest"
	"github.com/PeladoCollado/imager/types"
)

// fuzzTarget is the base URL fuzzed requests are rendered against.
const fuzzTarget = "http://127.0.0.1:8080"

// FuzzParseRecord feeds arbitrary lines to the request record parser. It
// must never panic; a record it accepts must pass validation, survive a
// JSON round trip unchanged and render on the wire exactly as written.
// The seed corpus is in testdata/fuzz/FuzzParseRecord.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(`{"method":"GET","path":"/sum?a=7&b=9","headers":{"Host":["vhost.example"]}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		spec, err := parseRecord(line)
		if err != nil {
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("parseRecord(%q) accepted %+v, which fails validation: %v", line, spec, err)
		}
		encoded, err := json.Marshal(spec)
		if err != nil {
			t.Fatalf("marshal %+v: %v", spec, err)
		}
		back, err := parseRecord(encoded)
		if err != nil {
			t.Fatalf("the record %s, re-encoded from %q, is refused: %v", encoded, line, err)
		}
		if !sameSpec(spec, back) {
			t.Fatalf("round trip of %q changed the record: %+v, then %+v", line, spec, back)
		}
		checkRendered(t, spec)
	})
}

// FuzzParseRecords feeds arbitrary files to the whole-file parser: it must
// never panic, and every record it accepts must pass validation.
func FuzzParseRecords(f *testing.F) {
	f.Add([]byte("{\"method\":\"GET\",\"path\":\"/\"}\n\n{\"method\":\"get\",\"path\":\"//x\"}\r\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		records, err := parseRecords("requests.json", bytes.NewReader(content), 1<<10)
		if err != nil {
			return
		}
		if len(records) == 0 {
			t.Fatalf("parseRecords(%q) accepted a file without records", content)
		}
		for _, spec := range records {
			if err := spec.Validate(); err != nil {
				t.Fatalf("parseRecords(%q) accepted %+v, which fails validation: %v", content, spec, err)
			}
		}
	})
}

// checkRendered fails unless spec renders exactly as the wire model says.
func checkRendered(t *testing.T, spec types.RequestSpec) {
	t.Helper()
	got, err := engine.Render(fuzzTarget, spec)
	if err != nil {
		t.Fatalf("the engine refuses %+v, which passed validation: %v", spec, err)
	}
	if want := wiretest.Want(fuzzTarget, spec); got != want {
		t.Fatalf("%+v renders as\n%q\nwant\n%q", spec, got, want)
	}
}

// sameSpec compares two records, taking an empty header map as none (JSON
// omits it).
func sameSpec(a, b types.RequestSpec) bool {
	if len(a.Headers) == 0 && len(b.Headers) == 0 {
		a.Headers, b.Headers = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
