package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/crossdock/crossdock/api"
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
	"github.com/crossdock/crossdock/workflows"
)

// Dev-mode defaults: the Temporal dev server's well-known ports (contract.md)
// and the demo merchant.
const (
	devTemporalHostPort = "127.0.0.1:7233"
	devTemporalUIPort   = "8233"
	demoMerchantID      = "m_demo"
	demoMerchantName    = "Demo Merchant"
)

func newDevCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: Temporal dev server and UI, worker, API, sandbox network, demo merchant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			applyDevDefaults(&cfg)
			if err := cfg.validate(); err != nil {
				return err
			}
			logger := newLogger(cfg)
			return runStack(cmd.Context(), cfg, stackOptions{Logger: logger, Out: cmd.OutOrStdout(), TemporalUI: true})
		},
	}
}

// applyDevDefaults shortens the waits that make sense in production but not
// on a laptop, unless the environment sets them.
func applyDevDefaults(cfg *Config) {
	if _, ok := os.LookupEnv("CROSSDOCK_POLL_INTERVAL"); !ok {
		cfg.PollInterval = 2 * time.Second
	}
	if _, ok := os.LookupEnv("CROSSDOCK_PICK_TIMEOUT"); !ok {
		cfg.PickTimeout = 10 * time.Minute
	}
	// Batch-only couriers get a manifest every 20 s, not at tomorrow's cut-off.
	if _, ok := os.LookupEnv("CROSSDOCK_MANIFEST_EVERY"); !ok {
		cfg.ManifestEvery = 20 * time.Second
	}
	// A failing sandbox lane shows up as stuck within half a minute.
	if _, ok := os.LookupEnv("CROSSDOCK_CARRIER_MAX_ATTEMPTS"); !ok {
		cfg.CarrierAttempts = 4
	}
	if _, ok := os.LookupEnv("CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL"); !ok {
		cfg.CarrierMaxInterval = 10 * time.Second
	}
	// The sandbox moves an hour a second: alerts on the same scale.
	for _, d := range []struct {
		name string
		dst  *time.Duration
		dev  time.Duration
	}{{"CROSSDOCK_SLA_NO_MOVEMENT", &cfg.SLANoMovement, time.Minute},
		{"CROSSDOCK_SLA_IMPORT_CUSTOMS", &cfg.SLAImportCustoms, 2 * time.Minute},
		{"CROSSDOCK_SLA_PICKUP_WAIT", &cfg.SLAPickupWait, 2 * time.Minute},
		{"CROSSDOCK_CUSTOMS_HOLD_REMINDER", &cfg.HoldReminder, 30 * time.Second},
		{"CROSSDOCK_CUSTOMS_HOLD_ESCALATION", &cfg.HoldEscalation, 2 * time.Minute}} {
		if _, ok := os.LookupEnv(d.name); !ok {
			*d.dst = d.dev
		}
	}
}

// stackOptions adjusts runStack for `dev` and for the end-to-end test.
type stackOptions struct {
	Logger *slog.Logger
	// Out receives the banner; nil prints none.
	Out io.Writer
	// TemporalUI starts the dev server's web UI on its usual port.
	TemporalUI bool
	// Ephemeral binds every listener (Temporal too) to a free loopback port
	// instead of the configured ones, so tests can run beside `make run`.
	Ephemeral bool
	// Ready, if set, receives the running stack's endpoints.
	Ready chan<- stackInfo
	// TemporalDB, if set, is the file the dev server keeps its state in
	// (Ephemeral otherwise keeps it in memory): the benchmark measures the
	// server on disk, as `dev` runs it.
	TemporalDB string
	// UntunedTemporal starts the dev server without the SQLite pragmas
	// (WAL, synchronous=OFF), to measure its untuned ceiling.
	UntunedTemporal bool
	// API, if set, adjusts the API's configuration before it is built (the
	// benchmark lifts the per-key rate limit, which is policy, not cost).
	API func(*api.Config)
}

// stackInfo is what a newcomer (or a test) needs to use the running stack.
type stackInfo struct {
	APIURL, SandboxURL, TemporalHostPort, TemporalUIURL string
	DemoAPIKey, OrderWebhookSecret, OpsToken            string
}

// runStack is `crossdock dev`: it starts the Temporal dev server (unless
// TEMPORAL_ADDRESS is set), migrates the store, and runs the worker, the API
// and the sandbox network until ctx ends, then stops all of them.
func runStack(ctx context.Context, cfg Config, opts stackOptions) error {
	logger := opts.Logger
	cfg.dev = true
	// A merchant's webhook receiver on the same laptop must work in dev.
	if _, ok := os.LookupEnv("CROSSDOCK_WEBHOOK_ALLOW_PRIVATE"); !ok {
		cfg.PrivateWebhooks = true
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("CROSSDOCK_DATA_DIR: %w", err)
	}
	if err := loadDevSecrets(&cfg); err != nil {
		return err
	}

	tc, temporalHostPort, uiURL, stopTemporal, err := devTemporal(ctx, cfg, opts, logger)
	if err != nil {
		return err
	}
	defer stopTemporal()

	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}

	apiAddr, sandboxAddr := cfg.HTTPAddr, cfg.SandboxAddr
	if opts.Ephemeral {
		apiAddr, sandboxAddr = "127.0.0.1:0", "127.0.0.1:0"
	}
	apiLn, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return fmt.Errorf("CROSSDOCK_HTTP_ADDR: listen on %s: %w", apiAddr, err)
	}
	defer apiLn.Close() // closed by the server's shutdown too; this covers early returns
	sandboxLn, err := net.Listen("tcp", sandboxAddr)
	if err != nil {
		return fmt.Errorf("CROSSDOCK_SANDBOX_ADDR: listen on %s: %w", sandboxAddr, err)
	}
	defer sandboxLn.Close()
	cfg.APIURL = localURL(apiLn.Addr().String())
	cfg.SandboxURL = localURL(sandboxLn.Addr().String())

	cr, wr, err := registries(cfg)
	if err != nil {
		return err
	}
	// On Postgres the worker and the sender get a pool of their own, as
	// `crossdock worker` has beside `crossdock api` in production, so a busy
	// worker cannot keep the API's requests waiting for a connection. The
	// embedded SQLite file has one writer: there they share the store.
	workerStore := st
	if st.Dialect() == store.DialectPostgres {
		ws, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
		if err != nil {
			return err
		}
		defer ws.Close()
		workerStore = ws
	}
	acts, err := newActivities(cfg, workerStore, cr, wr, logger)
	if err != nil {
		return err
	}
	apiHandler, relay, err := newAPIHandler(cfg, st, tc, cr, wr, logger, opts.API)
	if err != nil {
		return err
	}
	sbxHandler, closeSandbox, err := sandboxHandler(cfg, logger)
	if err != nil {
		return err
	}
	defer closeSandbox()
	demoKey, err := ensureDemoMerchant(ctx, st)
	if err != nil {
		return err
	}

	g, gctx := group(ctx)
	g.Go(func() error { return serve(gctx, "api", apiLn, apiHandler, cfg.ShutdownTimeout, logger) })
	g.Go(func() error { return relay.Run(gctx) })
	g.Go(func() error { return serve(gctx, "sandbox", sandboxLn, sbxHandler, cfg.ShutdownTimeout, logger) })
	g.Go(func() error { return runWorker(gctx, cfg, tc, acts, logger) })
	g.Go(func() error { return runSender(gctx, cfg, workerStore, logger) })

	info := stackInfo{APIURL: cfg.APIURL, SandboxURL: cfg.SandboxURL, TemporalHostPort: temporalHostPort,
		TemporalUIURL: uiURL, DemoAPIKey: demoKey, OrderWebhookSecret: cfg.OrderWebhookSecret[0], OpsToken: cfg.OpsToken}
	if opts.Out != nil {
		printBanner(opts.Out, info)
	}
	if opts.Ready != nil {
		opts.Ready <- info
	}
	return g.Wait()
}

// devTemporal returns a client of the configured Temporal cluster, or starts
// the Temporal CLI's dev server (persisting under the data directory, with
// Crossdock's search attributes and the web UI) when TEMPORAL_ADDRESS is unset.
func devTemporal(ctx context.Context, cfg Config, opts stackOptions, logger *slog.Logger) (client.Client, string, string, func(), error) {
	if cfg.TemporalAddress != "" {
		c, err := dialTemporal(ctx, cfg, cfg.TemporalAddress, false, logger)
		if err != nil {
			return nil, "", "", nil, err
		}
		return c, cfg.TemporalAddress, "", c.Close, nil
	}
	cli, err := temporalCLI(cfg)
	if err != nil {
		return nil, "", "", nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "temporal.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, "", "", nil, err
	}
	hostPort, uiPort, dbFile := devTemporalHostPort, devTemporalUIPort, filepath.Join(cfg.DataDir, "temporal.db")
	if opts.Ephemeral {
		hostPort, uiPort, dbFile = "", "", ""
	}
	if opts.TemporalDB != "" {
		dbFile = opts.TemporalDB
	}
	// Temporal's own CI speeds its SQLite store up the same way.
	pragmas := []string{"--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=OFF"}
	if opts.UntunedTemporal {
		pragmas = nil
	}
	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	logger.Info("starting temporal dev server", "cli", cli, "log", logFile.Name())
	srv, err := testsuite.StartDevServer(sctx, testsuite.DevServerOptions{
		ExistingPath: cli,
		ClientOptions: &client.Options{HostPort: hostPort, Namespace: cfg.TemporalNamespace,
			Logger: tlog.NewStructuredLogger(logger.With("component", "temporal"))},
		DBFilename:       dbFile,
		EnableUI:         opts.TemporalUI,
		UIPort:           uiPort,
		LogLevel:         "warn",
		SearchAttributes: workflows.SearchAttributes(),
		ExtraArgs:        pragmas,
		Stdout:           logFile, Stderr: logFile,
	})
	if err != nil {
		logFile.Close()
		return nil, "", "", nil, fmt.Errorf("start temporal dev server (log in %s): %w", logFile.Name(), err)
	}
	uiURL := ""
	if opts.TemporalUI {
		host, _, _ := net.SplitHostPort(srv.FrontendHostPort())
		uiURL = "http://" + net.JoinHostPort(host, uiPort)
	}
	stop := func() {
		srv.Client().Close()
		if err := srv.Stop(); err != nil {
			logger.Warn("temporal dev server stop", "error", err)
		}
		logFile.Close()
	}
	return srv.Client(), srv.FrontendHostPort(), uiURL, stop, nil
}

// temporalCLI finds the Temporal CLI: CROSSDOCK_TEMPORAL_CLI, then ./bin
// (where `make` installs it), then PATH.
func temporalCLI(cfg Config) (string, error) {
	if cfg.TemporalCLI != "" {
		return cfg.TemporalCLI, nil
	}
	if p, err := filepath.Abs(filepath.Join("bin", "temporal")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("temporal CLI not found: run `make run` or `make test` (both build bin/temporal), " +
		"set CROSSDOCK_TEMPORAL_CLI, or set TEMPORAL_ADDRESS to use a running cluster")
}

// ensureDemoMerchant creates m_demo, or gives it a fresh key, and returns
// the key (keys are stored hashed, so an old one cannot be shown again).
func ensureDemoMerchant(ctx context.Context, st *store.Store) (string, error) {
	key, err := store.NewAPIKey()
	if err != nil {
		return "", err
	}
	err = st.CreateMerchant(ctx, logistics.Merchant{ID: demoMerchantID, Name: demoMerchantName}, store.HashAPIKey(key))
	if logistics.ErrorCode(err) == logistics.CodeConflict {
		err = st.RotateMerchantKey(ctx, demoMerchantID, store.HashAPIKey(key))
	}
	if err != nil {
		return "", fmt.Errorf("demo merchant: %w", err)
	}
	return key, nil
}

// keyCacheTTL maps CROSSDOCK_API_KEY_CACHE_TTL, where 0 means no cache,
// to api.Config.KeyCacheTTL, where 0 means the default and negative none.
func keyCacheTTL(ttl time.Duration) time.Duration {
	if ttl == 0 {
		return -1
	}
	return ttl
}

// newAPIHandler wires the HTTP API with one Prometheus registry, and the
// relay that hands the tracking events it accepts to the shipment
// workflows (run it beside the handler); adjust, if not nil, changes the
// API's configuration before it is built.
func newAPIHandler(cfg Config, st *store.Store, tc client.Client, cr *carriers.Registry, wr *warehouses.Registry, logger *slog.Logger,
	adjust func(*api.Config)) (http.Handler, *api.Relay, error) {
	engine, err := newCustomsEngine(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	relay := api.NewRelay(st, tc, api.RelayOptions{Logger: logger.With("component", "handoffs"), Metrics: reg})
	apiCfg := api.Config{
		Store: st, Temporal: tc, Carriers: cr, Warehouses: wr,
		OrderWebhookSecrets: cfg.OrderWebhookSecret, OpsToken: cfg.OpsToken, MaxBodyBytes: cfg.MaxBodyBytes,
		Logger: logger, Metrics: reg, Gatherer: reg, Quoter: carriers.Quoter{Registry: cr, Customs: engine},
		WebhookEndpoints: st, WebhookURLs: webhookGuard(cfg), KeyCacheTTL: keyCacheTTL(cfg.APIKeyCacheTTL),
		Handoffs: relay,
	}
	if adjust != nil {
		adjust(&apiCfg)
	}
	srv, err := api.New(apiCfg)
	if err != nil {
		return nil, nil, err
	}
	return srv.Handler(), relay, nil
}

func printBanner(w io.Writer, info stackInfo) {
	demo := "go run ./cmd/crossdock"
	if _, err := os.Stat(filepath.Join("bin", "crossdock")); err == nil {
		demo = "./bin/crossdock"
	}
	fmt.Fprintf(w, `
Crossdock is running.

  API               %s   (OpenAPI: %s/openapi.json)
  Temporal UI       %s
  Temporal          %s
  Sandbox network   %s

  Demo merchant     %s
  Demo API key      %s
  Order webhook     %s
  Ops token         %s

Send a signed demo order (it travels warehouse -> carrier -> customs -> doorstep in accelerated time):

  %s demo order --api %s --secret %s

Then follow it:

  curl -s -H 'Authorization: Bearer %s' %s/v1/orders/<order_id>
  curl -s -H 'Authorization: Bearer %s' %s/v1/orders/<order_id>/tracking

Get its events pushed to you as signed webhooks (README: "Merchant webhooks"):

  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' %s/v1/webhook-endpoints \
    -d '{"url": "http://127.0.0.1:9000/crossdock", "events": ["order.stage_changed", "shipment.status_changed", "order.action_required"]}'

Press Ctrl-C to stop everything.
`, info.APIURL, info.APIURL, orNone(info.TemporalUIURL), info.TemporalHostPort, info.SandboxURL,
		demoMerchantID, info.DemoAPIKey, info.OrderWebhookSecret, info.OpsToken,
		demo, info.APIURL, info.OrderWebhookSecret,
		info.DemoAPIKey, info.APIURL, info.DemoAPIKey, info.APIURL,
		info.DemoAPIKey, info.APIURL)
}

func orNone(s string) string {
	if s == "" {
		return "(TEMPORAL_ADDRESS is set: use that cluster's UI)"
	}
	return s
}
