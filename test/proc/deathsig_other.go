//go:build !linux

package proc

import "syscall"

// dieWithParent: no Pdeathsig here; guardStarted hands the child to the watchdog.
func dieWithParent() *syscall.SysProcAttr { return nil }

func guardStarted(pid int) error { return Guard(pid) }
