package tally

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// imager writes HdrHistogram's V2 compressed encoding itself rather than
// through hdrhistogram-go's Encode, which builds a new zlib writer at the
// best (slowest) compression level for every call: several encodes a round
// then hold a core for milliseconds, long enough to delay the load engine's
// sends on it. The bytes inside the zlib stream are the ones the library
// writes (for a histogram of the default conversion ratio, as all of
// imager's are); only the compression level differs, which no decoder can
// tell. Its buffers, zlib writer and sparse copy of the counts are reused
// from encode to encode, so that an encode allocates only its result.
//
// The layout, all integers big-endian:
//
//	base64(
//	  int32 compressed cookie, int32 length of the zlib stream,
//	  zlib(
//	    int32 cookie, int32 payload length, int32 normalizing index offset,
//	    int32 significant digits, int64 lowest, int64 highest,
//	    float64 integer-to-double conversion ratio,
//	    payload)))
//
// The payload holds the counts array from index 0 up to the last non-zero
// count (at least one count), each count a zig-zag LEB128 varint of at most
// 9 bytes (the 9th byte carries 8 bits), a run of two or more zero counts
// written as the negated length of the run instead.
const (
	// v2Cookie and v2CompressedCookie are the cookies the library writes:
	// the V2 base cookies with the word-size nibble 0x10 set.
	v2Cookie           = hdrhistogram.V2EncodingCookieBase | 0x10
	v2CompressedCookie = hdrhistogram.V2CompressedEncodingCookieBase | 0x10
	// maxVarintLen is the longest zig-zag LEB128 count, in bytes.
	maxVarintLen = 9
	// maxPooledBuffer bounds the buffers (and sparse counts) an encoder
	// keeps when it goes back to the pool, so that one huge histogram does
	// not pin memory.
	maxPooledBuffer = 1 << 20
)

// histEncoder holds the buffers, zlib writer and sparse copy of the counts
// one encode needs, kept across encodes through histEncoders.
type histEncoder struct {
	raw []byte       // header and payload, uncompressed
	out bytes.Buffer // prefix and zlib stream
	zw  *zlib.Writer // writes into out; nil until first used
	// sparse receives the counts of the histogram being encoded: the
	// public API reads a histogram's counts without copying its whole
	// counts array only by merging them into a PackedHistogram. Its
	// geometry is the last one encoded; nil until first used.
	sparse *hdrhistogram.PackedHistogram
	index  countsIndexer // sparse's geometry
}

// histEncoders pools histEncoders: a zlib writer alone allocates hundreds
// of kilobytes.
var histEncoders = sync.Pool{New: func() any { return new(histEncoder) }}

// encodeV2 returns h in the V2 compressed encoding, base64. A nil h is an
// empty histogram of imager's geometry.
func encodeV2(h *hdrhistogram.Histogram) ([]byte, error) {
	e := histEncoders.Get().(*histEncoder)
	defer e.release()
	if err := e.fill(h); err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	if err := e.compress(); err != nil {
		return nil, fmt.Errorf("encode histogram: %w", err)
	}
	b := e.out.Bytes()
	dst := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(dst, b)
	return dst, nil
}

// fill writes the uncompressed header and payload of h into e.raw.
//
// The header's conversion ratio is 1, the library's default, except for a
// histogram of 0 significant digits (only a decoder makes one), whose
// counts and ratio come from Export. Every histogram imager holds has the
// default ratio: DecodeHistogram drops any other a stream declares.
func (e *histEncoder) fill(h *hdrhistogram.Histogram) error {
	var err error
	switch {
	case h == nil:
		e.raw = appendHeader(e.raw[:0], histSigFigs, histMin, histMax, 1)
		e.raw = appendZigZag(e.raw, 0) // the one count of an empty histogram
	case h.SignificantFigures() >= 1 && h.SignificantFigures() <= 5:
		e.raw = appendHeader(e.raw[:0], h.SignificantFigures(), h.LowestTrackableValue(), h.HighestTrackableValue(), 1)
		e.raw, err = e.appendSparse(e.raw, h)
	default:
		s := h.Export()
		ratio := s.IntegerToDoubleConversionRatio
		if ratio == 0 {
			ratio = 1
		}
		e.raw = appendHeader(e.raw[:0], s.SignificantFigures, s.LowestTrackableValue, s.HighestTrackableValue, ratio)
		e.raw, err = appendCounts(e.raw, s.Counts[:countsLimit(s.Counts)])
	}
	if err != nil {
		return err
	}
	n := len(e.raw) - wireHeaderLen
	if n > math.MaxInt32 {
		return fmt.Errorf("payload of %d bytes", n)
	}
	binary.BigEndian.PutUint32(e.raw[4:], uint32(n))
	return nil
}

// appendHeader appends the 40-byte uncompressed header, with a payload
// length of 0 for the caller to set.
func appendHeader(b []byte, sigFigs, lowest, highest int64, ratio float64) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(v2Cookie))
	b = binary.BigEndian.AppendUint32(b, 0) // payload length
	// The counts are written in logical order, so the offset is 0.
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(sigFigs))
	b = binary.BigEndian.AppendUint64(b, uint64(lowest))
	b = binary.BigEndian.AppendUint64(b, uint64(highest))
	return binary.BigEndian.AppendUint64(b, math.Float64bits(ratio))
}

// appendSparse appends h's counts as the payload, read through e.sparse.
// h must have 1 to 5 significant digits, which NewPacked keeps as they
// are, so that e.sparse's geometry is exactly h's.
func (e *histEncoder) appendSparse(b []byte, h *hdrhistogram.Histogram) ([]byte, error) {
	lowest, highest, sigFigs := h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()
	p := e.sparse
	if p == nil || p.LowestTrackableValue() != lowest || p.HighestTrackableValue() != highest || p.SignificantFigures() != sigFigs {
		p = hdrhistogram.NewPacked(lowest, highest, int(sigFigs))
		e.sparse, e.index = p, newCountsIndexer(lowest, sigFigs)
	}
	p.Reset()
	if dropped := p.MergeFrom(h); dropped != 0 {
		return b, fmt.Errorf("%d values do not fit the histogram's own geometry", dropped)
	}
	last, ordered := int64(-1), true // index of the last count written
	p.ForEachBucket(func(value, count int64) bool {
		i := e.index.of(value)
		if ordered = i > last; !ordered {
			return false
		}
		b = appendZeros(b, i-last-1)
		b = appendZigZag(b, count)
		last = i
		return true
	})
	if !ordered {
		return b, errBucketOrder
	}
	if last < 0 {
		b = appendZigZag(b, 0) // the one count of an empty histogram
	}
	return b, nil
}

// compress writes the 8-byte prefix and the zlib stream of e.raw into
// e.out.
func (e *histEncoder) compress() error {
	e.out.Reset()
	var prefix [wirePrefixLen]byte
	e.out.Write(prefix[:]) // filled in below, once the length is known
	if e.zw == nil {
		zw, err := zlib.NewWriterLevel(&e.out, zlib.BestSpeed)
		if err != nil {
			return fmt.Errorf("zlib writer: %w", err)
		}
		e.zw = zw
	} else {
		e.zw.Reset(&e.out)
	}
	if _, err := e.zw.Write(e.raw); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	if err := e.zw.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	b := e.out.Bytes()
	n := len(b) - wirePrefixLen
	if n > math.MaxInt32 {
		return fmt.Errorf("compressed to %d bytes", n)
	}
	binary.BigEndian.PutUint32(b[0:], uint32(v2CompressedCookie))
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	return nil
}

// release returns e to the pool, trimmed.
func (e *histEncoder) release() {
	e.trim()
	histEncoders.Put(e)
}

// trim drops the buffers and sparse counts that grew too large to keep.
func (e *histEncoder) trim() {
	if cap(e.raw) > maxPooledBuffer {
		e.raw = nil
	}
	if e.out.Cap() > maxPooledBuffer {
		e.out = bytes.Buffer{}
	}
	if e.sparse != nil && e.sparse.GetMemorySize() > maxPooledBuffer {
		e.sparse = nil
	}
}

// countsLimit returns how many leading counts the payload holds: up to the
// last non-zero count, and at least one.
func countsLimit(counts []int64) int {
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] != 0 {
			return i + 1
		}
	}
	return min(1, len(counts))
}

// errBucketOrder is returned should the counts indices of a histogram's
// buckets, as countsIndexer computes them, not ascend as its buckets do.
var errBucketOrder = errors.New("bucket indices out of order")

// countsIndexer maps a value to the index of its count in the counts array
// of a geometry, which is where the payload places the count.
type countsIndexer struct {
	unitMag int    // log2 of the smallest value step
	halfMag int    // log2 of half the number of sub-buckets
	mask    uint64 // the bits of the values bucket 0 holds
}

// newCountsIndexer returns the indexer of the geometry of lowest and
// sigFigs, derived as HdrHistogram derives it: 2^subMag sub-buckets, the
// power of two at or above 2×10^sigFigs (at least 2), and a unit of the
// power of two at or below lowest. It takes the logarithms in floating
// point, as hdrhistogram-go does, so that the two agree on every geometry.
func newCountsIndexer(lowest, sigFigs int64) countsIndexer {
	subMag := max(int(math.Ceil(math.Log2(2*math.Pow10(int(sigFigs))))), 1)
	unitMag := max(int(math.Floor(math.Log2(float64(lowest)))), 0)
	return countsIndexer{unitMag: unitMag, halfMag: subMag - 1, mask: (1<<subMag - 1) << unitMag}
}

// of returns the index of the count of v: bucket 0 holds the values below
// 2^(subMag+unitMag) in its 2^subMag sub-buckets, each bucket k above it
// the values up to twice as large in the upper half of its sub-buckets,
// 2^k units wide, and the counts array lists them in that order.
func (c countsIndexer) of(v int64) int64 {
	bucket := bits.Len64(uint64(v)|c.mask) - c.unitMag - c.halfMag - 1
	sub := v >> (bucket + c.unitMag)
	return int64(bucket)<<c.halfMag + sub
}

// errNegativeCount is returned for a count the payload cannot hold: a
// negative number there means a run of zeros.
var errNegativeCount = errors.New("negative count")

// appendCounts appends counts to b as the payload: each count a zig-zag
// varint, each run of zeros as appendZeros writes it.
func appendCounts(b []byte, counts []int64) ([]byte, error) {
	zeros := int64(0)
	for i, c := range counts {
		switch {
		case c < 0:
			return b, fmt.Errorf("%w %d at index %d", errNegativeCount, c, i)
		case c == 0:
			zeros++
		default:
			b = appendZeros(b, zeros)
			b = appendZigZag(b, c)
			zeros = 0
		}
	}
	return appendZeros(b, zeros), nil
}

// appendZeros appends a run of n zero counts: nothing for none, a zero
// count for one, the negated length of the run for more.
func appendZeros(b []byte, n int64) []byte {
	switch n {
	case 0:
		return b
	case 1:
		return appendZigZag(b, 0)
	default:
		return appendZigZag(b, -n)
	}
}

// appendZigZag appends v zig-zag encoded as an LEB128 varint of at most 9
// bytes: 7 bits a byte with the high bit marking a byte to follow, except
// the 9th, which holds the last 8 bits whole.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for range maxVarintLen - 1 {
		if u < 0x80 {
			return append(b, byte(u))
		}
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}
