//go:build !go1.20

package main

import (
	"context"
	"os/exec"
	"syscall"
)

const how = "exec.Cmd.Cancel needs Go 1.20, so: exec.Command + Setpgid + a goroutine per command that signals the group on ctx.Done()"

// start is what Go 1.19 allows: CommandContext's own kill reaches only the
// leader (and would race with a group kill), so a goroutine per command
// signals the group when the context ends.
func start(ctx context.Context, sig syscall.Signal, name string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pgid := cmd.Process.Pid
	go func() {
		<-ctx.Done()
		_ = syscall.Kill(-pgid, sig)
	}()
	return cmd, nil
}
