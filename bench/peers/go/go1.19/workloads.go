// workloads (Go 1.19): the footnote peer of W1, W5 and W6, written as the
// os/exec documentation of Go 1.19 (Debian 12's golang-1.19) shows
// (../workloads.go is the peer as Go users write it today):
//
//	W1  exec.Command("/bin/true").Run(), N times
//	W5  exec.CommandContext(ctx, "/bin/sh", "-c", "sleep 30 & sleep 30").Output()
//	    with a 1 s context.WithTimeout
//	W6  exec.CommandContext(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 30`).Run()
//	    with a 0.5 s context.WithTimeout
//
// CommandContext kills only the direct child, with SIGKILL. Go 1.20 added
// cmd.Cancel (to send SIGTERM first, or signal the group) and cmd.WaitDelay
// (to stop waiting for pipes held by grandchildren); 1.19 has neither, so
// W5 waits for the grandchildren and W6 has no grace period.
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (the CPU of every
// thread of this process) or "W5|W6 <seconds> s".
//
// Usage: workloads_go119 W1 [N] | W5 | W6
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

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: workloads_go119 W1 [N] | W5 | W6")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "W1":
		n := 2000
		if len(os.Args) > 2 {
			n, _ = strconv.Atoi(os.Args[2])
		}
		cpu0 := cpuSeconds()
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := exec.Command("/bin/true").Run(); err != nil {
				fmt.Fprintln(os.Stderr, "workloads_go119:", err)
				os.Exit(1)
			}
		}
		s := time.Since(t0).Seconds()
		fmt.Printf("W1 %.1f spawns/s, %.1f us CPU per spawn\n", float64(n)/s, (cpuSeconds()-cpu0)*1e6/float64(n))
	case "W5":
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := exec.CommandContext(ctx, "/bin/sh", "-c", "sleep 30 & sleep 30").Output()
		fmt.Printf("W5 %.3f s\n", time.Since(t0).Seconds())
		fmt.Printf("note: %v\n", err)
	case "W6":
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := exec.CommandContext(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 30`).Run()
		fmt.Printf("W6 %.3f s\n", time.Since(t0).Seconds())
		fmt.Printf("note: %v; no grace: CommandContext sends SIGKILL (cmd.Cancel is Go 1.20)\n", err)
	default:
		fmt.Fprintln(os.Stderr, "workloads_go119: unknown workload", os.Args[1])
		os.Exit(2)
	}
}
