// cancel_all: the Go peer of procctx's cancel-all workload (W3): start N
// `sleep 60` children, each in its own process group, cancel one context,
// and time until every Wait() has returned.
//
// Go 1.20+ documents exec.CommandContext with cmd.Cancel killing the group
// for this. Go 1.19 (Debian 12's golang-1.19) has no cmd.Cancel, and
// CommandContext's own kill reaches only the leader and would race with a
// group kill, so this does what 1.19 allows: exec.Command, Setpgid, and one
// goroutine per command that waits for ctx.Done() and sends SIGKILL to the
// whole group. The kill is the same SIGKILL the C and procctx sides send.
//
// Usage: cancel_all_go [-n 1000] [-reps 3]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
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

type figures struct {
	startMs, cancelMs float64
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

	t1 := time.Now()
	cancel()
	wg.Wait()
	f.cancelMs = float64(time.Since(t1).Microseconds()) / 1e3
	f.killed = int(killed.Load())
	return f
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func main() {
	n := flag.Int("n", 1000, "children per repetition")
	reps := flag.Int("reps", 3, "repetitions (figures are medians)")
	flag.Parse()

	fmt.Printf("go note: %s; exec.Cmd.Cancel needs Go 1.20, so: exec.Command + Setpgid + a goroutine per command that kill(-pgid, SIGKILL)s on ctx.Done()\n", runtime.Version())
	var start, cancelMs, thr []float64
	for r := 1; r <= *reps; r++ {
		f := once(*n)
		fmt.Printf("go rep %d: start-all %.0f ms, cancel-all %.1f ms, threads %d, %d/%d killed by SIGKILL\n",
			r, f.startMs, f.cancelMs, f.threads, f.killed, *n)
		start = append(start, f.startMs)
		cancelMs = append(cancelMs, f.cancelMs)
		thr = append(thr, float64(f.threads))
	}
	fmt.Printf("go start-all: %.0f ms\n", median(start))
	fmt.Printf("go cancel-all: %.1f ms\n", median(cancelMs))
	fmt.Printf("go threads while running: %.0f\n", median(thr))
}
