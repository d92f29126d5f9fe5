//go:build linux

package engine

import (
	"syscall"
	"time"
	"unsafe"
)

// Receive timestamps. A connection's socket has SO_TIMESTAMPNS set, so the
// kernel notes when each incoming packet arrived, and the reads of a
// rawIO use recvmsg(2) to learn it. The first arrival after a request is
// sent is when the target answered, whatever the generator was doing at
// that moment: a worker whose goroutine waits for the processor behind
// others reads its response late, but the kernel time is the target's.
// The connection sizing uses it to tell the target's latency from the
// generator's own delays (see targetTimes).
//
// Two limits, both of which only make a target time longer, up to the
// time to the response head that stands in for it: a read that takes
// several packets reports the last one's arrival (a large response head),
// and the kernel turns timestamps on in deferred work when the first socket
// asks for them, so the first answers after that may carry none.

// stampSpace is the control buffer of a timestamped read: one message
// header and a timespec, with room to spare.
const stampSpace = 64

// rxStamp is a rawIO's receive-timestamp state.
type rxStamp struct {
	on  bool  // the socket has SO_TIMESTAMPNS
	at  int64 // the first arrival since the last clear, in Unix ns; 0: none
	msg syscall.Msghdr
	iov syscall.Iovec
	oob [stampSpace]byte
}

// enableRxStamps sets SO_TIMESTAMPNS on rc's socket and reports whether it
// could.
func enableRxStamps(rc syscall.RawConn) bool {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	})
	return err == nil && serr == nil
}

// doRecv is doRead by recvmsg(2), keeping the arrival time of the bytes
// read when none is kept yet; false asks the poller to wait.
func (r *rawIO) doRecv(fd uintptr) bool {
	st := &r.stamp
	st.iov.Base = &r.rbuf[0]
	st.iov.SetLen(len(r.rbuf))
	st.msg.Iov, st.msg.Iovlen = &st.iov, 1
	st.msg.Control = &st.oob[0]
	st.msg.SetControllen(len(st.oob))
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&st.msg)), 0)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			r.readWaits++
			return false
		}
		r.rn, r.rerr = int(n), e
		if e == 0 && n > 0 && st.at == 0 {
			st.at = st.arrival()
		}
		return true
	}
}

// arrival returns the timestamp of the message just received, or 0 when
// it carried none.
func (st *rxStamp) arrival() int64 {
	const hdr = int(unsafe.Sizeof(syscall.Cmsghdr{}))
	const ts = int(unsafe.Sizeof(syscall.Timespec{}))
	if int(st.msg.Controllen) < hdr+ts {
		return 0
	}
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&st.oob[0]))
	if h.Level != syscall.SOL_SOCKET || h.Type != syscall.SO_TIMESTAMPNS || int(h.Len) < hdr+ts {
		return 0
	}
	return (*syscall.Timespec)(unsafe.Pointer(&st.oob[hdr])).Nano()
}

// clearArrival forgets the kept arrival time, before a request is sent.
func (r *rawIO) clearArrival() { r.stamp.at = 0 }

// answeredAfter returns how long after start the kernel received the first
// bytes read since clearArrival, and false when it has no such time.
func (r *rawIO) answeredAfter(start time.Time) (time.Duration, bool) {
	if r.stamp.at == 0 {
		return 0, false
	}
	return time.Unix(0, r.stamp.at).Sub(start), true
}
