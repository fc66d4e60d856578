package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/crossdock/crossdock/customs"
)

// Config is everything Crossdock reads from its environment. The names are
// part of the contract (contract.md "Configuration and commands"); the README
// lists each one.
type Config struct {
	HTTPAddr           string        `env:"CROSSDOCK_HTTP_ADDR" envDefault:":8080"`
	DatabaseURL        string        `env:"CROSSDOCK_DATABASE_URL"`
	DataDir            string        `env:"CROSSDOCK_DATA_DIR" envDefault:".crossdock"`
	OrderWebhookSecret []string      `env:"CROSSDOCK_ORDER_WEBHOOK_SECRET" envSeparator:" "`
	OpsToken           string        `env:"CROSSDOCK_OPS_TOKEN"`
	SandboxAddr        string        `env:"CROSSDOCK_SANDBOX_ADDR" envDefault:":8090"`
	SandboxURL         string        `env:"CROSSDOCK_SANDBOX_URL"`
	SandboxSecret      string        `env:"CROSSDOCK_SANDBOX_WEBHOOK_SECRET"`
	SandboxSpeedup     float64       `env:"CROSSDOCK_SANDBOX_SPEEDUP" envDefault:"3600"`
	APIURL             string        `env:"CROSSDOCK_API_URL"`
	LogFormat          string        `env:"CROSSDOCK_LOG_FORMAT" envDefault:"text"`
	LogLevel           slog.Level    `env:"CROSSDOCK_LOG_LEVEL" envDefault:"info"`
	MaxBodyBytes       int64         `env:"CROSSDOCK_MAX_BODY_BYTES" envDefault:"1048576"`
	ShutdownTimeout    time.Duration `env:"CROSSDOCK_SHUTDOWN_TIMEOUT" envDefault:"20s"`
	APIKeyCacheTTL     time.Duration `env:"CROSSDOCK_API_KEY_CACHE_TTL" envDefault:"10s"`
	PickTimeout        time.Duration `env:"CROSSDOCK_PICK_TIMEOUT" envDefault:"48h"`
	PollInterval       time.Duration `env:"CROSSDOCK_POLL_INTERVAL" envDefault:"15m"`
	ManifestEvery      time.Duration `env:"CROSSDOCK_MANIFEST_EVERY"`
	CarrierAttempts    int32         `env:"CROSSDOCK_CARRIER_MAX_ATTEMPTS" envDefault:"8"`
	CarrierMaxInterval time.Duration `env:"CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL" envDefault:"2m"`
	SLANoMovement      time.Duration `env:"CROSSDOCK_SLA_NO_MOVEMENT" envDefault:"72h"`
	SLAImportCustoms   time.Duration `env:"CROSSDOCK_SLA_IMPORT_CUSTOMS" envDefault:"96h"`
	SLAPickupWait      time.Duration `env:"CROSSDOCK_SLA_PICKUP_WAIT" envDefault:"120h"`
	HoldReminder       time.Duration `env:"CROSSDOCK_CUSTOMS_HOLD_REMINDER" envDefault:"24h"`
	HoldEscalation     time.Duration `env:"CROSSDOCK_CUSTOMS_HOLD_ESCALATION" envDefault:"72h"`
	SLALanes           string        `env:"CROSSDOCK_SLA_LANES"`
	TemporalCLI        string        `env:"CROSSDOCK_TEMPORAL_CLI"`
	DeniedPartiesFile  string        `env:"CROSSDOCK_DENIED_PARTIES_FILE"`
	DutyRatesFile      string        `env:"CROSSDOCK_DUTY_RATES_FILE"`
	FXRatesFile        string        `env:"CROSSDOCK_FX_RATES_FILE"`
	ChannelsFile       string        `env:"CROSSDOCK_CHANNELS_FILE"`
	EUFeeScope         string        `env:"CROSSDOCK_EU_FEE_SCOPE" envDefault:"all_low_value"`
	PrivateWebhooks    bool          `env:"CROSSDOCK_WEBHOOK_ALLOW_PRIVATE"`
	WebhookPoll        time.Duration `env:"CROSSDOCK_WEBHOOK_POLL" envDefault:"1s"`
	WorkflowCacheSize  int           `env:"CROSSDOCK_WORKFLOW_CACHE_SIZE" envDefault:"2000"`
	TemporalAddress    string        `env:"TEMPORAL_ADDRESS"`
	TemporalNamespace  string        `env:"TEMPORAL_NAMESPACE" envDefault:"default"`

	// dev is set by `crossdock dev`: the fictional sample denied-party list
	// screens orders when no list file is configured.
	dev bool
}

// loadConfig reads the environment and validates it, naming the bad
// variable in the error.
func loadConfig() (Config, error) {
	cfg, err := env.ParseAs[Config]()
	if err != nil {
		return Config{}, namedParseErrors(err)
	}
	return cfg, cfg.validate()
}

// namedParseErrors rewrites the env library's parse errors, which name the
// Go field, to name the environment variable an operator has to fix.
func namedParseErrors(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("configuration: %w", err)
	}
	typ := reflect.TypeOf(Config{})
	var errs []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			errs = append(errs, e)
			continue
		}
		name := pe.Name
		if f, ok := typ.FieldByName(pe.Name); ok {
			name = strings.Split(f.Tag.Get("env"), ",")[0]
		}
		errs = append(errs, fmt.Errorf("%s: cannot read as %s: %w", name, pe.Type, pe.Err))
	}
	return errors.Join(errs...)
}

func (c Config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	for _, a := range []struct{ name, value string }{
		{"CROSSDOCK_HTTP_ADDR", c.HTTPAddr}, {"CROSSDOCK_SANDBOX_ADDR", c.SandboxAddr},
	} {
		if _, _, err := net.SplitHostPort(a.value); err != nil {
			bad(a.name, "must be host:port or :port, got %q", a.value)
		}
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.HasPrefix(c.DatabaseURL, "sqlite://") {
		bad("CROSSDOCK_DATABASE_URL", "must be a postgres:// URL (or sqlite://path), got a value starting %q", prefix(c.DatabaseURL))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("CROSSDOCK_DATA_DIR", "must not be empty")
	}
	for _, s := range c.OrderWebhookSecret {
		if !validSecret(s) {
			bad("CROSSDOCK_ORDER_WEBHOOK_SECRET", "each secret must be whsec_ followed by base64 of at least 24 bytes")
		}
	}
	if c.SandboxSecret != "" && !validSecret(c.SandboxSecret) {
		bad("CROSSDOCK_SANDBOX_WEBHOOK_SECRET", "must be whsec_ followed by base64 of at least 24 bytes")
	}
	if c.SandboxSpeedup < 1 || c.SandboxSpeedup > 1e7 {
		bad("CROSSDOCK_SANDBOX_SPEEDUP", "must be between 1 and 10000000, got %v", c.SandboxSpeedup)
	}
	for _, u := range []struct{ name, value string }{
		{"CROSSDOCK_SANDBOX_URL", c.SandboxURL}, {"CROSSDOCK_API_URL", c.APIURL},
	} {
		if u.value == "" {
			continue
		}
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(u.name, "must be an http(s) URL, got %q", u.value)
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("CROSSDOCK_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		bad("CROSSDOCK_MAX_BODY_BYTES", "must be between 1024 and 67108864, got %d", c.MaxBodyBytes)
	}
	if c.APIKeyCacheTTL < 0 || c.APIKeyCacheTTL > 5*time.Minute {
		bad("CROSSDOCK_API_KEY_CACHE_TTL", "must be between 0 (no cache) and 5m, got %s", c.APIKeyCacheTTL)
	}
	if c.ShutdownTimeout <= 0 {
		bad("CROSSDOCK_SHUTDOWN_TIMEOUT", "must be a positive duration such as 20s")
	}
	if c.PickTimeout < time.Second {
		bad("CROSSDOCK_PICK_TIMEOUT", "must be a duration of at least 1s such as 48h")
	}
	if c.PollInterval < time.Second {
		bad("CROSSDOCK_POLL_INTERVAL", "must be a duration of at least 1s such as 15m")
	}
	if c.WorkflowCacheSize < 1 {
		bad("CROSSDOCK_WORKFLOW_CACHE_SIZE", "must be at least 1 (workflows kept in the worker's memory), got %d", c.WorkflowCacheSize)
	}
	if c.WebhookPoll < 10*time.Millisecond || c.WebhookPoll > time.Hour {
		bad("CROSSDOCK_WEBHOOK_POLL", "must be a duration between 10ms and 1h such as 1s")
	}
	if c.ManifestEvery != 0 && c.ManifestEvery < time.Second {
		bad("CROSSDOCK_MANIFEST_EVERY", "must be unset (each channel's daily cut-off) or a duration of at least 1s such as 30s")
	}
	if _, err := customs.ParseFeeScope(c.EUFeeScope); err != nil {
		bad("CROSSDOCK_EU_FEE_SCOPE", "must be all_low_value or ioss_only, got %q", c.EUFeeScope)
	}
	if c.CarrierAttempts < 1 || c.CarrierAttempts > 100 {
		bad("CROSSDOCK_CARRIER_MAX_ATTEMPTS", "must be between 1 and 100, got %d", c.CarrierAttempts)
	}
	if c.CarrierMaxInterval < 10*time.Millisecond {
		bad("CROSSDOCK_CARRIER_RETRY_MAX_INTERVAL", "must be a duration of at least 10ms such as 2m")
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"CROSSDOCK_SLA_NO_MOVEMENT", c.SLANoMovement}, {"CROSSDOCK_SLA_IMPORT_CUSTOMS", c.SLAImportCustoms},
		{"CROSSDOCK_SLA_PICKUP_WAIT", c.SLAPickupWait}, {"CROSSDOCK_CUSTOMS_HOLD_REMINDER", c.HoldReminder},
		{"CROSSDOCK_CUSTOMS_HOLD_ESCALATION", c.HoldEscalation}} {
		if d.value < 0 {
			bad(d.name, "must not be negative (0 turns the check off)")
		}
	}
	if _, err := parseSLALanes(c.SLALanes); err != nil {
		bad("CROSSDOCK_SLA_LANES", "%v", err)
	}
	if c.TemporalNamespace == "" {
		bad("TEMPORAL_NAMESPACE", "must not be empty")
	}
	return errors.Join(errs...)
}

func prefix(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
