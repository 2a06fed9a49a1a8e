// hostnet-netlink: the host layer's hands on this machine. One process per
// engine process (components/src/host/helper.ts starts it on first use),
// reading requests from standard input and answering on standard output, one
// JSON object per line each way. A request is a list of operations for one
// network namespace (the host's, or a process's, by PID); they run in order
// over netlink (github.com/vishvananda/netlink), on an OS thread moved into
// the namespace with setns, and stop at the first failure, which is answered
// with its errno and the kernel's own message. Requests run concurrently;
// answers carry the request's id.
//
//	-> {"id":1,"ns":4242,"ops":[{"op":"addrAdd","name":"eth0","cidr":"10.0.0.2/24"},{"op":"linkSet","name":"eth0","up":true}]}
//	<- {"id":1,"results":[null,null]}
//	<- {"id":2,"error":{"index":0,"errno":"EEXIST","message":"file exists"}}
//
// The first line it writes is {"hello":"hostnet-netlink","protocol":N}. It
// exits when its standard input closes (its engine process is gone).
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/vishvananda/netlink/nl"
)

// Protocol is the version of the request and answer shapes; the engine refuses another.
// 2: ipv6Enable. 3: sublinkAdd and linkSet's newName beside ipv6Enable (the
// dual-stack and macvlan work met; a helper of either alone lacks an operation).
const Protocol = 3

// Request is one line of input.
type Request struct {
	ID int64 `json:"id"`
	// NS is the PID whose network namespace the operations run in; 0: the helper's own (the host's).
	NS  int  `json:"ns,omitempty"`
	Ops []Op `json:"ops"`
}

// Answer is one line of output: Results (one per operation) or Error.
type Answer struct {
	ID      int64  `json:"id"`
	Results []any  `json:"results,omitempty"`
	Error   *Error `json:"error,omitempty"`
}

// Error says which operation failed and why, at the level of the kernel's errno.
type Error struct {
	// Index of the failed operation in the request.
	Index int `json:"index"`
	// Errno is the symbolic errno ("EEXIST", "ENODEV", ...), or "" when the failure has none.
	Errno string `json:"errno,omitempty"`
	// Message is the kernel's words: strerror, and its extended acknowledgement when it sent one.
	Message string `json:"message"`
	// Netns is set when the request's namespace could not be entered (its process is gone).
	Netns bool `json:"netns,omitempty"`
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Printf("hostnet-netlink protocol %d\n", Protocol)
		return
	}
	// The kernel's own words (e.g. "Nexthop has invalid gateway") in error messages.
	nl.EnableErrorMessageReporting = true

	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	write := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		if err := out.Encode(v); err != nil {
			// The engine process is gone: nothing is left to answer.
			os.Exit(0)
		}
	}
	write(map[string]any{"hello": "hostnet-netlink", "protocol": Protocol})

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 64*1024*1024)
	var running sync.WaitGroup
	for in.Scan() {
		var req Request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			write(Answer{ID: req.ID, Error: &Error{Message: "unreadable request: " + err.Error()}})
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			write(serve(req))
		}()
	}
	running.Wait()
}

// serve runs a request's operations in its namespace, in order, up to the first failure.
func serve(req Request) Answer {
	results := make([]any, 0, len(req.Ops))
	var failed *Error
	err := inNetns(req.NS, func() {
		for i, op := range req.Ops {
			r, err := run(op)
			if err != nil {
				failed = errorOf(i, err)
				return
			}
			results = append(results, r)
		}
	})
	if err != nil {
		e := errorOf(0, err)
		e.Netns = true
		return Answer{ID: req.ID, Error: e}
	}
	if failed != nil {
		return Answer{ID: req.ID, Error: failed}
	}
	return Answer{ID: req.ID, Results: results}
}
