package campaign

import (
	"testing"
	"time"
)

func TestMinimizeFor(t *testing.T) {
	for _, tt := range []struct{ slice, want time.Duration }{
		{3 * time.Second, time.Second},
		{30 * time.Second, 3 * time.Second},
		{10 * time.Minute, minimizeTime},
	} {
		if got := minimizeFor(tt.slice); got != tt.want {
			t.Errorf("minimizeFor(%v) = %v, want %v", tt.slice, got, tt.want)
		}
	}
}
