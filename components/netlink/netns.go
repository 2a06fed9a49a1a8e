package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on an OS thread in the network namespace of process pid
// (0: the helper's own), as CNI's ns.Do does: the goroutine is locked to its
// thread, the thread enters the namespace with setns, and goes back before
// it is unlocked. A thread that cannot go back is never unlocked, so Go ends
// it with the goroutine and no other work runs in the wrong namespace.
// Netlink sockets opened by fn are opened in that namespace. The error is
// only about entering the namespace.
func inNetns(pid int, fn func()) error {
	if pid == 0 {
		fn()
		return nil
	}
	target, err := openNetns(pid)
	if err != nil {
		return err
	}
	defer unix.Close(target)

	runtime.LockOSThread()
	home, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return &os.PathError{Op: "open", Path: "/proc/self/task/TID/ns/net", Err: err}
	}
	defer unix.Close(home)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return &os.PathError{Op: "setns", Path: fmt.Sprintf("/proc/%d/ns/net", pid), Err: err}
	}
	fn()
	if err := unix.Setns(home, unix.CLONE_NEWNET); err == nil {
		runtime.UnlockOSThread()
	}
	return nil
}

// openNetns opens the network namespace of process pid (ENOENT: the process is gone).
func openNetns(pid int) (int, error) {
	path := fmt.Sprintf("/proc/%d/ns/net", pid)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return fd, nil
}
