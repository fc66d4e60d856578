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
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/carriers"
	carriersandbox "github.com/crossdock/crossdock/carriers/sandbox"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/notify"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
	warehousesandbox "github.com/crossdock/crossdock/warehouses/sandbox"
	"github.com/crossdock/crossdock/workflows"
)

// newLogger builds the process logger from the configuration.
func newLogger(cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// dialTemporal connects to Temporal using the SDK's standard TEMPORAL_*
// variables (address, namespace, TLS, API key); hostPort overrides the
// address when the dev server was started in-process. A lazy client
// connects on first use, so a process can start (and say it is not ready)
// while Temporal is still down.
func dialTemporal(ctx context.Context, cfg Config, hostPort string, lazy bool, logger *slog.Logger) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("temporal configuration: %w", err)
	}
	if hostPort != "" {
		opts.HostPort = hostPort
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	opts.Namespace = cfg.TemporalNamespace
	opts.Logger = tlog.NewStructuredLogger(logger.With("component", "temporal"))
	if lazy {
		c, err := client.NewLazyClient(opts)
		if err != nil {
			return nil, fmt.Errorf("temporal client for %s: %w", opts.HostPort, err)
		}
		return c, nil
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", opts.HostPort, err)
	}
	return c, nil
}

// registries returns the carriers and warehouses the process talks to. The
// sandbox network is used when CROSSDOCK_SANDBOX_URL is set.
func registries(cfg Config) (*carriers.Registry, *warehouses.Registry, error) {
	if cfg.SandboxURL == "" {
		return carriers.NewRegistry(), warehouses.NewRegistry(), nil
	}
	if cfg.SandboxSecret == "" {
		return nil, nil, errors.New("CROSSDOCK_SANDBOX_WEBHOOK_SECRET: required when CROSSDOCK_SANDBOX_URL is set")
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	cs, err := carriersandbox.Carriers(cfg.SandboxURL, cfg.SandboxSecret, httpClient)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox carriers: %w", err)
	}
	ws, err := warehousesandbox.Warehouses(cfg.SandboxURL, cfg.SandboxSecret, httpClient)
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox warehouses: %w", err)
	}
	channelsFile, source := carriersandbox.ChannelsFile, "the sandbox's built-in channels"
	if cfg.ChannelsFile != "" {
		if channelsFile, err = os.ReadFile(cfg.ChannelsFile); err != nil {
			return nil, nil, fmt.Errorf("CROSSDOCK_CHANNELS_FILE: %w", err)
		}
		source = cfg.ChannelsFile
	}
	chs, err := carriers.LoadChannels(channelsFile)
	if err != nil {
		return nil, nil, fmt.Errorf("CROSSDOCK_CHANNELS_FILE (%s): %w", source, err)
	}
	cr, err := carriers.NewConfiguredRegistry(chs, cs...)
	if err != nil {
		return nil, nil, fmt.Errorf("CROSSDOCK_CHANNELS_FILE (%s): %w", source, err)
	}
	return cr, warehouses.NewRegistry(ws...), nil
}

// newCustomsEngine builds the customs engine from the shipped rules and the
// operator's files: duty rates, FX rates, the denied-party list (US
// Consolidated Screening List CSV) and the EU fee scope.
func newCustomsEngine(cfg Config, logger *slog.Logger) (*customs.Engine, error) {
	rules := customs.DefaultRules()
	scope, err := customs.ParseFeeScope(cfg.EUFeeScope)
	if err != nil {
		return nil, fmt.Errorf("CROSSDOCK_EU_FEE_SCOPE: %w", err)
	}
	rules.FeeScope = scope
	if err := loadFile("CROSSDOCK_DUTY_RATES_FILE", cfg.DutyRatesFile, func(r io.Reader) (err error) {
		rules.Duties, err = customs.LoadDutyRatesCSV(r)
		return err
	}); err != nil {
		return nil, err
	}
	if err := loadFile("CROSSDOCK_FX_RATES_FILE", cfg.FXRatesFile, func(r io.Reader) (err error) {
		rules.FX, err = customs.LoadFXRatesCSV(r)
		return err
	}); err != nil {
		return nil, err
	}
	switch {
	case cfg.DeniedPartiesFile != "":
		if err := loadFile("CROSSDOCK_DENIED_PARTIES_FILE", cfg.DeniedPartiesFile, func(r io.Reader) (err error) {
			rules.DeniedParties, err = customs.LoadDeniedPartiesCSV(r)
			return err
		}); err != nil {
			return nil, err
		}
	case cfg.dev:
		rules.DeniedParties = customs.DefaultDeniedParties()
	default:
		logger.Warn("denied-party screening is off: set CROSSDOCK_DENIED_PARTIES_FILE to a Consolidated Screening List CSV")
	}
	engine, err := customs.NewEngine(rules)
	if err != nil {
		return nil, fmt.Errorf("customs rules: %w", err)
	}
	return engine, nil
}

// loadFile opens path (when set) and hands it to load, naming the variable
// that configured it in any error.
func loadFile(name, path string, load func(io.Reader) error) error {
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	if err := load(f); err != nil {
		return fmt.Errorf("%s: %s: %w", name, path, err)
	}
	return nil
}

// newActivities wires the activities' dependencies.
func newActivities(cfg Config, st *store.Store, cr *carriers.Registry, wr *warehouses.Registry, logger *slog.Logger) (*activities.Activities, error) {
	engine, err := newCustomsEngine(cfg, logger)
	if err != nil {
		return nil, err
	}
	lanes, err := parseSLALanes(cfg.SLALanes)
	if err != nil {
		return nil, fmt.Errorf("CROSSDOCK_SLA_LANES: %w", err)
	}
	return &activities.Activities{
		Store: st, Carriers: cr, Warehouses: wr, Customs: engine,
		Settings: activities.Settings{PickTimeout: cfg.PickTimeout, PollInterval: cfg.PollInterval, ManifestEvery: cfg.ManifestEvery,
			CarrierAttempts: cfg.CarrierAttempts, CarrierMaxInterval: cfg.CarrierMaxInterval,
			SLA: activities.SLA{NoMovement: cfg.SLANoMovement, ImportCustoms: cfg.SLAImportCustoms,
				PickupWait: cfg.SLAPickupWait, HoldReminder: cfg.HoldReminder, HoldEscalation: cfg.HoldEscalation},
			SLALanes: lanes},
	}, nil
}

// runWorker polls the task queue until ctx ends, then stops cleanly
// (in-flight activities get the worker's stop timeout to finish).
func runWorker(ctx context.Context, cfg Config, c client.Client, acts *activities.Activities, logger *slog.Logger) error {
	// Orders wait days in tracking: a bounded cache keeps the worker's
	// memory bounded, and an evicted order is replayed on its next event
	// (the SDK's default keeps 10,000 workflows, about 75 KiB each).
	worker.SetStickyWorkflowCacheSize(cfg.WorkflowCacheSize)
	w := worker.New(c, logistics.TaskQueue, worker.Options{WorkerStopTimeout: 10 * time.Second,
		// Activities heartbeat so a killed worker's are retried elsewhere
		// within the heartbeat timeout (workflows/options.go).
		Interceptors: []interceptor.WorkerInterceptor{activities.Heartbeats()}})
	workflows.Register(w, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("worker started", "task_queue", logistics.TaskQueue)
	<-ctx.Done()
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

// webhookGuard is the SSRF guard for merchants' webhook URLs, shared by the
// API (subscribe time) and the sender (connect time).
func webhookGuard(cfg Config) *notify.Guard {
	return notify.NewGuard(notify.GuardOptions{AllowPrivate: cfg.PrivateWebhooks})
}

// runSender delivers outbound events to merchants' webhook endpoints until
// ctx ends; attempts in flight finish before it returns.
func runSender(ctx context.Context, cfg Config, st *store.Store, logger *slog.Logger) error {
	sender, err := notify.NewSender(st, notify.Options{Guard: webhookGuard(cfg), Poll: cfg.WebhookPoll,
		Logger: logger.With("component", "webhooks")})
	if err != nil {
		return err
	}
	if cfg.PrivateWebhooks {
		logger.Warn("webhooks may reach private and loopback addresses (CROSSDOCK_WEBHOOK_ALLOW_PRIVATE): for development only")
	}
	return sender.Run(ctx)
}

// runWorkerAndSender is `crossdock worker`: the Temporal worker and the
// webhook sender side by side; when one fails the other is stopped.
func runWorkerAndSender(ctx context.Context, cfg Config, c client.Client, st *store.Store, acts *activities.Activities, logger *slog.Logger) error {
	g, gctx := group(ctx)
	g.Go(func() error { return runWorker(gctx, cfg, c, acts, logger) })
	g.Go(func() error { return runSender(gctx, cfg, st, logger) })
	return g.Wait()
}

// serveHTTP listens on addr and serves handler until ctx ends.
func serveHTTP(ctx context.Context, name, addr string, handler http.Handler, shutdown time.Duration, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	return serve(ctx, name, ln, handler, shutdown, logger)
}

// serve serves handler on ln until ctx ends, then lets in-flight requests
// finish within the shutdown timeout.
func serve(ctx context.Context, name string, ln net.Listener, handler http.Handler, shutdown time.Duration, logger *slog.Logger) error {
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	logger.Info("http server listening", "server", name, "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	logger.Info("http server stopped", "server", name)
	return nil
}

// sandboxHandler is the emulated carrier and warehouse network, and a
// function that stops its timers.
func sandboxHandler(cfg Config, logger *slog.Logger) (http.Handler, func(), error) {
	if cfg.SandboxSecret == "" {
		return nil, nil, errors.New("CROSSDOCK_SANDBOX_WEBHOOK_SECRET: required to run the sandbox")
	}
	callback := cfg.APIURL
	if callback == "" {
		callback = localURL(cfg.HTTPAddr)
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	cs := carriersandbox.NewServer(carriersandbox.Options{CallbackURL: callback, WebhookSecret: cfg.SandboxSecret,
		Speedup: cfg.SandboxSpeedup, Logger: logger.With("component", "sandbox-carriers"), HTTPClient: httpClient})
	ws := warehousesandbox.NewServer(warehousesandbox.Options{CallbackURL: callback, WebhookSecret: cfg.SandboxSecret,
		Speedup: cfg.SandboxSpeedup, Logger: logger.With("component", "sandbox-warehouses"), HTTPClient: httpClient})
	mux := http.NewServeMux()
	cs.Register(mux)
	ws.Register(mux)
	return mux, func() { cs.Close(); ws.Close() }, nil
}

// localURL turns a listen address such as ":8080" into a loopback URL.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
