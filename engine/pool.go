package engine

import (
	"bytes"
	"hash/maphash"
	"unsafe"
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
// Requests are the same when method, path, query, name and headers are
// equal and their bodies are equal: by content up to smallBody bytes,
// by identity (the same bytes in memory) beyond, so that a large body is
// never compared byte by byte. Treating two equal large bodies held in
// different memory as distinct only costs wire size, never correctness.
func Pool(seq []Request) (pool []Request, order []uint32) {
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
func period(seq []Request) int {
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
func poolOf(seq []Request) (pool []Request, order []uint32) {
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
				pool = append(make([]Request, 0, len(seq)-i+found), pool...)
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
func requestHash(seed maphash.Seed, r *Request) uint64 {
	h := mix(maphash.String(seed, r.Method), maphash.String(seed, r.Path))
	h = mix(h, maphash.String(seed, r.Query))
	h = mix(h, maphash.String(seed, r.Name))
	for _, hd := range r.Headers {
		h = mix(h, maphash.String(seed, hd.Name))
		h = mix(h, maphash.String(seed, hd.Value))
	}
	if len(r.Body) <= smallBody {
		return mix(h, maphash.Bytes(seed, r.Body))
	}
	p := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(r.Body))))
	return mix(mix(h, p), uint64(len(r.Body)))
}

// mix folds v into the hash h.
func mix(h, v uint64) uint64 {
	h ^= v + 0x9e3779b97f4a7c15 + h<<6 + h>>2
	return h * 0xff51afd7ed558ccd
}

// sameRequest reports whether a and b are the same request in the sense
// of Pool.
func sameRequest(a, b *Request) bool {
	if a.Method != b.Method || a.Path != b.Path || a.Query != b.Query || a.Name != b.Name ||
		len(a.Headers) != len(b.Headers) || len(a.Body) != len(b.Body) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i] != b.Headers[i] {
			return false
		}
	}
	if len(a.Body) <= smallBody {
		return bytes.Equal(a.Body, b.Body)
	}
	return unsafe.SliceData(a.Body) == unsafe.SliceData(b.Body)
}

// Request returns request i of the job: Requests[Order[i%len(Order)]]
// when the job has an order, else Requests[i%len(Requests)]. The job must
// have requests.
func (j *Job) Request(i int) Request {
	if len(j.Order) > 0 {
		return j.Requests[j.Order[i%len(j.Order)]]
	}
	return j.Requests[i%len(j.Requests)]
}

// MaxRequestBytes bounds the size of one request (see Request.Size). The
// control plane sends a request in one message, so sources refuse larger
// requests when they load them.
const MaxRequestBytes = 32 << 20

// Size is the size of r's fields in bytes: method, path, query, name,
// header names and values, and body. It is what MaxRequestBytes bounds;
// the wire adds a few bytes per field.
func (r *Request) Size() int {
	n := len(r.Method) + len(r.Path) + len(r.Query) + len(r.Name) + len(r.Body)
	for _, h := range r.Headers {
		n += len(h.Name) + len(h.Value)
	}
	return n
}
