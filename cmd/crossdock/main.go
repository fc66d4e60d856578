// Command crossdock is Crossdock's one binary: the API, the worker, the
// sandbox carrier network, migrations, merchant administration, and `dev`,
// which runs all of it on one machine for a newcomer.
package main

import (
	// Channel cut-offs name IANA zones; the image may have no zoneinfo.
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
	"github.com/crossdock/crossdock/warehouses"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "crossdock:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "crossdock",
		Short:         "Cross-border logistics orchestration",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCommand(), newAPICommand(), newWorkerCommand(), newSandboxCommand(),
		newMigrateCommand(), newMerchantCommand(), newDemoCommand(), newChannelsCommand(), newBenchCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "crossdock", version)
			return err
		},
	}
}

func newAPICommand() *cobra.Command {
	return &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API (webhooks, merchant API, ops, health)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			needSecret := func(cfg Config) error {
				if len(cfg.OrderWebhookSecret) == 0 {
					return errors.New("CROSSDOCK_ORDER_WEBHOOK_SECRET: required for crossdock api")
				}
				return nil
			}
			return withServices(cmd, true, needSecret, func(ctx context.Context, s services) error {
				h, relay, err := newAPIHandler(s.cfg, s.store, s.temporal, s.carriers, s.warehouses, s.logger, nil)
				if err != nil {
					return err
				}
				g, gctx := group(ctx)
				g.Go(func() error { return serveHTTP(gctx, "api", s.cfg.HTTPAddr, h, s.cfg.ShutdownTimeout, s.logger) })
				g.Go(func() error { return relay.Run(gctx) })
				return g.Wait()
			})
		},
	}
}

func newWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker (workflows and activities) and the merchant webhook sender",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withServices(cmd, false, nil, func(ctx context.Context, s services) error {
				acts, err := newActivities(s.cfg, s.store, s.carriers, s.warehouses, s.logger)
				if err != nil {
					return err
				}
				return runWorkerAndSender(ctx, s.cfg, s.temporal, s.store, acts, s.logger)
			})
		},
	}
}

// services are what the api and worker processes share: configuration,
// logger, store, Temporal client and the carrier and warehouse registries.
type services struct {
	cfg        Config
	logger     *slog.Logger
	store      *store.Store
	temporal   client.Client
	carriers   *carriers.Registry
	warehouses *warehouses.Registry
}

// withServices checks the configuration (check may be nil), opens the
// shared services, runs fn, and closes them. lazyTemporal lets the process
// start while Temporal is unreachable (the API answers 503 until it is).
func withServices(cmd *cobra.Command, lazyTemporal bool, check func(Config) error, fn func(context.Context, services) error) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(cfg); err != nil {
			return err
		}
	}
	s := services{cfg: cfg, logger: newLogger(cfg)}
	ctx := cmd.Context()
	if s.store, err = store.Open(ctx, cfg.DatabaseURL, cfg.DataDir); err != nil {
		return err
	}
	defer s.store.Close()
	if s.temporal, err = dialTemporal(ctx, cfg, cfg.TemporalAddress, lazyTemporal, s.logger); err != nil {
		return err
	}
	defer s.temporal.Close()
	if s.carriers, s.warehouses, err = registries(cfg); err != nil {
		return err
	}
	return fn(ctx, s)
}

func newSandboxCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "sandbox",
		Short: "Serve the emulated carrier and warehouse network",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			logger := newLogger(cfg)
			h, closeSandbox, err := sandboxHandler(cfg, logger)
			if err != nil {
				return err
			}
			defer closeSandbox()
			return serveHTTP(cmd.Context(), "sandbox", cfg.SandboxAddr, h, cfg.ShutdownTimeout, logger)
		},
	}
}

func newMigrateCommand() *cobra.Command {
	migrate := &cobra.Command{Use: "migrate", Short: "Apply or show database migrations"}
	open := func(cmd *cobra.Command) (*store.Store, error) {
		cfg, err := loadConfig()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("CROSSDOCK_DATA_DIR: %w", err)
		}
		return store.Open(cmd.Context(), cfg.DatabaseURL, cfg.DataDir)
	}
	migrate.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Migrate(cmd.Context()); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return err
		},
	}, &cobra.Command{
		Use:   "status",
		Short: "List migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := open(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			return st.MigrationStatus(cmd.Context(), cmd.OutOrStdout())
		},
	})
	return migrate
}

func newMerchantCommand() *cobra.Command {
	merchant := &cobra.Command{Use: "merchant", Short: "Administer merchants"}
	var id, name string
	var asJSON bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a merchant and print its API key (shown once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *store.Store) error {
				key, err := createMerchant(ctx, st, id, name)
				if err != nil {
					return err
				}
				return printKey(cmd, asJSON, id, key)
			})
		},
	}
	create.Flags().StringVar(&id, "id", "", "merchant id, e.g. m_acme (required)")
	create.Flags().StringVar(&name, "name", "", "display name (required)")
	create.Flags().BoolVar(&asJSON, "json", false, "print {\"merchant_id\", \"api_key\"} as JSON")
	_ = create.MarkFlagRequired("id")
	_ = create.MarkFlagRequired("name")

	var rotateID string
	var rotateJSON bool
	rotate := &cobra.Command{
		Use:   "rotate-key",
		Short: "Replace a merchant's API key and print the new one (running APIs accept the old one for up to CROSSDOCK_API_KEY_CACHE_TTL)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(ctx context.Context, st *store.Store) error {
				key, err := store.NewAPIKey()
				if err != nil {
					return err
				}
				if err := st.RotateMerchantKey(ctx, rotateID, store.HashAPIKey(key)); err != nil {
					return fmt.Errorf("rotate key of %s: %w", rotateID, err)
				}
				return printKey(cmd, rotateJSON, rotateID, key)
			})
		},
	}
	rotate.Flags().StringVar(&rotateID, "id", "", "merchant id (required)")
	rotate.Flags().BoolVar(&rotateJSON, "json", false, "print JSON")
	_ = rotate.MarkFlagRequired("id")
	merchant.AddCommand(create, rotate)
	return merchant
}

// createMerchant validates and stores a new merchant, returning its API key.
func createMerchant(ctx context.Context, st *store.Store, id, name string) (string, error) {
	if !logistics.ValidID(id) {
		return "", fmt.Errorf("--id: %q must be 1-64 letters, digits or _.:-", id)
	}
	if name == "" {
		return "", errors.New("--name: must not be empty")
	}
	key, err := store.NewAPIKey()
	if err != nil {
		return "", err
	}
	if err := st.CreateMerchant(ctx, logistics.Merchant{ID: id, Name: name}, store.HashAPIKey(key)); err != nil {
		return "", fmt.Errorf("create merchant %s: %w", id, err)
	}
	return key, nil
}

func printKey(cmd *cobra.Command, asJSON bool, id, key string) error {
	if asJSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"merchant_id": id, "api_key": key})
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "merchant %s\napi key   %s   (shown once: store it now)\n", id, key)
	return err
}

// withStore opens and migrates the configured store for an admin command.
func withStore(cmd *cobra.Command, fn func(context.Context, *store.Store) error) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("CROSSDOCK_DATA_DIR: %w", err)
	}
	ctx := cmd.Context()
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	return fn(ctx, st)
}

// group runs the long-lived parts of a process; when one fails or ctx ends,
// the others are asked to stop and Wait returns the first error.
func group(ctx context.Context) (*errgroup.Group, context.Context) { return errgroup.WithContext(ctx) }
