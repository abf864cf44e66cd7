// workloads: the Go peer of W1, W5 and W6 as Go users write it today (Go
// 1.20 and later, here Debian's golang-1.23 from bookworm-backports): every
// command through exec.CommandContext, in its own process group (Setpgid),
// with Cmd.Cancel sending SIGTERM to that group and Cmd.WaitDelay 0.5 s:
//
//	W1  CommandContext(ctx, "/bin/true").Run(), N times, under one
//	    cancelable context that never ends (so each command has the context
//	    watch any real one has)
//	W5  CommandContext(ctx, "/bin/sh", "-c", "sleep 30 & sleep 30").Output()
//	    with a 1 s context.WithTimeout
//	W6  CommandContext(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 30`).Run()
//	    with a 0.5 s context.WithTimeout
//
// When the context ends, Cancel sends the group SIGTERM; WaitDelay later,
// os/exec kills the direct child (Process.Kill, SIGKILL to that pid only)
// and stops waiting for its pipes. So in W6 the TERM-ignoring sleep is left
// running: the final kill does not reach the group.
// ./go1.19/workloads.go is the footnote peer for Debian 12's own Go.
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (the CPU of every
// thread of this process) or "W5|W6 <seconds> s".
//
// Usage: workloads_go W1 [N] | W5 | W6
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 500 * time.Millisecond
	return cmd
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: workloads_go W1 [N] | W5 | W6")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "W1":
		n := 2000
		if len(os.Args) > 2 {
			n, _ = strconv.Atoi(os.Args[2])
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cpu0 := cpuSeconds()
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := command(ctx, "/bin/true").Run(); err != nil {
				fmt.Fprintln(os.Stderr, "workloads_go:", err)
				os.Exit(1)
			}
		}
		s := time.Since(t0).Seconds()
		fmt.Printf("W1 %.1f spawns/s, %.1f us CPU per spawn\n", float64(n)/s, (cpuSeconds()-cpu0)*1e6/float64(n))
	case "W5":
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := command(ctx, "/bin/sh", "-c", "sleep 30 & sleep 30").Output()
		fmt.Printf("W5 %.3f s\n", time.Since(t0).Seconds())
		fmt.Printf("note: %v\n", err)
	case "W6":
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := command(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 30`).Run()
		fmt.Printf("W6 %.3f s\n", time.Since(t0).Seconds())
		fmt.Printf("note: %v; SIGTERM to the group, then after WaitDelay SIGKILL to the direct child only\n", err)
	default:
		fmt.Fprintln(os.Stderr, "workloads_go: unknown workload", os.Args[1])
		os.Exit(2)
	}
}
