package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oklog/ulid/v2"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/crossdock/crossdock/api"
	"github.com/crossdock/crossdock/bench"
	carriersandbox "github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// benchPostgresURLEnv names the Postgres server the benchmark creates its
// database on (the same default as the tests').
const benchPostgresURLEnv = "CROSSDOCK_BENCH_POSTGRES_URL"

const defaultBenchPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// benchSpeedup makes the sandbox's carriers and warehouses answer and move
// parcels with no latency of their own: what is measured is Crossdock.
const benchSpeedup = 1e9

// benchSizes are how big each measurement is; --quick shrinks them so the
// harness is exercised in seconds (make test), not measured.
type benchSizes struct {
	Rounds         int
	Ramp           time.Duration // closed loops run this long before they count
	T1Window       time.Duration
	T1Concurrency  []int
	Shipments      int // stalled shipments T3 and T5 send events to
	T3Window       time.Duration
	T3Concurrency  int
	LongEvents     int // T2: tracking events sent to one shipment
	T4Orders       int
	T4Events       int
	T4Window       time.Duration
	T4Concurrency  int
	T5Files        int
	T5Rows         int
	T6Orders       int
	T6Concurrency  int
	SettleDeadline time.Duration
}

var fullSizes = benchSizes{Rounds: 5, Ramp: 4 * time.Second, T1Window: 12 * time.Second, T1Concurrency: []int{32, 128},
	Shipments: 16, T3Window: 8 * time.Second, T3Concurrency: 32, LongEvents: 5000,
	T4Orders: 200, T4Events: 50, T4Window: 5 * time.Second, T4Concurrency: 32,
	T5Files: 3, T5Rows: 500, T6Orders: 10000, T6Concurrency: 64, SettleDeadline: 45 * time.Minute}

var quickSizes = benchSizes{Rounds: 1, Ramp: 500 * time.Millisecond, T1Window: 6 * time.Second, T1Concurrency: []int{4},
	Shipments: 2, T3Window: time.Second, T3Concurrency: 4, LongEvents: 200,
	T4Orders: 10, T4Events: 50, T4Window: time.Second, T4Concurrency: 4,
	T5Files: 1, T5Rows: 40, T6Orders: 20, T6Concurrency: 8, SettleDeadline: 2 * time.Minute}

type benchFlags struct {
	quick     bool
	out       string
	rounds    int
	t6Orders  int
	only      string
	untuned   bool
	keepDir   bool
	noDisplay bool
	profile   string
}

func newBenchCommand() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Crossdock against baselines in the same run and write bench/results (make bench)",
		Long: `bench starts its own Temporal dev server (SQLite tuned with WAL and synchronous=OFF, as
Temporal's CI runs it), a fresh Postgres database (dropped afterwards), a zero-latency sandbox,
the worker and the API, then runs each pair of issue 7 (T1-T6): the measure (A) and its baseline
(B) interleaved A B A B after a warm-up, reported as median [min, max]. It prints the table and
writes latest.json and latest.md. --quick runs a tiny version that checks the harness works.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			report, err := runBench(cmd.Context(), f, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			report.Table(cmd.OutOrStdout())
			fmt.Fprintf(cmd.OutOrStdout(), "\nwritten to %s\n", filepath.Join(f.out, "latest.{json,md}"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.quick, "quick", false, "a tiny run that checks the harness works (make test), not how fast")
	cmd.Flags().StringVar(&f.out, "out", filepath.Join("bench", "results"), "directory for latest.json and latest.md")
	cmd.Flags().IntVar(&f.rounds, "rounds", 0, "rounds after the warm-up (default 5, --quick 1)")
	cmd.Flags().IntVar(&f.t6Orders, "t6-orders", 0, "orders waiting in tracking for T6 (default 10000, --quick 20)")
	cmd.Flags().StringVar(&f.only, "only", "", "comma-separated pairs to run, e.g. T1,T3 (default all)")
	cmd.Flags().BoolVar(&f.untuned, "untuned-temporal", false, "start the Temporal dev server without its SQLite pragmas (its untuned ceiling)")
	cmd.Flags().BoolVar(&f.keepDir, "keep", false, "keep the data directory (logs, Temporal database) and the Postgres database")
	cmd.Flags().BoolVar(&f.noDisplay, "no-progress", false, "no progress bar")
	cmd.Flags().StringVar(&f.profile, "profile", "", "write a CPU profile of each pair's first measured A round to this directory (<id>.cpu.pprof)")
	return cmd
}

// benchRun is one benchmark run's stack and clients.
type benchRun struct {
	sizes         benchSizes
	info          stackInfo
	tc            client.Client
	st            *store.Store
	pool          *pgxpool.Pool
	http          *http.Client
	sandboxSecret string
	tag           string
	seq           atomic.Int64
	bar           *progressbar.ProgressBar
	log           *slog.Logger

	orderHook, sandboxHook *standardwebhooks.Webhook

	activities int       // regular activities of one delivered order (T1/T2 baseline)
	stalled    []stalled // shipments in transit whose carrier is stalled (T3, T5, T2)
	profileDir string
	cacheSize  int
	longCheck  []bench.Check
	longNotes  []string
}

// stalled is a booked shipment whose carrier sends nothing on its own.
type stalled struct {
	orderID, trackingNumber, workflowID string
}

func runBench(ctx context.Context, f benchFlags, progressOut io.Writer) (bench.Report, error) {
	started := time.Now()
	sizes := fullSizes
	if f.quick {
		sizes = quickSizes
	}
	if f.rounds > 0 {
		sizes.Rounds = f.rounds
	}
	if f.t6Orders > 0 {
		sizes.T6Orders = f.t6Orders
	}
	only := map[string]bool{}
	for _, id := range strings.Split(f.only, ",") {
		if id = strings.TrimSpace(strings.ToUpper(id)); id != "" {
			only[id] = true
		}
	}
	want := func(id string) bool { return len(only) == 0 || only[id] }

	dataDir, err := os.MkdirTemp("", "crossdock-bench-")
	if err != nil {
		return bench.Report{}, err
	}
	keep := f.keepDir
	defer func() {
		if !keep {
			os.RemoveAll(dataDir)
		}
	}()
	logFile, err := os.Create(filepath.Join(dataDir, "crossdock.log"))
	if err != nil {
		return bench.Report{}, err
	}
	defer logFile.Close()
	logger := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The store logs migrations through the default logger.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(logger)

	adminURL := defaultBenchPostgresURL
	if u := os.Getenv(benchPostgresURLEnv); u != "" {
		adminURL = u
	}
	dbURL, dropDB, err := createBenchDatabase(ctx, adminURL)
	if err != nil {
		return bench.Report{}, err
	}
	defer func() {
		if !keep {
			if err := dropDB(); err != nil {
				fmt.Fprintln(progressOut, "crossdock bench:", err)
			}
		}
	}()

	cfg, err := loadConfig()
	if err != nil {
		return bench.Report{}, err
	}
	sandboxSecret, err := newSecret()
	if err != nil {
		return bench.Report{}, err
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.TemporalAddress = dataDir, dbURL, ""
	cfg.SandboxSecret, cfg.SandboxSpeedup = sandboxSecret, benchSpeedup
	// Production's poll interval: the push backstop polls a silent parcel
	// after four of them, which the stalled parcels of T3 and T6 would be.
	cfg.PollInterval, cfg.ManifestEvery, cfg.PickTimeout = 15*time.Minute, time.Second, 10*time.Minute
	if cfg.ChannelsFile, err = benchChannels(cfg.ChannelsFile, dataDir); err != nil {
		return bench.Report{}, err
	}
	cfg.CarrierAttempts, cfg.CarrierMaxInterval = 4, 10*time.Second
	cfg.LogLevel = slog.LevelWarn
	cli, err := temporalCLI(cfg)
	if err != nil {
		return bench.Report{}, err
	}
	cfg.TemporalCLI = cli

	sctx, stopStack := context.WithCancel(ctx)
	ready := make(chan stackInfo, 1)
	done := make(chan error, 1)
	go func() {
		done <- runStack(sctx, cfg, stackOptions{Logger: logger, Ephemeral: true, Ready: ready,
			TemporalDB: filepath.Join(dataDir, "temporal.db"), UntunedTemporal: f.untuned,
			API: func(c *api.Config) {
				// Per-key rate limits are policy, not cost: lifted so T4
				// measures the handler.
				c.RateLimit, c.RateBurst = rate.Inf, 1<<20
			}})
	}()
	stackStopped := false
	defer func() {
		stopStack()
		if stackStopped {
			return
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
		}
	}()
	r := &benchRun{sizes: sizes, profileDir: f.profile, cacheSize: cfg.WorkflowCacheSize, sandboxSecret: sandboxSecret, tag: strings.ToLower(ulid.Make().String()[20:]), log: logger}
	select {
	case r.info = <-ready:
	case err := <-done:
		keep, stackStopped = true, true
		return bench.Report{}, fmt.Errorf("stack stopped before it was ready (logs in %s): %w", dataDir, err)
	case <-time.After(3 * time.Minute):
		keep = true
		return bench.Report{}, fmt.Errorf("stack not ready within 3 minutes (logs in %s)", dataDir)
	}

	if r.tc, err = client.Dial(client.Options{HostPort: r.info.TemporalHostPort, Namespace: cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(logger.With("component", "bench-client"))}); err != nil {
		return bench.Report{}, err
	}
	defer r.tc.Close()
	baseline := worker.New(r.tc, bench.BaselineTaskQueue, worker.Options{})
	bench.RegisterBaseline(baseline)
	if err := baseline.Start(); err != nil {
		return bench.Report{}, err
	}
	defer baseline.Stop()
	if r.st, err = store.Open(ctx, dbURL, ""); err != nil {
		return bench.Report{}, err
	}
	defer r.st.Close()
	if r.pool, err = bench.NewPool(ctx, dbURL); err != nil {
		return bench.Report{}, err
	}
	defer r.pool.Close()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 512, 512
	r.http = &http.Client{Timeout: time.Minute, Transport: transport}
	defer transport.CloseIdleConnections()
	if r.orderHook, err = standardwebhooks.NewWebhook(r.info.OrderWebhookSecret); err != nil {
		return bench.Report{}, err
	}
	if r.sandboxHook, err = standardwebhooks.NewWebhook(sandboxSecret); err != nil {
		return bench.Report{}, err
	}

	steps := 2 // probe, settle
	if want("T1") {
		steps += len(sizes.T1Concurrency) * bench.Steps(sizes.Rounds, !f.quick)
	}
	if want("T2") || want("T3") || want("T5") {
		steps += 2
	}
	for _, id := range []string{"T2", "T3", "T4", "T5"} {
		if want(id) {
			steps += bench.Steps(sizes.Rounds, !f.quick)
		}
	}
	if want("T6") {
		steps += 3
	}
	barOut := progressOut
	if f.noDisplay {
		barOut = io.Discard
	}
	r.bar = progressbar.NewOptions(steps, progressbar.OptionSetWriter(barOut), progressbar.OptionSetDescription("bench"),
		progressbar.OptionShowCount(), progressbar.OptionSetElapsedTime(true), progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish())
	defer r.bar.Finish()

	var results []bench.Result
	var failed []error
	// A pair that fails is reported as failed, with its error, and the run
	// goes on: the other figures are still worth having.
	run := func(p bench.Pair) error {
		if f.profile != "" {
			p.A = profiled(p.A, filepath.Join(f.profile, p.ID+".cpu.pprof"))
		}
		res, err := bench.Run(ctx, p, sizes.Rounds, !f.quick, r.step)
		if err != nil {
			keep = true
			failed = append(failed, err)
			res = bench.Result{ID: p.ID, Name: p.Name, Unit: p.Unit, Measure: p.Measure, Baseline: p.Baseline,
				Target: p.Target.String(), Notes: []string{"did not complete: " + err.Error()}}
		}
		results = append(results, res)
		return ctx.Err()
	}

	r.step("probe: one order to delivered")
	probeStart := time.Now()
	if err := r.probe(ctx); err != nil {
		keep = true
		return bench.Report{}, fmt.Errorf("probe order (logs in %s): %w", dataDir, err)
	}
	probeSeconds := bench.Since(probeStart)
	if want("T1") {
		for _, c := range sizes.T1Concurrency {
			if err := run(r.pairT1(c)); err != nil {
				return bench.Report{}, err
			}
		}
	}
	if want("T2") || want("T3") || want("T5") {
		r.step("setup: stalled shipments")
		if err := r.setupStalled(ctx, sizes.Shipments+1); err != nil {
			keep = true
			return bench.Report{}, fmt.Errorf("stalled shipments (logs in %s): %w", dataDir, err)
		}
	}
	if want("T3") {
		if err := run(r.pairT3()); err != nil {
			return bench.Report{}, err
		}
	}
	if want("T2") {
		r.step(fmt.Sprintf("T2: %d tracking events to one shipment", sizes.LongEvents))
		if err := r.longShipment(ctx); err != nil {
			keep = true
			return bench.Report{}, fmt.Errorf("T2 long shipment (logs in %s): %w", dataDir, err)
		}
		if err := run(r.pairT2()); err != nil {
			return bench.Report{}, err
		}
	}
	if want("T4") {
		p, stop, err := r.pairT4(ctx)
		if err != nil {
			keep = true
			return bench.Report{}, fmt.Errorf("T4 setup: %w", err)
		}
		err = run(p)
		stop()
		if err != nil {
			return bench.Report{}, err
		}
	}
	if want("T5") {
		if err := run(r.pairT5()); err != nil {
			return bench.Report{}, err
		}
	}
	if want("T6") {
		res, err := r.measureT6(ctx)
		if err != nil {
			keep = true
			return bench.Report{}, fmt.Errorf("T6 (logs in %s): %w", dataDir, err)
		}
		results = append(results, res)
	}
	r.step("done")
	order := []string{"T1-", "T2", "T3", "T4", "T5", "T6"}
	rank := func(id string) int {
		return slices.IndexFunc(order, func(p string) bool { return strings.HasPrefix(id, p) })
	}
	slices.SortStableFunc(results, func(a, b bench.Result) int { return rank(a.ID) - rank(b.ID) })

	pragmas := "journal_mode=WAL, synchronous=OFF (as Temporal's CI)"
	if f.untuned {
		pragmas = "none (untuned)"
	}
	report := bench.Report{Started: started, Seconds: time.Since(started).Seconds(), Quick: f.quick,
		Machine: bench.ThisMachine(), Results: results,
		Settings: map[string]string{
			"crossdock_version":       version,
			"temporal_cli":            cli,
			"temporal_sqlite_pragmas": pragmas,
			"temporal_db":             "SQLite file in a fresh temporary directory",
			"postgres":                "fresh database on " + redactURL(adminURL) + ", dropped afterwards",
			"sandbox_speedup":         fmt.Sprintf("%g (zero latency)", benchSpeedup),
			"rounds":                  fmt.Sprintf("%d after a warm-up of A and of B, interleaved A B", sizes.Rounds),
			"worker":                  fmt.Sprintf("one in-process worker as crossdock worker runs it (SDK default options, workflow cache %d); the baseline worker the same on its own task queue", cfg.WorkflowCacheSize),
			"api_rate_limit":          "per-key limit lifted (rate.Inf) for T4",
			"carrier_rate_limits":     "every channel's rate_limit_per_minute raised to 100000 (a carrier's quota is not Crossdock's cost)",
			"poll_interval":           "15m (production's): the push backstop polls a silent parcel after four",
			"pool_size":               fmt.Sprintf("store and baselines: %d Postgres connections", bench.PoolSize),
			"sizes":                   fmt.Sprintf("%+v", sizes),
			"activities_per_order":    strconv.Itoa(r.activities),
			"probe_order_seconds":     fmt.Sprintf("%.2f (one order alone, webhook to delivered)", probeSeconds),
		}}
	if !f.quick {
		if err := report.Write(f.out); err != nil {
			return report, err
		}
	} else if f.out != "" {
		if err := report.Write(f.out); err != nil {
			return report, err
		}
	}
	if len(failed) > 0 {
		return report, fmt.Errorf("%d pair(s) did not complete (logs in %s): %w", len(failed), dataDir, errors.Join(failed...))
	}
	return report, nil
}

func (r *benchRun) step(desc string) {
	if os.Getenv("BENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "DEBUG %s %s\n", time.Now().Format("15:04:05.000"), desc)
	}
	r.bar.Describe(desc)
	_ = r.bar.Add(1)
}

// rateLimitLine matches a channel's published API rate limit.
var rateLimitLine = regexp.MustCompile(`(?m)^(\s*rate_limit_per_minute:\s*)\d+\s*$`)

// benchChannels writes the channels file (the configured one, else the
// sandbox's) with every carrier's API rate limit raised to the schema's
// maximum: a carrier's quota would cap the orders per second at its own
// figure, which is not Crossdock's cost.
func benchChannels(path, dir string) (string, error) {
	b := carriersandbox.ChannelsFile
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return "", fmt.Errorf("CROSSDOCK_CHANNELS_FILE: %w", err)
		}
	}
	b = rateLimitLine.ReplaceAll(b, []byte("${1}100000"))
	out := filepath.Join(dir, "channels.yaml")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return "", err
	}
	return out, nil
}

// profiled wraps m so that its second call (the first measured round after
// the warm-up; the first call in a quick run) runs under the CPU profiler.
// The process holds the API, the worker and the sandbox, so the profile
// shows all of Crossdock's side of a measure.
func profiled(m bench.Measure, path string) bench.Measure {
	calls := 0
	return func(ctx context.Context) (bench.Sample, error) {
		calls++
		if calls != 2 {
			return m(ctx)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return bench.Sample{}, err
		}
		out, err := os.Create(path)
		if err != nil {
			return bench.Sample{}, err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return bench.Sample{}, err
		}
		defer pprof.StopCPUProfile()
		return m(ctx)
	}
}

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	return pprof.Lookup("heap").WriteTo(out, 0)
}

// createBenchDatabase creates crossdock_bench_<ulid> on the admin server and
// returns its URL and a function that drops it.
func createBenchDatabase(ctx context.Context, adminURL string) (string, func() error, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(cctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("postgres at %s (set %s): %w", redactURL(adminURL), benchPostgresURLEnv, err)
	}
	defer admin.Close(context.Background())
	name := "crossdock_bench_" + strings.ToLower(ulid.Make().String())
	if _, err := admin.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create bench database: %w", err)
	}
	parsed, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", benchPostgresURLEnv, err)
	}
	parsed.Path, parsed.RawPath = "/"+name, ""
	u := parsed.String()
	drop := func() error {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(dctx, adminURL)
		if err != nil {
			return fmt.Errorf("drop bench database %s: %w", name, err)
		}
		defer admin.Close(dctx)
		if _, err := admin.Exec(dctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop bench database %s: %w", name, err)
		}
		return nil
	}
	return u, drop, nil
}

func redactURL(u string) string {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// nextID is a fresh order id with the run's tag.
func (r *benchRun) nextID(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, r.tag, r.seq.Add(1))
}

// placeOrder sends an express order (pushed tracking, every stage) for the
// demo merchant as the order service would.
func (r *benchRun) placeOrder(ctx context.Context, orderID string) error {
	o := benchOrder(orderID, "GB")
	body, err := json.Marshal(o)
	if err != nil {
		return err
	}
	status, answer, err := r.post(ctx, r.info.APIURL+"/v1/webhooks/orders", body, r.orderHook, nil)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("order webhook answered %d: %s", status, answer)
	}
	return nil
}

// benchOrder is the demo order at the express service level: it goes to
// sbx_express, which pushes its tracking, through every stage.
func benchOrder(id, country string) map[string]any {
	o := demoOrder(demoMerchantID, id, "wh_szx", country)
	o["data"].(map[string]any)["service_level"] = "express"
	return o
}

// post sends body, signed with hook when it is not nil, with extra headers.
func (r *benchRun) post(ctx context.Context, url string, body []byte, hook *standardwebhooks.Webhook, header http.Header) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	if hook != nil {
		id, now := "msg_"+ulid.Make().String(), time.Now()
		sig, err := hook.Sign(id, now, body)
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
	}
	return r.do(req)
}

func (r *benchRun) do(req *http.Request) (int, string, error) {
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitOrder waits for an order's workflow to end and checks it delivered.
func (r *benchRun) waitOrder(ctx context.Context, orderID string) error {
	wfID := logistics.OrderWorkflowID(demoMerchantID, orderID)
	// The intake signals-with-start, so the workflow exists once the
	// webhook is accepted.
	if err := r.tc.GetWorkflow(ctx, wfID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("order %s: %w", orderID, err)
	}
	return nil
}

// checkDelivered reads the projection of orders (not timed) and fails if
// any did not end delivered.
func (r *benchRun) checkDelivered(ctx context.Context, ids []string) error {
	for _, id := range ids {
		v, err := r.st.GetOrder(ctx, demoMerchantID, id)
		if err != nil {
			return fmt.Errorf("order %s: %w", id, err)
		}
		if v.Stage != logistics.StageDelivered {
			return fmt.Errorf("order %s ended %s, not delivered (stuck: %t %s)", id, v.Stage, v.Stuck, v.StuckReason)
		}
	}
	return nil
}

// probe runs one order to delivered and counts the regular activities of
// its workflows: the baseline workflow runs as many.
func (r *benchRun) probe(ctx context.Context) error {
	id := r.nextID("PROBE")
	if err := r.placeOrder(ctx, id); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := r.waitOrder(pctx, id); err != nil {
		return err
	}
	if err := r.checkDelivered(ctx, []string{id}); err != nil {
		return err
	}
	ids, err := r.orderWorkflows(ctx, id)
	if err != nil {
		return err
	}
	for _, wfID := range ids {
		it := r.tc.GetWorkflowHistory(ctx, wfID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return err
			}
			if e.GetEventType() == enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
				r.activities++
			}
		}
	}
	if r.activities == 0 {
		return errors.New("the probe order ran no activity")
	}
	return nil
}

// orderWorkflows are the workflow ids of an order: its own and its
// shipments'.
func (r *benchRun) orderWorkflows(ctx context.Context, orderID string) ([]string, error) {
	v, err := r.st.GetOrder(ctx, demoMerchantID, orderID)
	if err != nil {
		return nil, err
	}
	ids := []string{logistics.OrderWorkflowID(demoMerchantID, orderID)}
	for _, sh := range v.Shipments {
		ids = append(ids, logistics.ShipmentWorkflowID(demoMerchantID, orderID, sh.Number))
	}
	return ids, nil
}

// pairT1 is T1 at one concurrency: orders from webhook to delivered against
// the minimal workflow with as many no-op activities, closed loop.
func (r *benchRun) pairT1(concurrency int) bench.Pair {
	// The pipeline fills in about one order's latency, which grows with
	// the orders in flight: on 2 shared cores about 4 a second complete
	// (at 128 in flight a 16 s ramp and 12 s window saw none finish).
	ramp := max(r.sizes.Ramp, time.Duration(concurrency)*time.Second/4)
	window := max(r.sizes.T1Window, time.Duration(concurrency)*time.Second/8)
	return bench.Pair{
		ID: fmt.Sprintf("T1-%d", concurrency), Name: fmt.Sprintf("orders completed per second, %d in flight", concurrency),
		Unit:     "orders/s",
		Measure:  fmt.Sprintf("order webhook to delivered, every stage, %d in flight (closed loop)", concurrency),
		Baseline: fmt.Sprintf("minimal workflow with %d no-op regular activities, same server, %d in flight", r.activities, concurrency),
		Target:   bench.AtLeast(0.8),
		A: func(ctx context.Context) (bench.Sample, error) {
			var mu sync.Mutex
			var ids []string
			res := bench.ClosedLoop(ctx, concurrency, ramp, window, func(ctx context.Context, _ int) error {
				id := r.nextID("T1")
				if err := r.placeOrder(ctx, id); err != nil {
					return err
				}
				if err := r.waitOrder(ctx, id); err != nil {
					return err
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
				return nil
			})
			if err := loopError(res); err != nil {
				return bench.Sample{}, err
			}
			if err := r.checkDelivered(ctx, ids); err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: res.PerSecond, Extra: map[string]float64{"p50 ms": res.P50, "p99 ms": res.P99}}, nil
		},
		B: func(ctx context.Context) (bench.Sample, error) {
			res := bench.ClosedLoop(ctx, concurrency, ramp, window, func(ctx context.Context, _ int) error {
				return r.runMinimal(ctx)
			})
			if err := loopError(res); err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: res.PerSecond, Extra: map[string]float64{"p50 ms": res.P50, "p99 ms": res.P99}}, nil
		},
	}
}

// runMinimal runs one baseline workflow to its end and returns its id.
func (r *benchRun) runMinimal(ctx context.Context) error {
	_, err := r.minimal(ctx)
	return err
}

func (r *benchRun) minimal(ctx context.Context) (string, error) {
	id := r.nextID("bench-minimal")
	run, err := r.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bench.BaselineTaskQueue},
		bench.MinimalWorkflowName, r.activities)
	if err != nil {
		return "", err
	}
	return id, run.Get(ctx, nil)
}

// loopError fails a measurement whose operations failed: a benchmark of
// errors measures nothing.
func loopError(res bench.LoopResult) error {
	if res.Errors > 0 {
		return fmt.Errorf("%d of %d operations failed, first: %w", res.Errors, res.Errors+res.Done, res.FirstError)
	}
	if res.Done == 0 {
		return errors.New("no operation completed within the window")
	}
	return nil
}

// describeTotals adds up the history events and state transitions of
// workflows (each one's current run).
func (r *benchRun) describeTotals(ctx context.Context, ids []string) (events, transitions float64, err error) {
	for _, id := range ids {
		d, err := r.tc.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return 0, 0, err
		}
		info := d.GetWorkflowExecutionInfo()
		events += float64(info.GetHistoryLength())
		transitions += float64(info.GetStateTransitionCount())
	}
	return events, transitions, nil
}

// pairT2 is T2: history events per delivered order (order and shipment
// workflows together) against the minimal workflow, with the state
// transitions beside them, and the check of one long-tracked shipment.
func (r *benchRun) pairT2() bench.Pair {
	return bench.Pair{
		ID: "T2", Name: "history events and state transitions per delivered order", Unit: "events",
		Measure:  "history events of one delivered order (order + shipment workflows, Describe)",
		Baseline: fmt.Sprintf("history events of the minimal workflow (%d no-op activities)", r.activities),
		Target:   bench.AtMost(1.5),
		A: func(ctx context.Context) (bench.Sample, error) {
			id := r.nextID("T2")
			if err := r.placeOrder(ctx, id); err != nil {
				return bench.Sample{}, err
			}
			if err := r.waitOrder(ctx, id); err != nil {
				return bench.Sample{}, err
			}
			if err := r.checkDelivered(ctx, []string{id}); err != nil {
				return bench.Sample{}, err
			}
			ids, err := r.orderWorkflows(ctx, id)
			if err != nil {
				return bench.Sample{}, err
			}
			events, transitions, err := r.describeTotals(ctx, ids)
			return bench.Sample{Value: events, Extra: map[string]float64{"state transitions": transitions}}, err
		},
		B: func(ctx context.Context) (bench.Sample, error) {
			id, err := r.minimal(ctx)
			if err != nil {
				return bench.Sample{}, err
			}
			events, transitions, err := r.describeTotals(ctx, []string{id})
			return bench.Sample{Value: events, Extra: map[string]float64{"state transitions": transitions}}, err
		},
		Finish: func(res *bench.Result) {
			a, b := res.Extra["a.state transitions"], res.Extra["b.state transitions"]
			res.Checks = append(res.Checks, bench.NewCheck("state transitions A/B (median)", a.Median/b.Median, bench.AtMost(1.5)))
			res.Checks = append(res.Checks, r.longCheck...)
			res.Notes = append(res.Notes, r.longNotes...)
		},
	}
}

// setupStalled books n express orders while their carrier is stalled: each
// shipment workflow runs and waits for tracking that only the benchmark
// sends. The fault is cleared once they are booked; their journeys stay
// parked until it would have ended (an hour).
func (r *benchRun) setupStalled(ctx context.Context, n int) error {
	ids, err := r.placeStalled(ctx, "STALL", n, 8)
	if err != nil {
		return err
	}
	for _, id := range ids {
		v, err := r.st.GetOrder(ctx, demoMerchantID, id)
		if err != nil {
			return err
		}
		sh := v.Shipments[0]
		r.stalled = append(r.stalled, stalled{orderID: id, trackingNumber: sh.TrackingNumber,
			workflowID: logistics.ShipmentWorkflowID(demoMerchantID, id, sh.Number)})
	}
	return nil
}

// placeStalled places n orders under a stall fault of sbx_express,
// concurrency at a time, each waited for until it is booked and its order
// follows its shipment (closed loop, so the server works on a bounded set
// as a steady flow of orders would have it), and checks the shipment
// workflows run.
func (r *benchRun) placeStalled(ctx context.Context, prefix string, n, concurrency int) ([]string, error) {
	if err := r.sandboxFault(ctx, `{"carrier": "sbx_express", "kind": "stall", "duration_s": 3600}`); err != nil {
		return nil, err
	}
	defer func() { _ = r.sandboxFault(context.WithoutCancel(ctx), "") }()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = r.nextID(prefix)
	}
	deadline := time.Now().Add(r.sizes.SettleDeadline)
	booked := func(ctx context.Context, id string) error {
		for {
			var ok bool
			err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM shipments s JOIN orders o USING (merchant_id, order_id)
				WHERE s.merchant_id = $1 AND s.order_id = $2 AND s.tracking_number <> ''
				AND o.stage NOT IN ('received', 'screening', 'picking'))`, demoMerchantID, id).Scan(&ok)
			if err != nil || ok {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("order %s not booked after %s", id, r.sizes.SettleDeadline)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				err := r.placeOrder(ctx, ids[i])
				if err == nil {
					err = booked(ctx, ids[i])
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	// Every shipment workflow of a small set, a spread sample of a large one.
	step := max(1, n/100)
	for i := 0; i < n; i += step {
		wfID := logistics.ShipmentWorkflowID(demoMerchantID, ids[i], 1)
		for {
			d, err := r.tc.DescribeWorkflowExecution(ctx, wfID, "")
			if err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("shipment workflow %s not running: %v", wfID, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return ids, nil
}

// sandboxFault switches a sandbox fault on, or every fault off for "".
func (r *benchRun) sandboxFault(ctx context.Context, fault string) error {
	method, body := http.MethodPost, io.Reader(strings.NewReader(fault))
	if fault == "" {
		method, body = http.MethodDelete, nil
	}
	req, err := http.NewRequestWithContext(ctx, method, r.info.SandboxURL+"/admin/faults", body)
	if err != nil {
		return err
	}
	status, answer, err := r.do(req)
	if err != nil {
		return err
	}
	if status >= 300 {
		return fmt.Errorf("sandbox faults answered %d: %s", status, answer)
	}
	return nil
}

// trackingTime gives every benchmark scan its own time (the dedupe key
// holds it), in the past.
func (r *benchRun) trackingTime() time.Time {
	return time.Now().Add(-24 * time.Hour).Truncate(time.Hour).Add(time.Duration(r.seq.Add(1)) * time.Millisecond).UTC()
}

// sendScan posts one signed sbx_express tracking webhook with one in-transit
// scan for sh.
func (r *benchRun) sendScan(ctx context.Context, sh stalled) error {
	body, err := json.Marshal(map[string]any{"type": "tracking.updated", "carrier": "sbx_express",
		"tracking_number": sh.trackingNumber, "origin_country": "CN", "destination_country": "GB",
		"events": []map[string]any{{"code": "DEP", "description": "Departed origin facility",
			"occurred_at": r.trackingTime(), "location": map[string]string{"city": "Shenzhen", "country": "CN"}}}})
	if err != nil {
		return err
	}
	status, answer, err := r.post(ctx, r.info.APIURL+"/v1/webhooks/carriers/sbx_express", body, r.sandboxHook, nil)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("carrier webhook answered %d: %s", status, answer)
	}
	return nil
}

// storedEvents counts the tracking events stored for orders.
func (r *benchRun) storedEvents(ctx context.Context, orderIDs []string) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT count(*) FROM tracking_events WHERE merchant_id = $1 AND order_id = ANY($2)`,
		demoMerchantID, orderIDs).Scan(&n)
	return n, err
}

// waitStored waits until at least want events are stored for orders: the
// workflows have caught up with what was accepted.
func (r *benchRun) waitStored(ctx context.Context, orderIDs []string, want int) error {
	deadline := time.Now().Add(r.sizes.SettleDeadline)
	for {
		n, err := r.storedEvents(ctx, orderIDs)
		if err != nil {
			return err
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d tracking events stored after %s", n, want, r.sizes.SettleDeadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// handoffBacklog counts the accepted tracking hand-offs not yet signalled
// to their workflows.
func (r *benchRun) handoffBacklog(ctx context.Context) (int64, error) {
	n, _, err := r.st.TrackingHandoffBacklog(ctx)
	return n, err
}

// waitHandedOff waits until the relay has signalled every accepted
// tracking event to its workflow, and returns how long that took.
func (r *benchRun) waitHandedOff(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(r.sizes.SettleDeadline)
	for {
		n, err := r.handoffBacklog(ctx)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d tracking hand-offs still pending after %s", n, r.sizes.SettleDeadline)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitQuiet waits until a workflow has handled what it was sent: no
// pending activity and a history that stopped growing.
func (r *benchRun) waitQuiet(ctx context.Context, workflowID string) error {
	deadline := time.Now().Add(r.sizes.SettleDeadline)
	last, stable := int64(-1), 0
	for stable < 3 {
		d, err := r.tc.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil {
			return err
		}
		n := d.GetWorkflowExecutionInfo().GetHistoryLength()
		if n == last && len(d.GetPendingActivities()) == 0 {
			stable++
		} else {
			stable = 0
		}
		last = n
		if time.Now().After(deadline) {
			return fmt.Errorf("workflow %s still busy after %s", workflowID, r.sizes.SettleDeadline)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// settle waits until the relay has handed every accepted event over and
// each of shipments' workflows has handled what it was sent, so that the
// next measurement (A or B) does not share the machine with this one's
// aftermath. It returns how long the hand-over took.
func (r *benchRun) settle(ctx context.Context, shipments []stalled) (time.Duration, error) {
	drain, err := r.waitHandedOff(ctx)
	if err != nil {
		return 0, err
	}
	g, gctx := errgroup.WithContext(ctx)
	for _, sh := range shipments {
		g.Go(func() error { return r.waitQuiet(gctx, sh.workflowID) })
	}
	return drain, g.Wait()
}

// pairT3 is T3: carrier tracking webhooks accepted per second (signature,
// dedupe, lookup, hand-off to the workflow, record) against the raw INSERT
// of the dedupe row.
func (r *benchRun) pairT3() bench.Pair {
	shipments := r.stalled[:r.sizes.Shipments]
	orders := make([]string, len(shipments))
	for i, sh := range shipments {
		orders[i] = sh.orderID
	}
	c, window := r.sizes.T3Concurrency, r.sizes.T3Window
	response := []byte(`{"accepted":1,"ignored":0}`)
	return bench.Pair{
		ID: "T3", Name: "carrier tracking webhooks accepted per second", Unit: "webhooks/s",
		Measure: fmt.Sprintf("signed sbx_express webhooks to %d shipments in transit, %d in flight: signature, lookup, "+
			"dedupe, store, hand-off queued, in one transaction (202)", len(shipments), c),
		Baseline: fmt.Sprintf("raw single-row INSERT of the dedupe row through pgx, pool %d, %d in flight", bench.PoolSize, c),
		Target:   bench.AtLeast(0.5),
		A: func(ctx context.Context) (bench.Sample, error) {
			before, err := r.storedEvents(ctx, orders)
			if err != nil {
				return bench.Sample{}, err
			}
			var accepted atomic.Int64
			res := bench.ClosedLoop(ctx, c, r.sizes.Ramp, window, func(ctx context.Context, i int) error {
				if err := r.sendScan(ctx, shipments[i%len(shipments)]); err != nil {
					return err
				}
				accepted.Add(1)
				return nil
			})
			if err := loopError(res); err != nil {
				return bench.Sample{}, err
			}
			// Every acknowledged event is in the timeline already.
			if err := r.waitStored(ctx, orders, before+int(accepted.Load())); err != nil {
				return bench.Sample{}, err
			}
			// Not timed: the next measurement starts once the relay has
			// handed every accepted event to its workflow and the
			// workflows have handled them.
			drain, err := r.settle(ctx, shipments)
			if err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: res.PerSecond, Extra: map[string]float64{"ack p50 ms": res.P50, "ack p99 ms": res.P99,
				"hand-off drained after window s": drain.Seconds()}}, nil
		},
		B: func(ctx context.Context) (bench.Sample, error) {
			res := bench.ClosedLoop(ctx, c, r.sizes.Ramp, window, func(ctx context.Context, _ int) error {
				return bench.InsertWebhookRow(ctx, r.pool, "bench:baseline", "msg_"+ulid.Make().String(), response)
			})
			if err := loopError(res); err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: res.PerSecond, Extra: map[string]float64{"ack p50 ms": res.P50, "ack p99 ms": res.P99}}, nil
		},
	}
}

// longShipment sends LongEvents scans to one shipment, waits until all are
// stored, and checks every run of its workflow stayed within 2,000 history
// events (continue-as-new).
func (r *benchRun) longShipment(ctx context.Context) error {
	sh := r.stalled[len(r.stalled)-1]
	n := r.sizes.LongEvents
	before, err := r.storedEvents(ctx, []string{sh.orderID})
	if err != nil {
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := r.sendScan(ctx, sh); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if err := r.waitStored(ctx, []string{sh.orderID}, before+n); err != nil {
		return err
	}
	if _, err := r.waitHandedOff(ctx); err != nil {
		return err
	}
	if err := r.waitQuiet(ctx, sh.workflowID); err != nil {
		return err
	}
	// Walk the runs back from the current one through each run's
	// continued-from link.
	runID, runs, longest := "", 0, int64(0)
	for {
		d, err := r.tc.DescribeWorkflowExecution(ctx, sh.workflowID, runID)
		if err != nil {
			return err
		}
		info := d.GetWorkflowExecutionInfo()
		runs++
		longest = max(longest, info.GetHistoryLength())
		it := r.tc.GetWorkflowHistory(ctx, sh.workflowID, info.GetExecution().GetRunId(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		if !it.HasNext() {
			break
		}
		first, err := it.Next()
		if err != nil {
			return err
		}
		runID = first.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if runID == "" {
			break
		}
	}
	r.longCheck = []bench.Check{bench.NewCheck(fmt.Sprintf("most history events in one run of a shipment with %d tracking events", n),
		float64(longest), bench.AtMost(2000))}
	r.longNotes = []string{fmt.Sprintf("the shipment with %d tracking events ran as %d runs (continue-as-new); its longest run had %d events", n, runs, longest)}
	return nil
}

// pairT4 seeds orders with T4Events events each and returns T4: the
// merchant API's GET /v1/orders/{id}/tracking over loopback HTTP against the
// same query through raw pgx behind a bare net/http handler.
func (r *benchRun) pairT4(ctx context.Context) (bench.Pair, func(), error) {
	n, events := r.sizes.T4Orders, r.sizes.T4Events
	ids := make([]string, n)
	base := time.Now().Add(-72 * time.Hour).UTC()
	for i := range ids {
		ids[i] = r.nextID("T4")
		id := ids[i]
		order := logistics.Order{MerchantID: demoMerchantID, OrderID: id, WarehouseID: "wh_szx",
			ShipTo: logistics.Address{Name: "Ada Lovelace", City: "London", Country: "GB"}}
		if _, err := r.st.SaveOrder(ctx, store.OrderRecord{MerchantID: demoMerchantID, OrderID: id,
			WorkflowID: logistics.OrderWorkflowID(demoMerchantID, id), Order: order, Stage: logistics.StageLineHaul, Version: 1}); err != nil {
			return bench.Pair{}, nil, err
		}
		tn := "SBXT4" + strconv.Itoa(i)
		if _, err := r.st.SaveShipment(ctx, store.ShipmentRecord{WorkflowID: logistics.ShipmentWorkflowID(demoMerchantID, id, 1), Version: 1,
			Shipment: logistics.Shipment{MerchantID: demoMerchantID, OrderID: id, Number: 1, Carrier: "sbx_express", Service: "express",
				TrackingNumber: tn, Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul, Origin: "CN", Destination: "GB"}}); err != nil {
			return bench.Pair{}, nil, err
		}
		evs := make([]logistics.TrackingEvent, events)
		for j := range evs {
			evs[j] = logistics.TrackingEvent{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul,
				OccurredAt: base.Add(time.Duration(j) * time.Minute), Location: logistics.Location{City: "Shenzhen", Country: "CN"},
				Carrier: "sbx_express", TrackingNumber: tn, RawCode: "DEP", RawDescription: "Departed origin facility",
				Source: logistics.SourceWebhook, ResponsibleParty: logistics.PartyCarrier}
		}
		if _, err := r.st.AddTrackingEvents(ctx, demoMerchantID, id, 1, evs); err != nil {
			return bench.Pair{}, nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return bench.Pair{}, nil, err
	}
	bare := &http.Server{Handler: bench.TrackingHandler(r.pool, demoMerchantID), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = bare.Serve(ln) }()
	bareURL := "http://" + ln.Addr().String()
	get := func(ctx context.Context, url string, auth bool) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if auth {
			req.Header.Set("Authorization", "Bearer "+r.info.DemoAPIKey)
		}
		status, body, err := r.do(req)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET %s answered %d: %.200s", url, status, body)
		}
		if strings.Count(body, `"occurred_at"`) != events {
			return fmt.Errorf("GET %s: want %d events in %.200s", url, events, body)
		}
		return nil
	}
	c, window := r.sizes.T4Concurrency, r.sizes.T4Window
	p := bench.Pair{
		ID: "T4", Name: "order tracking reads per second", Unit: "requests/s",
		Measure:  fmt.Sprintf("GET /v1/orders/{id}/tracking, %d events per order, %d orders, %d in flight, loopback HTTP", events, n, c),
		Baseline: fmt.Sprintf("the same query through raw pgx (pool %d) behind a bare net/http handler", bench.PoolSize),
		Target:   bench.AtLeast(0.5),
		A: func(ctx context.Context) (bench.Sample, error) {
			res := bench.ClosedLoop(ctx, c, r.sizes.Ramp, window, func(ctx context.Context, i int) error {
				return get(ctx, r.info.APIURL+"/v1/orders/"+ids[i%n]+"/tracking", true)
			})
			if err := loopError(res); err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: res.PerSecond, Extra: map[string]float64{"p50 ms": res.P50, "p99 ms": res.P99}}, nil
		},
		B: func(ctx context.Context) (bench.Sample, error) {
			res := bench.ClosedLoop(ctx, c, r.sizes.Ramp, window, func(ctx context.Context, i int) error {
				return get(ctx, bareURL+"/orders/"+ids[i%n]+"/tracking", false)
			})
			if err := loopError(res); err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: res.PerSecond, Extra: map[string]float64{"p50 ms": res.P50, "p99 ms": res.P99}}, nil
		},
	}
	return p, func() { _ = bare.Close() }, nil
}

// pairT5 is T5: the ops CSV import of tracking scans, rows per second from
// the POST until every row is stored, against the same rows written by
// single-row INSERTs, one after another.
func (r *benchRun) pairT5() bench.Pair {
	shipments := r.stalled[:r.sizes.Shipments]
	orders := make([]string, len(shipments))
	for i, sh := range shipments {
		orders[i] = sh.orderID
	}
	files, rows := r.sizes.T5Files, r.sizes.T5Rows
	return bench.Pair{
		ID: "T5", Name: "bulk tracking CSV import rows per second", Unit: "rows/s",
		Measure: fmt.Sprintf("POST /v1/ops/tracking/import, %d files of %d rows over %d shipments, until every row is stored",
			files, rows, len(shipments)),
		Baseline: "the same rows as single-row INSERTs through pgx, one after another",
		Target:   bench.AtLeast(10),
		A: func(ctx context.Context) (bench.Sample, error) {
			// Timed: each POST, from its request until its 202. Rows
			// are stored in the same transaction that answers, which the
			// count after each file (not timed, so that counting a growing
			// table is not charged to the import) proves: every row must
			// be there the moment the 202 arrives, without waiting.
			var elapsed time.Duration
			for range files {
				before, err := r.storedEvents(ctx, orders)
				if err != nil {
					return bench.Sample{}, err
				}
				var csv strings.Builder
				csv.WriteString("carrier,tracking_number,code,occurred_at,city,country,description\n")
				for i := range rows {
					sh := shipments[i%len(shipments)]
					fmt.Fprintf(&csv, "sbx_express,%s,DEP,%s,Shenzhen,CN,Departed origin facility\n", sh.trackingNumber,
						r.trackingTime().Format(time.RFC3339Nano))
				}
				start := time.Now()
				status, answer, err := r.post(ctx, r.info.APIURL+"/v1/ops/tracking/import", []byte(csv.String()), nil, http.Header{
					"Authorization": {"Bearer " + r.info.OpsToken}, "Content-Type": {"text/csv"}, "X-Actor": {"bench@example.com"}})
				elapsed += time.Since(start)
				if err != nil {
					return bench.Sample{}, err
				}
				if status != http.StatusAccepted {
					return bench.Sample{}, fmt.Errorf("import answered %d: %.300s", status, answer)
				}
				if n, err := r.storedEvents(ctx, orders); err != nil {
					return bench.Sample{}, err
				} else if n < before+rows {
					return bench.Sample{}, fmt.Errorf("import answered 202 with %d of its %d rows stored", n-before, rows)
				}
			}
			perSecond := float64(files*rows) / elapsed.Seconds()
			// Not timed: the workflows get the scans through the relay,
			// and the next measurement starts once they have handled them.
			drain, err := r.settle(ctx, shipments)
			if err != nil {
				return bench.Sample{}, err
			}
			return bench.Sample{Value: perSecond, Extra: map[string]float64{"hand-off drained after s": drain.Seconds()}}, nil
		},
		B: func(ctx context.Context) (bench.Sample, error) {
			conn, err := r.pool.Acquire(ctx)
			if err != nil {
				return bench.Sample{}, err
			}
			defer conn.Release()
			start := time.Now()
			for i := range files * rows {
				sh := shipments[i%len(shipments)]
				at := r.trackingTime()
				row := bench.TrackingRow{MerchantID: demoMerchantID, OrderID: "T5-BASELINE-" + r.tag, ShipmentNumber: 1,
					DedupKey: "sbx_express|" + sh.trackingNumber + "|DEP|" + at.Format(time.RFC3339Nano) + "|CN|Shenzhen|baseline",
					Status:   string(logistics.StatusInTransit), Phase: string(logistics.PhaseLineHaul), OccurredAt: at,
					City: "Shenzhen", Country: "CN", Carrier: "sbx_express", TrackingNumber: sh.trackingNumber, RawCode: "DEP",
					RawDescription: "Departed origin facility", Source: string(logistics.SourceImport), RecordedBy: "bench@example.com"}
				if err := bench.InsertTrackingRow(ctx, conn, row); err != nil {
					return bench.Sample{}, err
				}
			}
			return bench.Sample{Value: float64(files*rows) / bench.Since(start)}, nil
		},
	}
}

// measureT6 is T6: the process's live heap with T6Orders orders waiting in
// tracking against the same process before they were placed. The two
// states cannot alternate, so B's samples are all taken first. The
// process holds the worker, the API and the sandbox (which keeps every
// parcel in memory), so the figure over-states the worker's own share.
func (r *benchRun) measureT6(ctx context.Context) (bench.Result, error) {
	n := r.sizes.T6Orders
	samples := max(r.sizes.Rounds, 1)
	type memSample struct{ total, heap, stacks, goroutines float64 }
	sample := func() memSample {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		// Workflow coroutines are goroutines: their stacks count too.
		return memSample{total: float64(m.HeapAlloc+m.StackInuse) / (1 << 20), heap: float64(m.HeapAlloc) / (1 << 20),
			stacks: float64(m.StackInuse) / (1 << 20), goroutines: float64(runtime.NumGoroutine())}
	}
	r.step("T6 B: empty worker heap")
	var bs, as []memSample
	for range samples {
		bs = append(bs, sample())
		time.Sleep(200 * time.Millisecond)
	}
	r.step(fmt.Sprintf("T6: placing %d orders to wait in tracking", n))
	if _, err := r.placeStalled(ctx, "T6", n, r.sizes.T6Concurrency); err != nil {
		return bench.Result{}, err
	}
	time.Sleep(2 * time.Second) // the last workflow tasks settle
	r.step(fmt.Sprintf("T6 A: heap with %d orders waiting", n))
	for range samples {
		as = append(as, sample())
		time.Sleep(200 * time.Millisecond)
	}
	if r.profileDir != "" {
		if err := writeHeapProfile(filepath.Join(r.profileDir, "T6.heap.pprof")); err != nil {
			return bench.Result{}, err
		}
	}
	pick := func(ms []memSample, f func(memSample) float64) []float64 {
		out := make([]float64, len(ms))
		for i, m := range ms {
			out[i] = f(m)
		}
		return out
	}
	perOrder := func(a, b float64) float64 { return (a - b) * 1024 / float64(n) }
	res := bench.Result{ID: "T6", Name: "worker memory per order waiting in tracking", Unit: "MiB heap+stacks",
		Measure:  fmt.Sprintf("live heap and goroutine stacks (after GC) of the process with %d orders waiting in tracking", n),
		Baseline: "the same process before they were placed (the empty worker)",
		Target:   bench.AtMost(50).String(), AFigures: bench.Summarise(pick(as, func(m memSample) float64 { return m.total })),
		BFigures: bench.Summarise(pick(bs, func(m memSample) float64 { return m.total }))}
	res.Extra = map[string]bench.Figures{
		"a.heap MiB": bench.Summarise(pick(as, func(m memSample) float64 { return m.heap })), "b.heap MiB": bench.Summarise(pick(bs, func(m memSample) float64 { return m.heap })),
		"a.stacks MiB": bench.Summarise(pick(as, func(m memSample) float64 { return m.stacks })), "b.stacks MiB": bench.Summarise(pick(bs, func(m memSample) float64 { return m.stacks })),
		"a.goroutines": bench.Summarise(pick(as, func(m memSample) float64 { return m.goroutines })), "b.goroutines": bench.Summarise(pick(bs, func(m memSample) float64 { return m.goroutines })),
	}
	var rs []float64
	for i := range as {
		rs = append(rs, perOrder(as[i].total, bs[i].total))
	}
	res.RatioFigures = bench.Summarise(rs)
	res.A, res.B = res.AFigures.Median, res.BFigures.Median
	res.Ratio = perOrder(res.A, res.B)
	res.Pass = bench.AtMost(50).Met(res.Ratio)
	goroutines := (res.Extra["a.goroutines"].Median - res.Extra["b.goroutines"].Median) / float64(n)
	stacks := (res.Extra["a.stacks MiB"].Median - res.Extra["b.stacks MiB"].Median) * 1024 / float64(n)
	res.Notes = []string{"ratio here is (A - B) / orders in KiB per waiting order, the figure the target bounds",
		fmt.Sprintf("per waiting order: %.1f goroutines (workflow coroutines) and %.1f KiB of their stacks", goroutines, stacks),
		"the process also holds the API and the sandbox (every parcel in memory), so this over-states the worker's share",
		fmt.Sprintf("the worker keeps at most %d workflows in memory (CROSSDOCK_WORKFLOW_CACHE_SIZE); an order waiting in tracking is two (order and shipment)", r.cacheSize)}
	return res, nil
}
