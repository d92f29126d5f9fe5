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
// was. Pool does not copy bodies; the pool shares them with seq.
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
	seed := maphash.MakeSeed()
	index := make(map[uint64][]uint32, min(len(seq), 1024))
	order = make([]uint32, len(seq))
	for i := range seq {
		r := &seq[i]
		h := requestHash(seed, r)
		found := -1
		for _, k := range index[h] {
			if sameRequest(&pool[k], r) {
				found = int(k)
				break
			}
		}
		if found < 0 {
			found = len(pool)
			pool = append(pool, *r)
			index[h] = append(index[h], uint32(found))
		}
		order[i] = uint32(found)
	}
	if len(pool) == len(seq) || isCycle(order, len(pool)) {
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
	var h maphash.Hash
	h.SetSeed(seed)
	for _, s := range [...]string{r.Method, r.Path, r.Query, r.Name} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	for _, hd := range r.Headers {
		h.WriteString(hd.Name)
		h.WriteByte(0)
		h.WriteString(hd.Value)
		h.WriteByte(0)
	}
	if len(r.Body) <= smallBody {
		h.Write(r.Body)
	} else {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(r.Body)))
		var b [16]byte
		for i := range 8 {
			b[i] = byte(p >> (8 * i))
			b[8+i] = byte(len(r.Body) >> (8 * i))
		}
		h.Write(b[:])
	}
	return h.Sum64()
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
