// cancel_all: the Go peer of procctx's cancel-all workload (W3): start N
// `sleep 60` children under one context, each in its own process group,
// cancel the context and time until every Wait() has returned. One
// goroutine per command blocks in Wait (os/exec has no other way to learn of
// an exit), so the runtime holds about one OS thread per child.
//
// How a command is started and stopped is what Go users write with the Go
// that builds this (start_go120.go: Go 1.20 and later, Cmd.Cancel and
// Cmd.WaitDelay; start_go119.go: Debian 12's own Go 1.19, which has neither).
//
// -sig KILL makes the stop SIGKILL instead of SIGTERM, as the C side sends.
//
// Prints "note: ..." then one line per repetition, which spawn_bench reads:
//
//	rep R: start-all X ms, cancel-all Y ms, threads T, K/N killed by SIGTERM, cancel CPU Z ms
//
// Usage: cancel_all_go [-n 1000] [-reps 1] [-sig TERM|KILL]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// threads is this process's OS thread count, as the kernel sees it.
func threads() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); strings.HasPrefix(line, "Threads:") {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Threads:")))
			return n
		}
	}
	return -1
}

// cpuSeconds is this process's CPU time so far, every thread.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

type figures struct {
	startMs, cancelMs float64
	cancelCPUMs       float64 // this process's CPU (every thread) while cancelling
	threads, killed   int
}

func once(n int, sig syscall.Signal) figures {
	var f figures
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var killed atomic.Int64
	t0 := time.Now()
	for i := 0; i < n; i++ {
		cmd, err := start(ctx, sig, "/bin/sleep", "60")
		if err != nil {
			fmt.Fprintf(os.Stderr, "cancel_all_go: start %d: %v\n", i, err)
			os.Exit(1)
		}
		wg.Add(1)
		go func(c *exec.Cmd) {
			defer wg.Done()
			_ = c.Wait() // the context's error or "signal: ...": the expected outcome
			if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == sig {
				killed.Add(1)
			}
		}(cmd)
	}
	f.startMs = float64(time.Since(t0).Microseconds()) / 1e3
	// Each Wait blocks an OS thread in the kernel; let the last ones get there
	// before counting.
	time.Sleep(300 * time.Millisecond)
	f.threads = threads()

	cpu0 := cpuSeconds()
	t1 := time.Now()
	cancel()
	wg.Wait()
	f.cancelMs = float64(time.Since(t1).Microseconds()) / 1e3
	f.cancelCPUMs = (cpuSeconds() - cpu0) * 1e3
	f.killed = int(killed.Load())
	return f
}

func main() {
	n := flag.Int("n", 1000, "children per repetition")
	reps := flag.Int("reps", 1, "repetitions")
	sigName := flag.String("sig", "TERM", "what the stop sends the group: TERM or KILL")
	flag.Parse()
	sig := syscall.SIGTERM
	if *sigName == "KILL" {
		sig = syscall.SIGKILL
	} else if *sigName != "TERM" {
		fmt.Fprintln(os.Stderr, "cancel_all_go: -sig takes TERM or KILL")
		os.Exit(2)
	}

	fmt.Printf("note: %s; %s (SIG%s to the group), one goroutine in Wait per command\n", runtime.Version(), how, *sigName)
	for r := 1; r <= *reps; r++ {
		f := once(*n, sig)
		fmt.Printf("rep %d: start-all %.0f ms, cancel-all %.1f ms, threads %d, %d/%d killed by SIG%s, cancel CPU %.1f ms\n",
			r, f.startMs, f.cancelMs, f.threads, f.killed, *n, *sigName, f.cancelCPUMs)
	}
}
