//go:build go1.20

package main

import (
	"context"
	"os/exec"
	"syscall"
	"time"
)

const stopNote = "SIGTERM to the group, then after WaitDelay SIGKILL to the direct child only"

// command is what Go users write today: its own process group, Cancel
// sending the group SIGTERM when the context ends, and WaitDelay, after which
// os/exec kills the direct child (Process.Kill: that pid only) and stops
// waiting for its pipes. A TERM-ignoring grandchild outlives that kill.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 500 * time.Millisecond
	return cmd
}
