package cluster

import (
	"os/exec"
	"syscall"
)

// setDeathSignal asks the kernel to kill the child if this process dies,
// so a test binary killed by its -timeout leaves no etcd or apiserver
// holding ports behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
