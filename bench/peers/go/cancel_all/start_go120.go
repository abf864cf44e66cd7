//go:build go1.20

package main

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

const how = "exec.CommandContext + Setpgid + Cmd.Cancel + Cmd.WaitDelay 0.5 s"

// start is what Go users write today: the context's end runs Cancel, which
// signals the whole group; WaitDelay later os/exec kills the direct child.
func start(ctx context.Context, sig syscall.Signal, name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, sig) }
	cmd.WaitDelay = 500 * time.Millisecond
	return cmd, cmd.Start()
}
