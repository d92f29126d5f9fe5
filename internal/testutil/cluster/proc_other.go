//go:build !linux

package cluster

import "os/exec"

// setDeathSignal does nothing where the kernel offers no parent-death
// signal; Cluster.Stop still ends the processes at test cleanup.
func setDeathSignal(*exec.Cmd) {}
