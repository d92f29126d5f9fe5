package check

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// expected is the value a JSON check wants, prepared for comparing with
// the raw bytes of the value found in a body. JSON values are compared
// as values: numbers by their decimal value (1, 1.0 and 1e0 are equal;
// exactly, not through float64), strings after decoding their escapes,
// objects and arrays member by member and element by element.
type expected struct {
	kind byte   // the first byte of the value's kind: n t f " 0 { [
	str  string // the decoded string when kind is '"'
	num  number // the number when kind is '0'
	// tree is an object or array, decoded with json.Number numbers.
	tree any
}

// newExpected prepares the JSON value raw.
func newExpected(raw []byte) (expected, error) {
	raw = bytes.TrimSpace(raw)
	if !valid(raw) {
		return expected{}, fmt.Errorf("the expected value %q is not JSON", raw)
	}
	e := expected{kind: kindOf(raw)}
	switch e.kind {
	case '"':
		if err := json.Unmarshal(raw, &e.str); err != nil {
			return expected{}, fmt.Errorf("expected value %s: %w", raw, err)
		}
	case '0':
		e.num = parseNumber(raw)
	case '{', '[':
		tree, err := decodeTree(raw)
		if err != nil {
			return expected{}, fmt.Errorf("expected value %s: %w", raw, err)
		}
		e.tree = tree
	}
	return e, nil
}

// kindOf returns the kind byte of a valid JSON value.
func kindOf(v []byte) byte {
	if c := v[0]; c == '-' || ('0' <= c && c <= '9') {
		return '0'
	}
	return v[0]
}

// decodeTree decodes a JSON value, keeping numbers as json.Number.
func decodeTree(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// matches reports whether got, the bytes of a valid JSON value, equals
// the expected value. Objects and arrays are decoded to compare them, so
// only they allocate.
func (e *expected) matches(got []byte) bool {
	if kindOf(got) != e.kind {
		return false
	}
	switch e.kind {
	case '"':
		return strEqual(got[1:len(got)-1], e.str)
	case '0':
		return e.num.equal(parseNumber(got))
	case '{', '[':
		tree, err := decodeTree(got)
		return err == nil && treeEqual(tree, e.tree)
	}
	return true // null, true and false are equal to themselves
}

// treeEqual compares two decoded JSON values.
func treeEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, va := range a {
			vb, ok := b[k]
			if !ok || !treeEqual(va, vb) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !treeEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		return ok && parseNumber([]byte(a)).equal(parseNumber([]byte(b)))
	}
	return a == b // string, bool or nil
}

// maxExp bounds the decimal exponent of a number; one past it is
// compared by its text alone.
const maxExp = 1 << 50

// number is a valid JSON number seen as a decimal: its significant
// digits are those of intp followed by frac, less lead leading and trail
// trailing zeros, and its value is 0.d1d2d3... × 10^exp.
type number struct {
	raw        []byte
	intp, frac []byte
	neg, huge  bool
	lead, n    int // leading zeros, significant digits
	exp        int64
}

// parseNumber reads a valid JSON number.
func parseNumber(b []byte) number {
	x := number{raw: b}
	rest := b
	if rest[0] == '-' {
		x.neg, rest = true, rest[1:]
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	x.intp, rest = rest[:i], rest[i:]
	if len(rest) > 0 && rest[0] == '.' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		x.frac, rest = rest[1:j], rest[j:]
	}
	var e int64
	if len(rest) > 0 { // an exponent
		neg, digits := false, rest[1:]
		if digits[0] == '+' || digits[0] == '-' {
			neg, digits = digits[0] == '-', digits[1:]
		}
		for _, c := range digits {
			if e = e*10 + int64(c-'0'); e > maxExp {
				x.huge = true
				break
			}
		}
		if neg {
			e = -e
		}
	}
	total := len(x.intp) + len(x.frac)
	for x.lead < total && x.digit(x.lead) == '0' {
		x.lead++
	}
	last := total
	for last > x.lead && x.digit(last-1) == '0' {
		last--
	}
	x.n = last - x.lead
	x.exp = int64(len(x.intp)-x.lead) + e
	return x
}

// digit returns digit k of intp followed by frac.
func (x *number) digit(k int) byte {
	if k < len(x.intp) {
		return x.intp[k]
	}
	return x.frac[k-len(x.intp)]
}

// equal reports whether x and y are the same number.
func (x number) equal(y number) bool {
	switch {
	case x.n == 0 || y.n == 0: // a zero, of either sign
		return x.n == y.n
	case x.huge || y.huge:
		return bytes.Equal(x.raw, y.raw)
	case x.neg != y.neg || x.exp != y.exp || x.n != y.n:
		return false
	}
	for k := 0; k < x.n; k++ {
		if x.digit(x.lead+k) != y.digit(y.lead+k) {
			return false
		}
	}
	return true
}
