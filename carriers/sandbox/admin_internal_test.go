package sandbox

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestTrafficPeakIsTheBusiestMinute(t *testing.T) {
	l := newTrafficLog()
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	// Five calls within 59.9 s; the sixth, at 61 s, shares its minute with
	// only three of them (the window ends at each call and looks back 60 s);
	// the last is alone.
	for _, at := range []int{0, 1000, 2000, 59500, 59900, 61000, 200000} {
		l.record(Post, ms(at))
	}
	v := l.view(Post)
	assert.Equal(t, 7, v.Requests)
	assert.Equal(t, 5, v.PeakPerMinute)
	assert.Equal(t, 120, v.RateLimitPerMinute)
	assert.Len(t, l.byCarrier[Post].recent, 1, "only the last minute's calls are kept")
	assert.Zero(t, l.view(Express).Requests)
}
