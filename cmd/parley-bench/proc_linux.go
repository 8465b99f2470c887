package main

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
)

// childAttr makes a started server die with the bench, whatever ends the bench.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit (the server inherits it).
func raiseFileLimit() uint64 {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil {
		return 0
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r)
	}
	return r.Cur
}

// signalHeapProfile asks a server started with -memprofile for a heap profile.
func signalHeapProfile(p *os.Process) { _ = p.Signal(syscall.SIGUSR1) }

// processGone reports whether pid has died: no such process, or a zombie that its
// parent has not reaped yet (a SIGKILLed node of scripts/cluster-bench.sh is one
// until the shell gets to it; its sockets are closed all the same).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}
