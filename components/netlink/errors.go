package main

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// errorOf is the answer for operation i's failure: the errno (symbolic, as
// components/src/host/errors.ts classifies it) and the kernel's message.
func errorOf(i int, err error) *Error {
	e := &Error{Index: i, Message: err.Error()}
	var errno syscall.Errno
	var usage Usage
	switch {
	case errors.As(err, &errno):
		e.Errno = unix.ErrnoName(errno)
	case errors.As(err, &usage):
		e.Message = "hostnet-netlink: " + string(usage)
	}
	return e
}
