package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServeLetsInFlightRequestsFinish: on SIGINT/SIGTERM (ctx cancelled) a
// request already being handled completes; new connections are refused.
func TestServeLetsInFlightRequestsFinish(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, "test", ln, h, 5*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	url := "http://" + ln.Addr().String() + "/slow"
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()
	<-started
	cancel()
	r := <-res
	require.NoError(t, r.err)
	assert.Equal(t, "finished", r.body)
	require.NoError(t, <-done)
	_, err = http.Get(url)
	assert.Error(t, err, "the listener is closed after shutdown")
}
