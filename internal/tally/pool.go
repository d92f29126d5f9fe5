package tally

import (
	"hash/maphash"
	"slices"
	"unsafe"

	"github.com/PeladoCollado/imager/types"
)

// smallBody is the body length up to which Pool compares bodies by
// content; longer bodies are the same only when they share their bytes,
// which they do when they come from one source line or one script value.
const smallBody = 256

// Pool splits a sequence of requests into the distinct requests it uses
// and the order in which it uses them: seq[i] equals pool[order[i]]. When
// every request is distinct, or the sequence is the pool cycled, order is
// nil and the pool is used in order and cycled, as Job.Requests always
// was. Pool does not copy bodies; the pool shares them with seq, and may
// be seq itself (or a prefix of it) when seq is its own pool cycled.
//
// Requests are the same when method, path, query, name and headers (the
// same names, each with the same values in the same order) are equal and
// their bodies are equal: by content up to smallBody bytes, by identity
// (the same string bytes in memory) beyond, so that a large body is never
// compared byte by byte. Treating two equal large bodies held in
// different memory as distinct only costs wire size, never correctness.
func Pool(seq []types.RequestSpec) (pool []types.RequestSpec, order []uint32) {
	if len(seq) == 0 {
		return nil, nil
	}
	// A sequence that repeats its first p requests, p of them distinct,
	// is that pool cycled: checking this first spares hashing every
	// request of a source that cycles its lines.
	if p := period(seq); p < len(seq) {
		if pool, order := poolOf(seq[:p]); order == nil {
			return pool, nil
		}
	}
	pool, order = poolOf(seq)
	if order == nil || isCycle(order, len(pool)) {
		return pool, nil
	}
	return pool, order
}

// period returns the smallest p such that seq[i] is the same request as
// seq[i-p] for every i >= p, or len(seq) when there is none short of it.
// Only the first request's next occurrence is tried as p.
func period(seq []types.RequestSpec) int {
	p := 1
	for p < len(seq) && !sameRequest(&seq[p], &seq[0]) {
		p++
	}
	for i := p; i < len(seq); i++ {
		if !sameRequest(&seq[i], &seq[i-p]) {
			return len(seq)
		}
	}
	return p
}

// poolOf is Pool without the cycle check: order is nil only when every
// request of seq is distinct, and the pool is then seq itself.
func poolOf(seq []types.RequestSpec) (pool []types.RequestSpec, order []uint32) {
	seed := maphash.MakeSeed()
	// table is an open-addressed hash table of pool indices plus one;
	// hashes holds each pool entry's hash.
	size := 1
	for size < 2*len(seq) {
		size <<= 1
	}
	table := make([]uint32, size)
	hashes := make([]uint64, 0, len(seq))
	order = make([]uint32, len(seq))
	pool = seq[:0]
	shared := true // pool is still seq[:len(pool)]
	for i := range seq {
		r := &seq[i]
		h := requestHash(seed, r)
		slot := int(h) & (size - 1)
		found := -1
		for ; table[slot] != 0; slot = (slot + 1) & (size - 1) {
			if k := int(table[slot] - 1); hashes[k] == h && sameRequest(&pool[k], r) {
				found = k
				break
			}
		}
		if found < 0 {
			found = len(pool)
			if shared && found != i {
				pool = append(make([]types.RequestSpec, 0, len(seq)-i+found), pool...)
				shared = false
			}
			pool = append(pool, *r)
			hashes = append(hashes, h)
			table[slot] = uint32(found + 1)
		}
		order[i] = uint32(found)
	}
	if len(pool) == len(seq) {
		return pool, nil
	}
	return pool, order
}

// isCycle reports whether order is 0, 1, …, n-1 repeated.
func isCycle(order []uint32, n int) bool {
	for i, k := range order {
		if int(k) != i%n {
			return false
		}
	}
	return true
}

// requestHash hashes what sameRequest compares.
func requestHash(seed maphash.Seed, r *types.RequestSpec) uint64 {
	h := mix(maphash.String(seed, r.Method), maphash.String(seed, r.Path))
	h = mix(h, maphash.String(seed, r.QueryString))
	h = mix(h, maphash.String(seed, r.Name))
	if len(r.Headers) > 0 {
		h = mix(h, headersHash(seed, r.Headers))
	}
	if len(r.Body) <= smallBody {
		return mix(h, maphash.String(seed, r.Body))
	}
	p := uint64(uintptr(unsafe.Pointer(unsafe.StringData(r.Body))))
	return mix(mix(h, p), uint64(len(r.Body)))
}

// headersHash hashes a header map whatever the order in which it is
// iterated: each name's hash, with its values in order, is summed.
func headersHash(seed maphash.Seed, m map[string][]string) uint64 {
	var sum uint64
	for name, vs := range m {
		h := maphash.String(seed, name)
		for _, v := range vs {
			h = mix(h, maphash.String(seed, v))
		}
		sum += mix(h, uint64(len(vs)))
	}
	return sum
}

// mix folds v into the hash h.
func mix(h, v uint64) uint64 {
	h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
	return h * 0xff51afd7ed558ccd
}

// sameRequest reports whether a and b are the same request in the sense
// of Pool.
func sameRequest(a, b *types.RequestSpec) bool {
	if a.Method != b.Method || a.Path != b.Path || a.QueryString != b.QueryString || a.Name != b.Name ||
		len(a.Body) != len(b.Body) || !sameHeaders(a.Headers, b.Headers) {
		return false
	}
	if len(a.Body) <= smallBody {
		return a.Body == b.Body
	}
	return unsafe.StringData(a.Body) == unsafe.StringData(b.Body)
}

// sameHeaders reports whether a and b hold the same names, each with the
// same values in the same order. Requests drawn from one source line
// share one map, which is the same without being compared.
func sameHeaders(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || mapData(a) == mapData(b) {
		return true
	}
	for name, va := range a {
		vb, ok := b[name]
		if !ok || !slices.Equal(va, vb) {
			return false
		}
	}
	return true
}

// mapData returns the pointer a map value holds: two maps are one when
// their pointers are equal.
func mapData(m map[string][]string) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&m))
}
