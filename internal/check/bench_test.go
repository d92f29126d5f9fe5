package check

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// benchJudge measures Judge of the checks e on a correct answer of about
// 200 bytes (okBody), which passes them all.
func benchJudge(b *testing.B, e types.Expect) {
	s, err := Compile("bench", e)
	if err != nil {
		b.Fatal(err)
	}
	r := answer(200, jsonHeaders, okBody, time.Millisecond)
	if got := s.Judge(r); got != -1 {
		b.Fatalf("check %s fails", s.Name(got))
	}
	b.ReportAllocs()
	for b.Loop() {
		if s.Judge(r) != -1 {
			b.Fatal("failed")
		}
	}
}

func BenchmarkCheckStatus(b *testing.B) {
	benchJudge(b, types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 299}, {Lo: 304, Hi: 304}}})
}

func BenchmarkCheckHeader(b *testing.B) {
	benchJudge(b, types.Expect{Header: map[string]types.HeaderMatch{"Content-Type": {Value: "application/json"}}})
}

func BenchmarkCheckContains(b *testing.B) {
	benchJudge(b, types.Expect{BodyContains: []string{`"cached":false`}})
}

func BenchmarkCheckRegex(b *testing.B) {
	benchJudge(b, types.Expect{BodyRegex: `"count":\s*\d+`})
}

func BenchmarkCheckJSONPath(b *testing.B) {
	benchJudge(b, types.Expect{JSON: map[string]json.RawMessage{"data.items[1].name": json.RawMessage(`"gadget"`)}})
}

func BenchmarkCheckJSONObject(b *testing.B) {
	benchJudge(b, types.Expect{JSON: map[string]json.RawMessage{"data.items[0].tags": json.RawMessage(`["a","b"]`)}})
}

func BenchmarkCheckAll(b *testing.B) {
	benchJudge(b, fullExpect())
}
