package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// privatePostgres is a Postgres cluster of the test's own on a free
// loopback port, so it can be restarted without touching the machine's
// shared server (other tests use it meanwhile).
type privatePostgres struct {
	t        *testing.T
	bin      string // the server's bin directory
	data     string
	port     string
	asUser   []string // runuser prefix when running as root
	AdminURL string
}

// startPrivatePostgres initialises and starts a cluster. Without the
// server binaries the test skips, or fails under CI=true.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Strings(bins)
	if len(bins) == 0 {
		if p, err := exec.LookPath("initdb"); err == nil {
			bins = []string{p}
		}
	}
	if len(bins) == 0 {
		msg := "Postgres server binaries (initdb, pg_ctl) not found: install postgresql to run this test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	p := &privatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	dir, err := os.MkdirTemp("", "crossdock-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p.data = filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(p.data, 0o700))
	if os.Geteuid() == 0 {
		// initdb refuses root: the cluster belongs to the postgres user.
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs the postgres OS user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chmod(dir, 0o755))
		require.NoError(t, os.Chown(p.data, uid, gid))
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	_, port, _ := strings.Cut(freeAddr(t), ":")
	p.port = port
	p.run("initdb", "-D", p.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	p.run("pg_ctl", "-D", p.data, "-l", filepath.Join(p.data, "server.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %s -c listen_addresses=127.0.0.1 -k %s", p.port, p.data), "start")
	t.Cleanup(func() { p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop") })
	p.AdminURL = "postgres://postgres@127.0.0.1:" + p.port + "/postgres?sslmode=disable"
	return p
}

func (p *privatePostgres) run(tool string, args ...string) {
	p.t.Helper()
	argv := append(append(append([]string(nil), p.asUser...), filepath.Join(p.bin, tool)), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	require.NoError(p.t, err, "%s: %s", strings.Join(argv, " "), out)
}

// restart restarts the cluster with pg_ctl's shutdown mode (fast:
// connections are closed; immediate: the server dies and recovers).
func (p *privatePostgres) restart(mode string) {
	p.t.Helper()
	// -l: the new server must not inherit pg_ctl's output, which run waits on.
	p.run("pg_ctl", "-D", p.data, "-l", filepath.Join(p.data, "server.log"), "-m", mode, "-w", "-t", "60", "restart")
}

// answer is one API answer seen during the restarts.
type answer struct {
	status     int
	retryAfter string
	took       time.Duration
	err        error
}

// TestPostgresRestarted restarts the database (pg_ctl restart -m fast, then
// -m immediate) under a stream of order webhooks and merchant reads while
// orders are in flight. Every answer is a 2xx, 404 or a 503 with
// Retry-After, fast (no 500, no hang); the pool recovers by itself; every
// accepted webhook is recorded once and every order delivered and booked
// once (activities retried their writes).
func TestPostgresRestarted(t *testing.T) {
	requireSoak(t)
	pg := startPrivatePostgres(t)
	s := newFaultStack(t, faultStackOptions{PostgresAdminURL: pg.AdminURL})
	ctx := t.Context()
	url := s.info.APIURL + "/v1/webhooks/orders"

	var mu sync.Mutex
	var answers []answer
	observe := func(resp *http.Response, err error, took time.Duration) {
		a := answer{took: took, err: err}
		if resp != nil {
			a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		}
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
	}

	// Merchants read orders all along, within their key's rate limit
	// (10 a second).
	var stop atomic.Bool
	var readers sync.WaitGroup
	for r := range 3 {
		readers.Go(func() {
			client := &http.Client{Timeout: 30 * time.Second}
			for i := 0; !stop.Load(); i++ {
				path := fmt.Sprintf("/v1/orders/PG-%02d", (i+r)%20+1)
				if i%2 == 1 {
					path += "/tracking"
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.info.APIURL+path, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer "+s.info.DemoAPIKey)
				start := time.Now()
				resp, err := client.Do(req)
				if resp != nil {
					resp.Body.Close()
				}
				observe(resp, err, time.Since(start))
				time.Sleep(350 * time.Millisecond)
			}
		})
	}

	all, repeats := orderDeliveries(t, "PG", 20)
	var restarts sync.WaitGroup
	restarts.Go(func() {
		time.Sleep(time.Second)
		for _, mode := range []string{"fast", "immediate"} {
			start := time.Now()
			pg.restart(mode)
			t.Logf("postgres restarted (-m %s) in %s", mode, time.Since(start).Round(time.Millisecond))
			time.Sleep(2 * time.Second)
		}
	})
	streamWebhooks(ctx, url, s.info.OrderWebhookSecret, all, 250*time.Millisecond, observe)
	restarts.Wait()
	streamWebhooks(ctx, url, s.info.OrderWebhookSecret, repeats, 0, observe)

	// The pool recovers by itself: ready again without any restart.
	require.Eventually(t, func() bool {
		resp, err := http.Get(s.info.APIURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "the API is ready again")

	stop.Store(true)
	readers.Wait()
	retried := requireAcceptedOnce(t, s, all, repeats)

	mu.Lock()
	defer mu.Unlock()
	counts := map[int]int{}
	var slowest time.Duration
	for _, a := range answers {
		slowest = max(slowest, a.took)
		if !assert.NoError(t, a.err, "every request is answered") {
			continue
		}
		counts[a.status]++
		switch {
		case a.status == http.StatusServiceUnavailable:
			assert.NotEmpty(t, a.retryAfter, "a 503 says when to retry")
		case a.status >= 500:
			assert.Fail(t, "a request failed with a 5xx other than 503", "status %d", a.status)
		case a.status == http.StatusTooManyRequests:
			assert.Fail(t, "the readers keep under the rate limit")
		}
		assert.Less(t, a.took, 10*time.Second, "requests fail fast while the database is down")
	}
	t.Logf("%d answers by status %v, slowest %s; %d of %d webhooks retried", len(answers), counts,
		slowest.Round(time.Millisecond), retried, len(all))
	assert.Positive(t, counts[http.StatusServiceUnavailable], "the restarts were seen as 503s")
}
