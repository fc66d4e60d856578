package main

import (
	"github.com/crossdock/crossdock/carriers"
	carriersandbox "github.com/crossdock/crossdock/carriers/sandbox"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearConfigEnv unsets every variable Config reads, for the test's duration.
func clearConfigEnv(t *testing.T) {
	t.Helper()
	typ := reflect.TypeOf(Config{})
	for i := range typ.NumField() {
		if name := strings.Split(typ.Field(i).Tag.Get("env"), ",")[0]; name != "" {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

func TestConfigDefaultsMatchTheContract(t *testing.T) {
	clearConfigEnv(t)
	cfg, err := loadConfig()
	require.NoError(t, err)
	assert.Equal(t, ":8080", cfg.HTTPAddr)
	assert.Equal(t, ":8090", cfg.SandboxAddr)
	assert.Equal(t, ".crossdock", cfg.DataDir)
	assert.Equal(t, "default", cfg.TemporalNamespace)
	assert.Empty(t, cfg.DatabaseURL)
	assert.Empty(t, cfg.TemporalAddress)
	assert.EqualValues(t, 1<<20, cfg.MaxBodyBytes)
	assert.Equal(t, time.Second, cfg.WebhookPoll)
	assert.False(t, cfg.PrivateWebhooks, "webhooks never reach private addresses unless asked")
}

func TestConfigErrorsNameTheBadVariable(t *testing.T) {
	secret, err := newSecret()
	require.NoError(t, err)
	for _, tc := range []struct{ name, value string }{
		{"CROSSDOCK_HTTP_ADDR", "8080"},
		{"CROSSDOCK_DATABASE_URL", "mysql://root@localhost/db"},
		{"CROSSDOCK_ORDER_WEBHOOK_SECRET", "not-a-secret"},
		{"CROSSDOCK_SANDBOX_WEBHOOK_SECRET", "whsec_c2hvcnQ="},
		{"CROSSDOCK_SANDBOX_SPEEDUP", "0"},
		{"CROSSDOCK_SANDBOX_SPEEDUP", "fast"},
		{"CROSSDOCK_SANDBOX_URL", "ftp://sandbox"},
		{"CROSSDOCK_LOG_FORMAT", "xml"},
		{"CROSSDOCK_LOG_LEVEL", "loud"},
		{"CROSSDOCK_MAX_BODY_BYTES", "10"},
		{"CROSSDOCK_POLL_INTERVAL", "1ms"},
		{"CROSSDOCK_WEBHOOK_POLL", "0s"},
		{"CROSSDOCK_WEBHOOK_POLL", "often"},
		{"CROSSDOCK_WEBHOOK_ALLOW_PRIVATE", "maybe"},
		{"CROSSDOCK_SHUTDOWN_TIMEOUT", "soon"},
		{"CROSSDOCK_API_KEY_CACHE_TTL", "-1s"},
		{"CROSSDOCK_API_KEY_CACHE_TTL", "1h"},
		{"CROSSDOCK_EU_FEE_SCOPE", "everything"},
		{"CROSSDOCK_SLA_NO_MOVEMENT", "-1h"},
		{"CROSSDOCK_SLA_LANES", "CN-GB=no_movement:soon"},
		{"CROSSDOCK_SLA_LANES", "china=no_movement:1h"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			clearConfigEnv(t)
			t.Setenv("CROSSDOCK_ORDER_WEBHOOK_SECRET", secret)
			t.Setenv(tc.name, tc.value)
			_, err := loadConfig()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.name)
			assert.NotContains(t, err.Error(), "root@", "a URL's credentials are never echoed")
		})
	}
}

func TestSecretsAreStandardWebhooksSecrets(t *testing.T) {
	s, err := newSecret()
	require.NoError(t, err)
	assert.True(t, validSecret(s))
	assert.False(t, validSecret(strings.TrimPrefix(s, "whsec_")))
	assert.False(t, validSecret("whsec_c2hvcnQ="), "too short a key")
	assert.False(t, validSecret("whsec_!!!"))
}

func TestDevSecretsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	first := Config{DataDir: dir}
	require.NoError(t, loadDevSecrets(&first))
	require.Len(t, first.OrderWebhookSecret, 1)
	assert.True(t, validSecret(first.OrderWebhookSecret[0]))
	assert.True(t, validSecret(first.SandboxSecret))
	assert.NotEmpty(t, first.OpsToken)

	again := Config{DataDir: dir}
	require.NoError(t, loadDevSecrets(&again))
	assert.Equal(t, first.OrderWebhookSecret, again.OrderWebhookSecret)
	assert.Equal(t, first.SandboxSecret, again.SandboxSecret)

	explicit := Config{DataDir: dir, OpsToken: "from-env"}
	require.NoError(t, loadDevSecrets(&explicit))
	assert.Equal(t, "from-env", explicit.OpsToken, "the environment wins over saved secrets")
}

func TestCustomsFilesAreNamedWhenTheyFail(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	bad := filepath.Join(dir, "duty.csv")
	require.NoError(t, os.WriteFile(bad, []byte("zone,hs_prefix,origin,rate,effective_from,effective_to,source\nGB,6109,,twelve,2026-01-01,,tariff\n"), 0o644))
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"CROSSDOCK_DENIED_PARTIES_FILE", Config{EUFeeScope: "all_low_value", DeniedPartiesFile: filepath.Join(dir, "missing.csv")}},
		{"CROSSDOCK_DUTY_RATES_FILE", Config{EUFeeScope: "all_low_value", DutyRatesFile: bad}},
		{"CROSSDOCK_FX_RATES_FILE", Config{EUFeeScope: "all_low_value", FXRatesFile: filepath.Join(dir, "missing.csv")}},
	} {
		_, err := newCustomsEngine(tc.cfg, logger)
		require.Error(t, err, tc.name)
		assert.Contains(t, err.Error(), tc.name)
	}
	good := filepath.Join(dir, "good.csv")
	require.NoError(t, os.WriteFile(good, []byte("zone,hs_prefix,origin,rate,effective_from,effective_to,source\nGB,6109,,0.12,2021-01-01,,UK Global Tariff\n"), 0o644))
	_, err := newCustomsEngine(Config{EUFeeScope: "ioss_only", DutyRatesFile: good}, logger)
	require.NoError(t, err)
}

func TestSLALanes(t *testing.T) {
	lanes, err := parseSLALanes("CN-GB=no_movement:48h,import_customs:72h; CN-US=pickup_wait:3h")
	require.NoError(t, err)
	assert.Equal(t, 48*time.Hour, lanes["CN-GB"].NoMovement)
	assert.Equal(t, 72*time.Hour, lanes["CN-GB"].ImportCustoms)
	assert.Equal(t, 3*time.Hour, lanes["CN-US"].PickupWait)
	_, err = parseSLALanes("CN-GB=speed:1h")
	assert.ErrorContains(t, err, "unknown check")
}

func TestChannelsFileIsValidatedAtStart(t *testing.T) {
	dir := t.TempDir()
	base := Config{SandboxURL: "http://127.0.0.1:1", SandboxSecret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}

	cr, _, err := registries(base)
	require.NoError(t, err, "the sandbox's built-in channels by default")
	assert.Len(t, cr.Channels(), 6)

	// Ops add a lane without code: the post now also serves Canada.
	own := strings.Replace(string(carriersandbox.ChannelsFile), "destinations: [GB, DE, FR, ES, IT, NL, US, AU]",
		"destinations: [GB, DE, FR, ES, IT, NL, US, AU, CA]", 1)
	path := filepath.Join(dir, "channels.yaml")
	require.NoError(t, os.WriteFile(path, []byte(own), 0o644))
	cfg := base
	cfg.ChannelsFile = path
	cr, _, err = registries(cfg)
	require.NoError(t, err)
	opts, _ := cr.Plan(carriers.PlanRequest{Origin: "CN", Destination: "CA", WeightGrams: 500})
	var served []string
	for _, o := range opts {
		served = append(served, o.Channel.Carrier)
	}
	assert.Contains(t, served, carriersandbox.Post)

	for name, content := range map[string]string{
		"schema": strings.Replace(own, "label: api", "label: fax", 1),
		"unknown carrier": own + "\n  - {carrier: acme_air, service: std, type: courier, destinations: [GB], estimated_days: 2, " +
			"capabilities: {label: api, tracking: push, customs: broker, last_mile: own}}\n",
	} {
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		_, _, err = registries(cfg)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "CROSSDOCK_CHANNELS_FILE ("+path+")", name)
	}
	cfg.ChannelsFile = filepath.Join(dir, "missing.yaml")
	_, _, err = registries(cfg)
	require.ErrorContains(t, err, "CROSSDOCK_CHANNELS_FILE")
}
