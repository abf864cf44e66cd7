// cancel_all (Go 1.19): the footnote peer of procctx's cancel-all workload
// (W3), as Debian 12's own Go allows it: start N `sleep 60` children, each in
// its own process group, cancel one context, and time until every Wait() has
// returned. ../cancel_all.go is the peer as Go users write it today.
//
// Go 1.20+ documents exec.CommandContext with cmd.Cancel killing the group
// for this. Go 1.19 (Debian 12's golang-1.19) has no cmd.Cancel, and
// CommandContext's own kill reaches only the leader and would race with a
// group kill, so this does what 1.19 allows: exec.Command, Setpgid, and one
// goroutine per command that waits for ctx.Done() and sends SIGKILL to the
// whole group. The kill is the same SIGKILL the C and procctx sides send.
//
// Prints "note: ..." then one line per repetition, which spawn_bench reads:
//
//	rep R: start-all X ms, cancel-all Y ms, threads T, K/N killed by SIGKILL, cancel CPU Z ms
//
// Usage: cancel_all_go119 [-n 1000] [-reps 1]
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

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

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

type figures struct {
	startMs, cancelMs float64
	cancelCPUMs       float64 // this process's CPU (every thread) while cancelling
	threads, killed   int
}

func once(n int) figures {
	var f figures
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var killed atomic.Int64
	t0 := time.Now()
	for i := 0; i < n; i++ {
		cmd := exec.Command("/bin/sleep", "60")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "go cancel-all: start %d: %v\n", i, err)
			os.Exit(1)
		}
		pgid := cmd.Process.Pid
		go func() {
			<-ctx.Done()
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}()
		wg.Add(1)
		go func(c *exec.Cmd) {
			defer wg.Done()
			_ = c.Wait() // "signal: killed" is the expected outcome
			if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
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
	flag.Parse()

	fmt.Printf("note: %s; exec.Cmd.Cancel needs Go 1.20, so: exec.Command + Setpgid + a goroutine per command that kill(-pgid, SIGKILL)s on ctx.Done()\n", runtime.Version())
	for r := 1; r <= *reps; r++ {
		f := once(*n)
		fmt.Printf("rep %d: start-all %.0f ms, cancel-all %.1f ms, threads %d, %d/%d killed by SIGKILL, cancel CPU %.1f ms\n",
			r, f.startMs, f.cancelMs, f.threads, f.killed, *n, f.cancelCPUMs)
	}
}
