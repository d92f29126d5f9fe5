package app

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateText(t *testing.T) {
	short := []byte("verdict PASSED\n")
	if got := truncateText(short, 4096); string(got) != string(short) {
		t.Errorf("short text changed: %q", got)
	}
	lines := strings.Repeat("0123456789\n", 20) // 220 bytes
	got := string(truncateText([]byte(lines), 100+len(truncatedMarker)))
	if want := strings.Repeat("0123456789\n", 9) + truncatedMarker; got != want {
		t.Errorf("cut at lines = %q, want %q", got, want)
	}
	// One line longer than the limit, of 3-byte runes: cut on a rune
	// boundary and the line ended.
	long := []byte(strings.Repeat("€", 100) + "\n")
	limit := len(truncatedMarker) + 10
	got = string(truncateText(long, limit))
	if len(got) > limit || !utf8.ValidString(got) || !strings.HasSuffix(got, "\n"+truncatedMarker) || !strings.HasPrefix(got, "€€€") {
		t.Errorf("cut of a long line = %q (%d bytes), want valid UTF-8 within %d ending with the marker", got, len(got), limit)
	}
}
