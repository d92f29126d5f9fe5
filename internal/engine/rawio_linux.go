//go:build linux

package engine

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// rawIO reads and writes a TCP connection's socket with raw system calls,
// still waiting for readiness through the runtime's poller (and so still
// honouring deadlines). A plain net.Conn enters the scheduler's syscall
// state for every read and write; on loopback a write runs the receiving
// side's TCP processing too and often lasts longer than the 20 µs after
// which the runtime's monitor thread takes the processor away and starts
// another thread to run it. At one processor that hand-off, and the
// monitor polling every 20 µs to find it, cost more CPU than the requests
// themselves. The socket is non-blocking, so a raw call never blocks.
//
// A rawIO is used by one reader and one writer at a time (fasthttp's
// contract for a connection); its closures are made once so that a read
// or write allocates nothing.
type rawIO struct {
	rc syscall.RawConn

	rbuf  []byte
	rn    int
	rerr  syscall.Errno
	rfunc func(fd uintptr) bool

	wbuf  []byte
	wn    int
	werr  syscall.Errno
	wfunc func(fd uintptr) bool

	// pend is what writeRead has still to write; wrfunc is doWriteRead.
	pend   []byte
	wrfunc func(fd uintptr) bool
	// readWaits counts the read attempts that found nothing to read.
	readWaits int64
	// stamp keeps the arrival time of the response (rxstamp_linux.go).
	stamp rxStamp
}

// newRawIO returns a rawIO for conn, or nil when conn has no raw access.
func newRawIO(conn net.Conn) *rawIO {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawIO{rc: rc}
	r.rfunc, r.wfunc, r.wrfunc = r.doRead, r.doWrite, r.doWriteRead
	r.stamp.on = enableRxStamps(rc)
	return r
}

// doRead is one read attempt; false asks the poller to wait.
func (r *rawIO) doRead(fd uintptr) bool {
	if r.stamp.on {
		return r.doRecv(fd)
	}
	n, e, ok := rawCall(syscall.SYS_READ, fd, r.rbuf)
	r.rn, r.rerr = n, e
	if !ok {
		r.readWaits++
	}
	return ok
}

// doWrite is one write attempt; false asks the poller to wait.
func (r *rawIO) doWrite(fd uintptr) bool {
	n, e, ok := rawCall(syscall.SYS_WRITE, fd, r.wbuf)
	r.wn, r.werr = n, e
	return ok
}

// doWriteRead writes r.pend on its first call and reads after that. A
// complete write returns false, so that the poller waits for the answer;
// a write that would block, fails or is partial ends the attempt (true)
// and leaves the rest to writeRead.
func (r *rawIO) doWriteRead(fd uintptr) bool {
	if len(r.pend) == 0 {
		return r.doRead(fd)
	}
	n, e, ok := rawCall(syscall.SYS_WRITE, fd, r.pend)
	switch {
	case !ok:
		return true
	case e != 0:
		r.werr = e
		return true
	}
	r.pend = r.pend[n:]
	return len(r.pend) > 0
}

// rawCall makes one read(2) or write(2) (trap) of b on the non-blocking
// descriptor fd as a raw system call, again after EINTR. ok is false when
// the call would block, and the caller should wait for the poller.
func rawCall(trap, fd uintptr, b []byte) (n int, errno syscall.Errno, ok bool) {
	for {
		r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0, false
		}
		return int(r), e, true
	}
}

// read reads into b as net.Conn.Read does.
func (r *rawIO) read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.rbuf, r.rn, r.rerr = b, 0, 0
	err := r.rc.Read(r.rfunc)
	r.rbuf = nil
	return r.readResult(err)
}

// writeRead writes all of w and then reads into b, as write followed by
// read does, but without the read that fails because the answer has not
// come yet: the write is made inside the poller's read wait, after the
// runtime has reset the descriptor's readiness and before it waits, so the
// answer's readiness cannot be missed and the first read attempt is made
// once the answer is there. (A read attempt skipped before the wait
// instead could lose a readiness report that came first, and wait for the
// deadline.) A write that would block falls back to write and read. werr
// is a failure of the write, rerr of the read.
func (r *rawIO) writeRead(w, b []byte) (n int, werr, rerr error) {
	if len(w) == 0 || len(b) == 0 {
		if _, werr = r.write(w); werr != nil {
			return 0, werr, nil
		}
		n, rerr = r.read(b)
		return n, nil, rerr
	}
	r.pend, r.werr = w, 0
	r.rbuf, r.rn, r.rerr = b, 0, 0
	err := r.rc.Read(r.wrfunc)
	r.rbuf = nil
	rest := r.pend
	r.pend = nil
	switch {
	case err != nil && len(rest) == len(w):
		return 0, err, nil // not written: the deadline passed or the connection closed
	case err == nil && r.werr != 0:
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", r.werr)}, nil
	case err == nil && len(rest) > 0:
		if _, werr = r.write(rest); werr != nil {
			return 0, werr, nil
		}
		n, rerr = r.read(b)
		return n, nil, rerr
	}
	n, rerr = r.readResult(err)
	return n, nil, rerr
}

// readResult turns the outcome of a read attempt into read's results.
func (r *rawIO) readResult(err error) (int, error) {
	switch {
	case err != nil:
		return 0, err
	case r.rerr != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", r.rerr)}
	case r.rn == 0:
		return 0, io.EOF
	}
	return r.rn, nil
}

// write writes all of b as net.Conn.Write does.
func (r *rawIO) write(b []byte) (int, error) {
	done := 0
	for done < len(b) {
		r.wbuf, r.wn, r.werr = b[done:], 0, 0
		err := r.rc.Write(r.wfunc)
		r.wbuf = nil
		if err == nil && r.werr != 0 {
			err = &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", r.werr)}
		}
		if err != nil {
			return done, err
		}
		done += r.wn
	}
	return done, nil
}
