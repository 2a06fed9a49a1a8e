package main

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The protocol's answers that need no privilege: a bad operation, a namespace
// whose process is gone, errno naming, and a program run by exec. What needs
// the kernel (links, addresses, routes in namespaces) is checked against the
// real kernel by test/host/fakeKernel.test.ts, which runs this helper.

func TestUnknownOperationIsAnswered(t *testing.T) {
	a := serve(Request{ID: 7, Ops: []Op{{Op: "netnsOf", PID: os.Getpid()}, {Op: "frobnicate"}}})
	if a.ID != 7 || a.Error == nil || a.Error.Index != 1 || a.Error.Errno != "" {
		t.Fatalf("want an error for operation 1 with no errno, got %+v", a)
	}
	if a.Error.Message != `hostnet-netlink: unknown operation "frobnicate"` {
		t.Fatalf("message: %q", a.Error.Message)
	}
}

func TestGoneNamespaceIsFlagged(t *testing.T) {
	a := serve(Request{ID: 1, NS: 1 << 30, Ops: []Op{{Op: "linkList"}}})
	if a.Error == nil || !a.Error.Netns || a.Error.Errno != "ENOENT" {
		t.Fatalf("want ENOENT on the namespace, got %+v", a.Error)
	}
}

func TestErrnoIsNamedSymbolically(t *testing.T) {
	for errno, name := range map[unix.Errno]string{unix.EEXIST: "EEXIST", unix.ENODEV: "ENODEV", unix.EADDRNOTAVAIL: "EADDRNOTAVAIL", unix.ESRCH: "ESRCH"} {
		e := errorOf(3, fmt.Errorf("%w: with the kernel's words", errno))
		if e.Errno != name || e.Index != 3 {
			t.Errorf("%v: got %+v", errno, e)
		}
	}
	if e := errorOf(0, noDevice("eth9")); e.Errno != "ENODEV" || e.Message != `Cannot find device "eth9"` {
		t.Errorf("a missing link: got %+v", e)
	}
}

func TestExecRunsWithoutShellAndReportsExit(t *testing.T) {
	input := "in"
	r, err := execute([]string{"sh", "-c", `read x; echo "out $x"; echo err >&2; exit 3`}, &input)
	if err != nil {
		t.Fatal(err)
	}
	got := r.(Executed)
	if got.ExitCode != 3 || got.Stdout != "out in\n" || got.Stderr != "err\n" {
		t.Fatalf("got %+v", got)
	}
	if _, err := execute([]string{"/nonexistent/program"}, nil); err == nil {
		t.Fatal("a missing program is an error")
	}
}

func TestFlagsAsIproute2PrintsThem(t *testing.T) {
	got := fmt.Sprint(flags(unix.IFF_UP | unix.IFF_BROADCAST | unix.IFF_MULTICAST))
	if got != "[NO-CARRIER BROADCAST MULTICAST UP]" {
		t.Fatalf("got %s", got)
	}
}
