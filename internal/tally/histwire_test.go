package tally

import (
	"encoding/base64"
	"math"
	"runtime"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
)

// craftHistogram is fuzzseed.CraftHistogram, failing t on error.
func craftHistogram(t testing.TB, sigFigs int32, lowest, highest int64, payload []byte) []byte {
	t.Helper()
	b, err := fuzzseed.CraftHistogram(sigFigs, lowest, highest, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encoded returns h with values recorded, encoded.
func encoded(t testing.TB, h *hdrhistogram.Histogram, values ...int64) []byte {
	t.Helper()
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// libraryEncoded returns h with values recorded, encoded by hdrhistogram-go
// itself (at its own compression level) rather than by EncodeHistogram.
func libraryEncoded(t testing.TB, h *hdrhistogram.Histogram, values ...int64) []byte {
	t.Helper()
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// histogramSeeds are the seed corpus of FuzzDecodeHistogram.
func histogramSeeds(t testing.TB) []fuzzseed.Seed {
	full := encoded(t, NewHistogram(), 1, 812, 2100, 250000, histMax)
	return []fuzzseed.Seed{
		{Name: "empty", Args: []any{encoded(t, NewHistogram())}},
		{Name: "latencies", Args: []any{full}},
		{Name: "library-latencies", Args: []any{libraryEncoded(t, NewHistogram(), 1, 812, 2100, 250000, histMax)}},
		{Name: "other-geometry", Args: []any{encoded(t, hdrhistogram.New(1, 10_000_000, 2), 5, 90, 9_999_999)}},
		{Name: "wide-claim", Args: []any{craftHistogram(t, 5, 1, math.MaxInt64, nil)}},
		{Name: "zero-run-overflow", Args: []any{craftHistogram(t, 3, 1, histMax, []byte{0x81, 0x80, 0x80, 0x80, 0x10, 0x02})}},
		{Name: "negative-length", Args: []any{[]byte(base64.StdEncoding.EncodeToString([]byte{0x1c, 0x84, 0x93, 0x14, 0xff, 0xff, 0xff, 0xff}))}},
		{Name: "truncated", Args: []any{full[:len(full)/2]}},
		{Name: "not-base64", Args: []any{[]byte("HISTFAAAAB!!")}},
	}
}

func TestHistogramSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzDecodeHistogram", histogramSeeds(t))
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestDecodeHistogramRefusesWideClaim(t *testing.T) {
	// 60 bytes that claim 1..2^63 at 5 digits: decoding them as they are
	// would allocate 49 MB of counts.
	b := craftHistogram(t, 5, 1, math.MaxInt64, nil)
	var err error
	n := allocated(func() { _, err = DecodeHistogram(b) })
	if err == nil || !strings.Contains(err.Error(), "5 significant digits") {
		t.Errorf("DecodeHistogram of a 5-digit histogram = %v, want a refusal naming the digits", err)
	}
	if n > 1<<20 {
		t.Errorf("refusing it allocated %d bytes, want under 1 MiB", n)
	}
}

func TestDecodeHistogramNormalizes(t *testing.T) {
	// Another range and precision: values are kept, clamped to imager's.
	other := hdrhistogram.New(1, 100*histMax, 2)
	b := encoded(t, other, 500, 50*histMax)
	h, err := DecodeHistogram(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.HighestTrackableValue() != histMax || h.SignificantFigures() != histSigFigs || h.TotalCount() != 2 {
		t.Fatalf("decoded geometry %d..%d at %d digits with %d values, want imager's with 2",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), h.TotalCount())
	}
	if got := h.Max(); !h.ValuesAreEquivalent(got, histMax) {
		t.Errorf("max %d, want the value above the range clamped to %d", got, histMax)
	}
	if got := h.ValueAtQuantile(50); got < 495 || got > 505 {
		t.Errorf("p50 %d, want about 500", got)
	}
	// A merge into an imager histogram now drops nothing.
	if dropped := NewHistogram().Merge(h); dropped != 0 {
		t.Errorf("merge dropped %d values", dropped)
	}
}

// FuzzDecodeHistogram feeds DecodeHistogram hostile bytes: it must never
// panic, allocate little whatever the bytes claim, and return a histogram
// in imager's geometry that survives a round trip.
func FuzzDecodeHistogram(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var h *hdrhistogram.Histogram
		var err error
		if n, limit := allocated(func() { h, err = DecodeHistogram(b) }), uint64(16<<20+8*len(b)); n > limit {
			t.Fatalf("decoding %d bytes allocated %d bytes, more than %d", len(b), n, limit)
		}
		if err != nil {
			return
		}
		if h.LowestTrackableValue() != histMin || h.HighestTrackableValue() != histMax || h.SignificantFigures() != histSigFigs {
			t.Fatalf("decoded geometry %d..%d at %d digits, want imager's", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures())
		}
		if h.TotalCount() < 0 {
			t.Fatalf("total count %d", h.TotalCount())
		}
		again, err := DecodeHistogram(encoded(t, h))
		if err != nil {
			t.Fatalf("re-decoding a decoded histogram: %v", err)
		}
		if !again.Equals(h) {
			t.Fatalf("round trip changed the histogram: %d values, now %d", h.TotalCount(), again.TotalCount())
		}
	})
}
