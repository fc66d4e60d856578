package sandbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/sandbox"
)

// TestAdapterReadsRetryAfter checks the adapter against a bare httptest
// carrier: both forms of Retry-After (RFC 9110: seconds or an HTTP date)
// reach the port, and nonsense is ignored rather than trusted.
func TestAdapterReadsRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header func() string
		want   time.Duration
		approx bool
	}{
		{"seconds on 429", http.StatusTooManyRequests, func() string { return "12" }, 12 * time.Second, false},
		{"HTTP date on 503", http.StatusServiceUnavailable,
			func() string { return time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat) }, 90 * time.Second, true},
		{"a date in the past", http.StatusServiceUnavailable,
			func() string { return time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat) }, 0, false},
		{"garbage", http.StatusTooManyRequests, func() string { return "soon" }, 0, false},
		{"absurd is capped at a day", http.StatusTooManyRequests, func() string { return "99999999" }, 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				assert.Equal(t, "k1", r.Header.Get("Idempotency-Key"), "the booking carries its idempotency key")
				w.Header().Set("Retry-After", tt.header())
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(`{"error":{"code":"busy","message":"slow down"}}`))
			}))
			defer srv.Close()
			c, err := sandbox.NewClient(srv.URL, sandbox.Post, "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", nil)
			require.NoError(t, err)
			req := bookRequest("k1", "CN", "GB")
			req.IdempotencyKey = "k1"
			_, err = c.Book(context.Background(), req)
			require.Error(t, err)
			assert.NotErrorIs(t, err, carriers.ErrRefused, "429 and 503 are retryable")
			assert.Equal(t, 1, calls, "the adapter itself does not retry: the activity's policy does, after the delay")
			wait, ok := carriers.RetryAfter(err)
			if tt.want == 0 {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			if tt.approx {
				assert.InDelta(t, tt.want.Seconds(), wait.Seconds(), 2)
			} else {
				assert.Equal(t, tt.want, wait)
			}
		})
	}
}
