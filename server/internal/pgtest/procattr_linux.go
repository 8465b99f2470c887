package pgtest

import "syscall"

// procAttr runs a child as cred (nil: this user) and has the kernel send it SIGINT,
// PostgreSQL's fast shutdown, if this process dies first.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
}
