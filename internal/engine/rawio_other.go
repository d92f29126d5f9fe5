//go:build !linux

package engine

import (
	"net"
	"time"
)

// rawIO is only used on Linux; elsewhere connections use net.Conn.
type rawIO struct{}

func newRawIO(net.Conn) *rawIO { return nil }

func (*rawIO) read([]byte) (int, error)                  { panic("unreachable") }
func (*rawIO) write([]byte) (int, error)                 { panic("unreachable") }
func (*rawIO) writeRead(_, _ []byte) (int, error, error) { panic("unreachable") }

func (*rawIO) clearArrival()                                 { panic("unreachable") }
func (*rawIO) answeredAfter(time.Time) (time.Duration, bool) { panic("unreachable") }
