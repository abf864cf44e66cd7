//go:build !go1.20

package main

import (
	"context"
	"os/exec"
)

const stopNote = "no grace: CommandContext sends SIGKILL to the direct child only (Cmd.Cancel and WaitDelay are Go 1.20)"

// command is what the os/exec documentation of Go 1.19 shows: the context's
// end kills the direct child with SIGKILL; Wait then waits for every holder
// of its pipes, grandchildren included.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, name, args...)
}
