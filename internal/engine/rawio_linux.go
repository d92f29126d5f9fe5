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
	r.rfunc, r.wfunc = r.doRead, r.doWrite
	return r
}

// doRead is one read attempt; false asks the poller to wait.
func (r *rawIO) doRead(fd uintptr) bool {
	n, e, ok := rawCall(syscall.SYS_READ, fd, r.rbuf)
	r.rn, r.rerr = n, e
	return ok
}

// doWrite is one write attempt; false asks the poller to wait.
func (r *rawIO) doWrite(fd uintptr) bool {
	n, e, ok := rawCall(syscall.SYS_WRITE, fd, r.wbuf)
	r.wn, r.werr = n, e
	return ok
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
