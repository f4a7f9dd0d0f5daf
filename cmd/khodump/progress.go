package main

import (
	"fmt"
	"os"
	"time"

	"github.com/khokit/khokit/kho/physmem"
)

// progressMin is the image size from which a scan draws a progress bar.
const progressMin = 256 << 20

// newProgress returns a Locate progress callback drawing a bar on stderr,
// or nil when there should be none: --no-progress, -q, a small image, or
// stderr not a terminal. Called with done = 2^64-1 it clears the bar.
func newProgress(o *options, mem physmem.Memory) func(done, total uint64) {
	if o.noProgress || o.quiet || presentBytes(mem) < progressMin || !isTerminal(os.Stderr) {
		return nil
	}
	var last time.Time
	drawn := false
	return func(done, total uint64) {
		if done == ^uint64(0) {
			if drawn {
				fmt.Fprint(o.stderr, "\r\033[K")
			}
			return
		}
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || done == total {
			last, drawn = now, true
			fmt.Fprint(o.stderr, "\r"+progressLine(done, total, 30))
		}
	}
}

// progressLine renders "scanning [=====     ] 45% 230.0 MiB / 512.0 MiB".
func progressLine(done, total uint64, width int) string {
	if total == 0 {
		total = 1
	}
	done = min(done, total)
	fill := int(done * uint64(width) / total)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = ' '
		if i < fill {
			bar[i] = '='
		}
	}
	return fmt.Sprintf("scanning [%s] %3d%% %s / %s", bar, done*100/total, human(done), human(total))
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
