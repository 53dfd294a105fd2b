// Package ratelimit holds one token bucket per token subject, and says what
// the RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers) tell the
// client: the bucket's size, what is left, and when the next request fits.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is per-subject buckets of Rate requests a second, Burst deep.
type Limiter struct {
	Rate  float64
	Burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	limiter *rate.Limiter
	seen    time.Time
}

// Decision is one request's answer.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	ResetAfter time.Duration // until the bucket is full again
	RetryAfter time.Duration // when refused: until one request fits
}

// New makes a limiter; rate <= 0 means no limit.
func New(perSecond float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{Rate: perSecond, Burst: burst, buckets: map[string]*bucket{}}
}

// Allow takes one request from key's bucket.
func (l *Limiter) Allow(key string, now time.Time) Decision {
	if l.Rate <= 0 {
		return Decision{Allowed: true, Limit: l.Burst, Remaining: l.Burst}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{limiter: rate.NewLimiter(rate.Limit(l.Rate), l.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	d := Decision{Limit: l.Burst}
	d.Allowed = b.limiter.AllowN(now, 1)
	tokens := b.limiter.TokensAt(now)
	d.Remaining = int(math.Max(0, math.Floor(tokens)))
	d.ResetAfter = time.Duration((float64(l.Burst) - tokens) / l.Rate * float64(time.Second))
	if !d.Allowed {
		d.RetryAfter = time.Duration((1 - tokens) / l.Rate * float64(time.Second))
	}
	return d
}

// sweep forgets buckets idle long enough to be full again, once a minute.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	full := time.Duration(float64(l.Burst)/l.Rate*float64(time.Second)) + time.Second
	for k, b := range l.buckets {
		if now.Sub(b.seen) > full {
			delete(l.buckets, k)
		}
	}
}
