package fuzzseed

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// CraftHistogram builds an HdrHistogram in the V2 compressed encoding with
// any header, as a hostile peer could: sigFigs, lowest and highest are
// written as given, and payload (zig-zag LEB128 counts) follows the header
// unchecked.
func CraftHistogram(sigFigs int32, lowest, highest int64, payload []byte) ([]byte, error) {
	var raw bytes.Buffer
	for _, v := range []any{
		hdrhistogram.V2EncodingCookieBase | 0x10, int32(len(payload)), int32(0), sigFigs, lowest, highest, float64(1),
	} {
		if err := binary.Write(&raw, binary.BigEndian, v); err != nil {
			return nil, fmt.Errorf("histogram header: %w", err)
		}
	}
	raw.Write(payload)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, fmt.Errorf("compress histogram: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress histogram: %w", err)
	}
	var out bytes.Buffer
	for _, v := range []int32{hdrhistogram.V2CompressedEncodingCookieBase | 0x10, int32(z.Len())} {
		if err := binary.Write(&out, binary.BigEndian, v); err != nil {
			return nil, fmt.Errorf("histogram prefix: %w", err)
		}
	}
	out.Write(z.Bytes())
	return []byte(base64.StdEncoding.EncodeToString(out.Bytes())), nil
}
