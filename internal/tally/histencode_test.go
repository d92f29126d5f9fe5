package tally

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/testutil/race"
)

// encodeCase is a histogram to encode and how to build it.
type encodeCase struct {
	name string
	h    func(t testing.TB) *hdrhistogram.Histogram
}

// recordAll records n occurrences of each value v in h.
func recordAll(t testing.TB, h *hdrhistogram.Histogram, counts map[int64]int64) *hdrhistogram.Histogram {
	t.Helper()
	for v, n := range counts {
		if err := h.RecordValues(v, n); err != nil {
			t.Fatalf("record %d×%d: %v", n, v, err)
		}
	}
	return h
}

// randomLatencies returns an imager histogram of values spread over
// 1µs..1h, log-uniformly, with random counts.
func randomLatencies(t testing.TB, seed uint64, values int, maxCount int64) *hdrhistogram.Histogram {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := NewHistogram()
	for range values {
		v := int64(math.Exp(r.Float64() * math.Log(float64(histMax))))
		if err := h.RecordValues(min(max(v, histMin), histMax), 1+r.Int64N(maxCount)); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// encodeCases covers the shapes a payload takes: no counts, one, dense,
// long zero runs, counts needing every varint length up to 9 bytes, and
// other geometries.
func encodeCases() []encodeCase {
	imager := func(counts map[int64]int64) func(testing.TB) *hdrhistogram.Histogram {
		return func(t testing.TB) *hdrhistogram.Histogram { return recordAll(t, NewHistogram(), counts) }
	}
	cases := []encodeCase{
		{"empty", imager(nil)},
		{"one-value", imager(map[int64]int64{1234: 1})},
		{"lowest", imager(map[int64]int64{histMin: 3})},
		{"highest", imager(map[int64]int64{histMax: 1})},
		{"two-adjacent-zeros", imager(map[int64]int64{1: 1, 4: 2})},
		{"single-zero-gaps", imager(map[int64]int64{1: 1, 3: 1, 5: 1, 7: 1})},
		{"long-zero-runs", imager(map[int64]int64{1: 5, 2048: 1, 1_000_000: 7, histMax: 2})},
		{"near-int64-limit", imager(map[int64]int64{10: math.MaxInt64})},
		{"near-int64-limit-split", imager(map[int64]int64{10: math.MaxInt64 - 1<<62, 90_000: 1<<62 - 1, histMax: 1})},
		{"other-geometry", func(t testing.TB) *hdrhistogram.Histogram {
			return recordAll(t, hdrhistogram.New(1, 10_000_000, 2), map[int64]int64{5: 1, 90: 3, 9_999_999: 2})
		}},
		{"other-geometry-empty", func(testing.TB) *hdrhistogram.Histogram { return hdrhistogram.New(1000, 1e12, 1) }},
		{"five-digits", func(t testing.TB) *hdrhistogram.Histogram {
			return recordAll(t, hdrhistogram.New(1, 1e9, 5), map[int64]int64{1: 1, 99_999: 4, 1e9: 1 << 40})
		}},
		{"unit-magnitude", func(t testing.TB) *hdrhistogram.Histogram {
			return recordAll(t, hdrhistogram.New(1000, 1e12, 3), map[int64]int64{1500: 2, 7e11: 9})
		}},
	}
	for k := 0; k < 63; k += 3 {
		c := int64(1) << k
		cases = append(cases, encodeCase{"count-2^" + strconv.Itoa(k), imager(map[int64]int64{7: max(c-1, 1), 70_000: c})})
	}
	for seed := range uint64(8) {
		cases = append(cases, encodeCase{"random-" + strconv.Itoa(int(seed)), func(t testing.TB) *hdrhistogram.Histogram {
			return randomLatencies(t, seed, 1+int(seed)*2000, int64(1)<<(seed*7))
		}})
	}
	return cases
}

// inflate returns the uncompressed header and payload of an encoding.
func inflate(t testing.TB, enc []byte) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < wirePrefixLen || int(binary.BigEndian.Uint32(b[4:])) != len(b)-wirePrefixLen {
		t.Fatalf("prefix does not give the length of the %d-byte zlib stream", len(b)-wirePrefixLen)
	}
	if c := int32(binary.BigEndian.Uint32(b)); c != v2CompressedCookie {
		t.Fatalf("cookie %#x, want %#x", c, v2CompressedCookie)
	}
	z, err := zlib.NewReader(bytes.NewReader(b[wirePrefixLen:]))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// checkEncoding checks that enc, imager's encoding of h, decodes to h with
// the library and with DecodeHistogram, and holds the bytes the library's
// own encoding holds.
func checkEncoding(t *testing.T, h *hdrhistogram.Histogram, enc []byte) {
	t.Helper()
	got, err := hdrhistogram.Decode(enc)
	if err != nil {
		t.Fatalf("hdrhistogram.Decode: %v", err)
	}
	if !got.Equals(h) || !slices.Equal(got.Export().Counts, h.Export().Counts) || got.TotalCount() != h.TotalCount() {
		t.Fatalf("hdrhistogram.Decode gives %d values, want the %d encoded", got.TotalCount(), h.TotalCount())
	}
	lib, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(inflate(t, enc), inflate(t, lib)) {
		t.Fatal("uncompressed bytes differ from the library's")
	}
	libGot, err := hdrhistogram.Decode(lib)
	if err != nil || !libGot.Equals(got) {
		t.Fatalf("the library's encoding decodes to another histogram (%v)", err)
	}
	if h.SignificantFigures() > maxWireSigFigs {
		return // DecodeHistogram refuses both
	}
	mine, err := DecodeHistogram(enc)
	if err != nil {
		t.Fatalf("DecodeHistogram: %v", err)
	}
	want, err := DecodeHistogram(lib)
	if err != nil {
		t.Fatal(err)
	}
	if !mine.Equals(want) || (normalize(h) == h && !mine.Equals(h)) {
		t.Fatalf("DecodeHistogram gives %d values, want %d", mine.TotalCount(), want.TotalCount())
	}
}

func TestEncodeHistogramDecodes(t *testing.T) {
	for _, c := range encodeCases() {
		t.Run(c.name, func(t *testing.T) {
			h := c.h(t)
			enc, err := EncodeHistogram(h)
			if err != nil {
				t.Fatal(err)
			}
			checkEncoding(t, h, enc)
		})
	}
}

func TestEncodeHistogramNil(t *testing.T) {
	enc, err := EncodeHistogram(nil)
	if err != nil {
		t.Fatal(err)
	}
	checkEncoding(t, NewHistogram(), enc)
}

// TestEncodeHistogramReusesNothingVisible encodes from many goroutines at
// once, large histograms between small ones, so that pooled buffers pass
// between encodes: every result must stay what it was.
func TestEncodeHistogramReusesNothingVisible(t *testing.T) {
	cases := encodeCases()
	hs := make([]*hdrhistogram.Histogram, len(cases))
	for i, c := range cases {
		hs[i] = c.h(t)
	}
	const workers = 4
	encs := make([][][]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for round := range 3 {
				for i := range hs {
					enc, err := EncodeHistogram(hs[(i+w+round)%len(hs)])
					if err != nil {
						t.Error(err)
						return
					}
					if round == 2 {
						encs[w] = append(encs[w], enc)
					}
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for i, enc := range encs[w] {
			checkEncoding(t, hs[(i+w+2)%len(hs)], enc)
		}
	}
}

func TestEncodeHistogramAllocations(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocations")
	}
	h := randomLatencies(t, 1, 5000, 100)
	if _, err := EncodeHistogram(h); err != nil { // warm the pool
		t.Fatal(err)
	}
	// The result only: buffers, zlib writer and sparse counts are reused.
	if n := testing.AllocsPerRun(20, func() { _, _ = EncodeHistogram(h) }); n > 1 {
		t.Errorf("an encode allocates %.0f times, want once", n)
	}
}

// TestEncodeHistogramGeometries records values at and around every power
// of two in histograms of many geometries, so that every bucket's counts
// index is where the library puts it.
func TestEncodeHistogramGeometries(t *testing.T) {
	for _, sig := range []int{1, 2, 3, 4, 5} {
		for _, lowest := range []int64{1, 2, 3, 1000, 1 << 20} {
			h := hdrhistogram.New(lowest, 1<<40, sig)
			for k := range 41 {
				for _, v := range []int64{1<<k - 1, 1 << k, 1<<k + 1, 3 << k / 2} {
					_ = h.RecordValues(v, int64(k+1)) // values out of range are left out
				}
			}
			enc, err := EncodeHistogram(h)
			if err != nil {
				t.Fatal(err)
			}
			checkEncoding(t, h, enc)
		}
	}
}

// importedHistogram returns a histogram of imager's range, sigFigs digits
// and the given conversion ratio, with a few counts.
func importedHistogram(t testing.TB, sigFigs int64, ratio float64) *hdrhistogram.Histogram {
	t.Helper()
	s := &hdrhistogram.Snapshot{
		LowestTrackableValue:           histMin,
		HighestTrackableValue:          histMax,
		SignificantFigures:             sigFigs,
		Counts:                         []int64{0, 3, 0, 0, 0, 7, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5},
		IntegerToDoubleConversionRatio: ratio,
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return hdrhistogram.Import(s)
}

func TestEncodeHistogramZeroDigits(t *testing.T) {
	// Only a decoder makes such a histogram; its counts and its ratio come
	// from Export, as the library writes them.
	for _, ratio := range []float64{0, 1, 2.5} {
		h := importedHistogram(t, 0, ratio)
		enc, err := EncodeHistogram(h)
		if err != nil {
			t.Fatal(err)
		}
		checkEncoding(t, h, enc)
	}
}

func TestDecodeHistogramDropsConversionRatio(t *testing.T) {
	h := importedHistogram(t, histSigFigs, 2.5)
	lib, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeHistogram(lib)
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Export().IntegerToDoubleConversionRatio; r != 0 || !got.Equals(h) {
		t.Fatalf("decoded ratio %v with %d values, want the default with the %d encoded", r, got.TotalCount(), h.TotalCount())
	}
	// Which EncodeHistogram then writes as the library does.
	enc, err := EncodeHistogram(got)
	if err != nil {
		t.Fatal(err)
	}
	checkEncoding(t, got, enc)
}

func TestHistEncoderTrimsLargeBuffers(t *testing.T) {
	e := &histEncoder{raw: make([]byte, 0, 2*maxPooledBuffer)}
	e.out.Grow(2 * maxPooledBuffer)
	e.trim()
	if e.raw != nil || e.out.Cap() != 0 {
		t.Errorf("kept buffers of %d and %d bytes", cap(e.raw), e.out.Cap())
	}
}

func TestAppendCountsRefusesNegative(t *testing.T) {
	if _, err := appendCounts(nil, []int64{1, 0, -2}); !errors.Is(err, errNegativeCount) {
		t.Errorf("appendCounts of a negative count = %v, want errNegativeCount", err)
	}
}

func TestAppendZigZagLengths(t *testing.T) {
	for _, c := range []struct {
		v    int64
		want []byte
	}{
		{0, []byte{0}},
		{1, []byte{2}},
		{-1, []byte{1}},
		{63, []byte{0x7e}},
		{64, []byte{0x80, 0x01}},
		{-65, []byte{0x81, 0x01}},
		{math.MaxInt64, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{math.MinInt64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{1 << 55, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		{1<<55 - 1, []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
	} {
		if got := appendZigZag(nil, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("appendZigZag(%d) = % x, want % x", c.v, got, c.want)
		}
	}
}

// roundLatencies returns a histogram like one round's: n latencies around
// 2ms, log-normally spread.
func roundLatencies(tb testing.TB, n int) *hdrhistogram.Histogram {
	tb.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	h := NewHistogram()
	for range n {
		if err := h.RecordValue(min(int64(2000*math.Exp(r.NormFloat64())), histMax)); err != nil {
			tb.Fatal(err)
		}
	}
	return h
}

// BenchmarkEncodeHistogram compares hdrhistogram-go's Encode ("old") with
// EncodeHistogram ("new"), for a round's latencies and for values spread
// over the whole range.
func BenchmarkEncodeHistogram(b *testing.B) {
	shapes := []struct {
		name string
		h    *hdrhistogram.Histogram
	}{
		{"round", roundLatencies(b, 1000)},
		{"spread", randomLatencies(b, 3, 20_000, 1000)},
	}
	encoders := []struct {
		name   string
		encode func(*hdrhistogram.Histogram) ([]byte, error)
	}{
		{"old", func(h *hdrhistogram.Histogram) ([]byte, error) {
			return h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		}},
		{"new", EncodeHistogram},
	}
	for _, s := range shapes {
		for _, e := range encoders {
			b.Run(s.name+"/"+e.name, func(b *testing.B) {
				b.ReportAllocs()
				var size int
				for b.Loop() {
					enc, err := e.encode(s.h)
					if err != nil {
						b.Fatal(err)
					}
					size = len(enc)
				}
				b.ReportMetric(float64(size), "bytes/encoding")
			})
		}
	}
}
