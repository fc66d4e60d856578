package main

// The harness of the fault tests (issue 8): Crossdock's parts as separate
// processes that a test can SIGKILL and restart (`crossdock worker` and
// `crossdock api` built from this package, the Temporal CLI's dev server
// with its file database), the sandbox network in-process behind a spy that
// counts bookings and can hold an answer while the test kills something,
// and Postgres. Everything listens on loopback. The tests themselves are in
// faults_*_test.go; they are long, so `make soak` runs them
// (CROSSDOCK_SOAK=1) and `make test` skips them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/store/storetest"
	"github.com/crossdock/crossdock/workflows"
)

// soakEnv switches the long fault tests on (make soak sets it).
const soakEnv = "CROSSDOCK_SOAK"

// requireSoak skips a long fault test unless CROSSDOCK_SOAK is set.
func requireSoak(t *testing.T) {
	t.Helper()
	if os.Getenv(soakEnv) == "" {
		t.Skip("a long fault test: run it with `make soak` (CROSSDOCK_SOAK=1)")
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// buildCrossdock builds this command into the test's temporary directory.
func buildCrossdock(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "crossdock")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", b)
	return out
}

// child is a process the test started, with its output in a log file.
type child struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startChild(t *testing.T, name, logPath string, env []string, bin string, args ...string) *child {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	fmt.Fprintf(f, "\n===== %s start %s\n", name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group (a signal to the test is not one to it), and
	// killed should the test process die without its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), "start %s", name)
	c := &child{t: t, name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.signal(syscall.SIGTERM, 20*time.Second)
		if t.Failed() {
			c.tail(60)
		}
	})
	return c
}

// kill SIGKILLs the process (no shutdown of any kind) and waits for it.
func (c *child) kill() {
	c.t.Helper()
	c.signal(syscall.SIGKILL, 10*time.Second)
	c.t.Logf("%s killed (SIGKILL)", c.name)
}

// signal sends sig and waits up to wait for the process to end, then
// SIGKILLs it.
func (c *child) signal(sig syscall.Signal, wait time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
	case <-time.After(wait):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// tail logs the last n lines of the process's log.
func (c *child) tail(n int) {
	f, err := os.Open(c.log)
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	c.t.Logf("last lines of %s (%s):\n%s", c.name, c.log, strings.Join(lines, "\n"))
}

// temporalServer is the Temporal CLI's dev server as a child process on a
// fixed port with its state in a file, so it can be killed and restarted
// with the same state, as `crossdock dev` runs it.
type temporalServer struct {
	t        *testing.T
	cli      string
	hostPort string
	db       string
	logPath  string
	proc     *child
}

func startTemporal(t *testing.T, dir string) *temporalServer {
	t.Helper()
	s := &temporalServer{t: t, cli: temporalCLIForTest(t), hostPort: freeAddr(t),
		db: filepath.Join(dir, "temporal.db"), logPath: filepath.Join(dir, "temporal.log")}
	s.start()
	return s
}

func (s *temporalServer) start() {
	t := s.t
	t.Helper()
	host, port, err := net.SplitHostPort(s.hostPort)
	require.NoError(t, err)
	args := []string{"server", "start-dev", "--ip", host, "--port", port, "--namespace", "default",
		"--headless", "--log-level", "warn", "--db-filename", s.db,
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
		"--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=OFF"}
	for sa := range workflows.SearchAttributes().GetUntypedValues() {
		args = append(args, "--search-attribute", sa.GetName()+"="+sa.GetValueType().String())
	}
	s.proc = startChild(t, "temporal", s.logPath, os.Environ(), s.cli, args...)
	// Ready when the frontend answers for the namespace.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: s.hostPort, Logger: nopTemporalLogger{}})
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "default"})
			c.Close()
			if err == nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			s.proc.tail(40)
			t.Fatalf("temporal dev server not ready at %s: %v", s.hostPort, err)
		case <-s.proc.done:
			s.proc.tail(40)
			t.Fatalf("temporal dev server exited: %v", s.proc.err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// restart SIGKILLs the dev server and starts it again on the same port
// with the same database file.
func (s *temporalServer) restart(down time.Duration) {
	s.t.Helper()
	s.proc.kill()
	time.Sleep(down)
	s.start()
}

// bookingSpy sits in front of the sandbox network: it counts every booking
// request and every booking the carrier made (201) per order, and can hold
// one matching answer until the test has done what it wanted meanwhile
// (typically: killed the worker that asked).
type bookingSpy struct {
	next http.Handler

	mu       sync.Mutex
	requests map[string]int // order id -> booking requests
	created  map[string]int // order id -> bookings made (201)
	hold     *heldAnswer
}

// heldAnswer is an answer the spy keeps back.
type heldAnswer struct {
	match   func(r *http.Request, orderID string, status int) bool
	held    chan struct{} // closed when an answer is held
	release chan struct{} // closed by the test to let it go
}

func newBookingSpy(next http.Handler) *bookingSpy {
	return &bookingSpy{next: next, requests: map[string]int{}, created: map[string]int{}}
}

// arm makes the spy hold the first answer that match accepts (after the
// sandbox has acted on the request). It returns a channel closed once one
// is held and a function that lets it go.
func (s *bookingSpy) arm(match func(r *http.Request, orderID string, status int) bool) (<-chan struct{}, func()) {
	h := &heldAnswer{match: match, held: make(chan struct{}), release: make(chan struct{})}
	s.mu.Lock()
	s.hold = h
	s.mu.Unlock()
	var once sync.Once
	return h.held, func() { once.Do(func() { close(h.release) }) }
}

func (s *bookingSpy) counts(orderID string) (requests, created int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[orderID], s.created[orderID]
}

func (s *bookingSpy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	orderID := ""
	booking := r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/carriers/") &&
		strings.HasSuffix(r.URL.Path, "/shipments")
	if booking {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var b struct {
			OrderID string `json:"order_id"`
		}
		_ = json.Unmarshal(body, &b)
		orderID = b.OrderID
	}
	rec := httptest.NewRecorder()
	s.next.ServeHTTP(rec, r)
	s.mu.Lock()
	if booking {
		s.requests[orderID]++
		if rec.Code == http.StatusCreated {
			s.created[orderID]++
		}
	}
	var h *heldAnswer
	if s.hold != nil && s.hold.match(r, orderID, rec.Code) {
		h, s.hold = s.hold, nil
	}
	s.mu.Unlock()
	if h != nil {
		close(h.held)
		select {
		case <-h.release:
		case <-time.After(2 * time.Minute):
		}
	}
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// faultStack is Crossdock run as production runs it, in parts: Temporal, a
// Postgres database, the sandbox network (in-process, spied on), the API
// (in-process, or a child process) and `crossdock worker` processes.
type faultStack struct {
	t        *testing.T
	dir, bin string
	temporal *temporalServer
	dbURL    string
	st       *store.Store
	tc       client.Client
	spy      *bookingSpy
	cfg      Config
	logger   *slog.Logger
	info     stackInfo
	worker   *child
	api      *child
	apiAddr  string
}

// stackOptions of a fault test.
type faultStackOptions struct {
	// PostgresAdminURL is the server the database is created on; empty
	// means the machine's (storetest.PostgresURL).
	PostgresAdminURL string
	// APIProcess runs the API as a child process (to kill it) instead of
	// in the test process.
	APIProcess bool
	// Env adds CROSSDOCK_* settings for every part.
	Env map[string]string
}

func newFaultStack(t *testing.T, opts faultStackOptions) *faultStack {
	t.Helper()
	s := &faultStack{t: t, dir: t.TempDir()}
	s.bin = buildCrossdock(t)
	s.temporal = startTemporal(t, s.dir)
	admin := opts.PostgresAdminURL
	if admin == "" {
		admin = storetest.PostgresURL()
	}
	s.dbURL = storetest.PostgresDatabase(t, admin)

	orderSecret, err := newSecret()
	require.NoError(t, err)
	sandboxSecret, err := newSecret()
	require.NoError(t, err)
	s.apiAddr = freeAddr(t)
	sandboxLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	env := map[string]string{
		"CROSSDOCK_DATABASE_URL":               s.dbURL,
		"CROSSDOCK_DATA_DIR":                   s.dir,
		"TEMPORAL_ADDRESS":                     s.temporal.hostPort,
		"TEMPORAL_NAMESPACE":                   "default",
		"CROSSDOCK_HTTP_ADDR":                  s.apiAddr,
		"CROSSDOCK_API_URL":                    "http://" + s.apiAddr,
		"CROSSDOCK_SANDBOX_URL":                "http://" + sandboxLn.Addr().String(),
		"CROSSDOCK_ORDER_WEBHOOK_SECRET":       orderSecret,
		"CROSSDOCK_SANDBOX_WEBHOOK_SECRET":     sandboxSecret,
		"CROSSDOCK_OPS_TOKEN":                  "ops-" + strings.TrimPrefix(orderSecret, "whsec_")[:16],
		"CROSSDOCK_SANDBOX_SPEEDUP":            "100000",
		"CROSSDOCK_POLL_INTERVAL":              "1s",
		"CROSSDOCK_MANIFEST_EVERY":             "1s",
		"CROSSDOCK_PICK_TIMEOUT":               "10m",
		"CROSSDOCK_CARRIER_MAX_ATTEMPTS":       "8",
		"CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL": "2s",
		"CROSSDOCK_WEBHOOK_ALLOW_PRIVATE":      "true",
		"CROSSDOCK_WEBHOOK_POLL":               "1s",
		"CROSSDOCK_LOG_LEVEL":                  "info",
		"CROSSDOCK_SHUTDOWN_TIMEOUT":           "5s",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	s.cfg, err = loadConfig()
	require.NoError(t, err)
	require.NoError(t, s.cfg.validate())
	s.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		s.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	s.st, err = store.Open(ctx, s.dbURL, "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.st.Close() })
	require.NoError(t, s.st.Migrate(ctx))
	apiKey, err := ensureDemoMerchant(ctx, s.st)
	require.NoError(t, err)
	s.tc, err = client.Dial(client.Options{HostPort: s.temporal.hostPort, Logger: nopTemporalLogger{}})
	require.NoError(t, err)
	t.Cleanup(s.tc.Close)

	sbx, closeSandbox, err := sandboxHandler(s.cfg, s.logger)
	require.NoError(t, err)
	t.Cleanup(closeSandbox)
	s.spy = newBookingSpy(sbx)
	wg.Go(func() { _ = serve(ctx, "sandbox", sandboxLn, s.spy, time.Second, s.logger) })

	if opts.APIProcess {
		s.startAPI()
	} else {
		tc, err := dialTemporal(ctx, s.cfg, s.cfg.TemporalAddress, true, s.logger)
		require.NoError(t, err)
		t.Cleanup(tc.Close)
		cr, wr, err := registries(s.cfg)
		require.NoError(t, err)
		h, relay, err := newAPIHandler(s.cfg, s.st, tc, cr, wr, s.logger, nil)
		require.NoError(t, err)
		wg.Go(func() { _ = relay.Run(ctx) })
		apiLn, err := net.Listen("tcp", s.apiAddr)
		require.NoError(t, err)
		wg.Go(func() { _ = serve(ctx, "api", apiLn, h, time.Second, s.logger) })
	}
	s.info = stackInfo{APIURL: "http://" + s.apiAddr, SandboxURL: s.cfg.SandboxURL, TemporalHostPort: s.temporal.hostPort,
		DemoAPIKey: apiKey, OrderWebhookSecret: orderSecret, OpsToken: s.cfg.OpsToken}
	s.startWorker()
	return s
}

// startWorker starts a `crossdock worker` process.
func (s *faultStack) startWorker() {
	s.t.Helper()
	s.worker = startChild(s.t, "worker", filepath.Join(s.dir, "worker.log"), os.Environ(), s.bin, "worker")
}

// startAPI starts a `crossdock api` process and waits until it answers.
func (s *faultStack) startAPI() {
	s.t.Helper()
	s.api = startChild(s.t, "api", filepath.Join(s.dir, "api.log"), os.Environ(), s.bin, "api")
	require.Eventually(s.t, func() bool {
		resp, err := http.Get("http://" + s.apiAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "the API answers /healthz")
}

// pendingActivity returns the pending activity of the given type of a
// workflow, if any.
func (s *faultStack) pendingActivity(ctx context.Context, workflowID, activityType string) (attempt int32, timeout enumspb.TimeoutType, ok bool) {
	desc, err := s.tc.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return 0, 0, false
	}
	for _, a := range desc.PendingActivities {
		if a.ActivityType.GetName() != activityType {
			continue
		}
		if ti := a.GetLastFailure().GetTimeoutFailureInfo(); ti != nil {
			timeout = ti.GetTimeoutType()
		}
		return a.Attempt, timeout, true
	}
	return 0, 0, false
}
