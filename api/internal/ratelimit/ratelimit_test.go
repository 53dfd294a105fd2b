package ratelimit

import (
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name      string
		rate      float64
		burst     int
		requests  int
		at        time.Duration // when the last request is made, after the first
		allowed   bool
		remaining int
	}{
		{"within the burst", 1, 3, 3, 0, true, 0},
		{"past the burst", 1, 3, 4, 0, false, 0},
		{"refilled after a second", 1, 3, 4, time.Second, true, 0},
		{"no limit", 0, 3, 100, 0, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(tt.rate, tt.burst)
			var d Decision
			for i := 0; i < tt.requests; i++ {
				at := now
				if i == tt.requests-1 {
					at = now.Add(tt.at)
				}
				d = l.Allow("sub", at)
			}
			if d.Allowed != tt.allowed || d.Remaining != tt.remaining {
				t.Fatalf("got allowed=%v remaining=%d, want %v %d", d.Allowed, d.Remaining, tt.allowed, tt.remaining)
			}
			if !d.Allowed && d.RetryAfter <= 0 {
				t.Fatalf("a refusal must say when to retry, got %v", d.RetryAfter)
			}
		})
	}
	l := New(1, 1)
	if !l.Allow("a", now).Allowed || !l.Allow("b", now).Allowed {
		t.Fatal("each subject has its own bucket")
	}
}
