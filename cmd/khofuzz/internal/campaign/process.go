package campaign

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// interruptGrace is how long a test binary may take to wind down (stop its
// fuzzing workers, print its last progress line) after an interrupt.
const interruptGrace = 10 * time.Second

// run executes a test binary in dir and returns its combined output. The
// binary runs in its own process group so that the fuzzing workers it
// starts are stopped with it: on ctx's end the group gets SIGINT, and
// anything left after the grace period SIGKILL. A non-zero exit is
// returned as *exec.ExitError alongside the output.
func run(ctx context.Context, dir string, env []string, echo io.Writer, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	var w io.Writer = &out
	if echo != nil {
		w = io.MultiWriter(&out, echo)
	}
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = interruptGrace
	err := cmd.Run()
	if cmd.Process != nil {
		// Workers orphaned by a crashed coordinator still belong to the
		// group; ESRCH (nothing left) is the normal case.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil && err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// Interrupted: the binary's verdict is not a finding.
			return out.Bytes(), ctx.Err()
		}
	}
	return out.Bytes(), err
}

// withTimeout derives a context that also ends after d (d <= 0: never).
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
