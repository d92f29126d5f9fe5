package tally

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// maxWireSigFigs bounds the precision of a histogram read from the wire or
// a file. The counts array hdrhistogram allocates grows with the declared
// precision and range; at 3 significant digits even the widest range
// (1 to 2^63) needs under 56,000 counts (450 KB), while 5 digits need 49
// MB, so a few bytes claiming a huge histogram must not be decoded.
const maxWireSigFigs = histSigFigs

// Layout of HdrHistogram's V2 compressed encoding: base64 of an 8-byte
// prefix (cookie, length of the zlib stream) and a zlib stream that starts
// with a 40-byte header (cookie, payload length, normalizing offset,
// significant digits, lowest and highest trackable value, conversion
// ratio).
const (
	wirePrefixLen = 8
	wireHeaderLen = 40
)

// wireGeometry is what an encoded histogram's header declares.
type wireGeometry struct {
	sigFigs         int32
	lowest, highest int64
	// ratio is the integer-to-double conversion ratio, metadata that
	// imager's integer microsecond histograms leave at the default, 1
	// (or 0, which means 1).
	ratio float64
}

// readWireGeometry reads the geometry an encoded histogram declares,
// decoding no more than its header.
func readWireGeometry(b []byte) (wireGeometry, error) {
	dec := base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b))
	var prefix [wirePrefixLen]byte
	if _, err := io.ReadFull(dec, prefix[:]); err != nil {
		return wireGeometry{}, fmt.Errorf("histogram prefix: %w", err)
	}
	if n := int32(binary.BigEndian.Uint32(prefix[4:])); n < 0 {
		return wireGeometry{}, fmt.Errorf("histogram declares a negative length (%d)", n)
	}
	z, err := zlib.NewReader(io.LimitReader(dec, int64(binary.BigEndian.Uint32(prefix[4:]))))
	if err != nil {
		return wireGeometry{}, fmt.Errorf("histogram body: %w", err)
	}
	defer z.Close()
	var h [wireHeaderLen]byte
	if _, err := io.ReadFull(z, h[:]); err != nil {
		return wireGeometry{}, fmt.Errorf("histogram header: %w", err)
	}
	return wireGeometry{
		sigFigs: int32(binary.BigEndian.Uint32(h[12:])),
		lowest:  int64(binary.BigEndian.Uint64(h[16:])),
		highest: int64(binary.BigEndian.Uint64(h[24:])),
		ratio:   math.Float64frombits(binary.BigEndian.Uint64(h[32:])),
	}, nil
}

// decodeBounded decodes an encoded histogram whose header asks for a
// counts array of bounded size, and returns it in imager's own geometry
// with the default conversion ratio, which EncodeHistogram writes.
func decodeBounded(b []byte) (*hdrhistogram.Histogram, error) {
	g, err := readWireGeometry(b)
	if err != nil {
		return nil, err
	}
	if g.sigFigs > maxWireSigFigs {
		return nil, fmt.Errorf("histogram declares %d significant digits, more than the %d accepted", g.sigFigs, maxWireSigFigs)
	}
	h, err := hdrhistogram.Decode(b)
	if err != nil {
		return nil, err
	}
	if g.ratio != 0 && g.ratio != 1 {
		return normalizeCopy(h), nil // drops the ratio
	}
	return normalize(h), nil
}

// normalize returns h in imager's geometry (1µs to 1 hour, 3 significant
// digits), so that histograms merge without dropping values: h itself when
// it already has it, else a copy whose values are clamped to the range.
func normalize(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if h.LowestTrackableValue() == histMin && h.HighestTrackableValue() == histMax && h.SignificantFigures() == histSigFigs {
		return h
	}
	return normalizeCopy(h)
}

// normalizeCopy returns a copy of h in imager's geometry, values outside it
// clamped; the copy has the default conversion ratio.
func normalizeCopy(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	out := NewHistogram()
	for _, bar := range h.Distribution() {
		if bar.Count <= 0 {
			continue
		}
		v := min(max(bar.From, histMin), histMax)
		_ = out.RecordValues(v, bar.Count) // cannot fail: in range, and the total is h's
	}
	return out
}
