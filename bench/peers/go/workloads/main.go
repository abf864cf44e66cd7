// workloads: the Go peer of W1, W5 and W6, every command made by command()
// as Go users write it with the Go that builds this (command_go120.go: Go
// 1.20 and later, as today; command_go119.go: Debian 12's own Go 1.19):
//
//	W1  command(ctx, "/bin/true").Run(), N times, under one cancelable
//	    context that never ends (so each command has the context watch any
//	    real one has)
//	W5  command(ctx, "/bin/sh", "-c", "sleep 30 & sleep 30").Output() with a
//	    1 s context.WithTimeout
//	W6  command(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 30`).Run() with a
//	    0.5 s context.WithTimeout
//
// Prints "W1 <rate> spawns/s, <cpu> us CPU per spawn" (the CPU of every
// thread of this process) or "W5|W6 <seconds> s", then "note: ...".
//
// Usage: workloads_go W1 [N] | W5 | W6
package main

import (
	"context"
	"fmt"
	"os"
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
		fmt.Printf("note: %v; %s\n", err, stopNote)
	case "W6":
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := command(ctx, "/bin/sh", "-c", `trap "" TERM; sleep 30`).Run()
		fmt.Printf("W6 %.3f s\n", time.Since(t0).Seconds())
		fmt.Printf("note: %v; %s\n", err, stopNote)
	default:
		fmt.Fprintln(os.Stderr, "workloads_go: unknown workload", os.Args[1])
		os.Exit(2)
	}
}
