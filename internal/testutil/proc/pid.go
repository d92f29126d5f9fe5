package proc

// PID returns the operating-system process id of the running binary, for
// tests that read its /proc entries (resident memory, open descriptors).
func (p *Proc) PID() int {
	return p.cmd.Process.Pid
}
