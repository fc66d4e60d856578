package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postgresForBench checks the benchmark's Postgres server answers. Without
// it the test skips, except under CI=true, where it fails.
func postgresForBench(t *testing.T) {
	t.Helper()
	url := defaultBenchPostgresURL
	if u := os.Getenv(benchPostgresURLEnv); u != "" {
		url = u
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		msg := "Postgres is unreachable for the benchmark (start it, or set " + benchPostgresURLEnv + "): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	_ = conn.Close(ctx)
}

// TestBenchQuick runs `crossdock bench --quick` as `make test` does, so the
// harness never rots. It checks that every pair ran on the real stack and
// wrote its figures where tools read them, not how fast anything is.
func TestBenchQuick(t *testing.T) {
	cli := temporalCLIForTest(t)
	postgresForBench(t)
	for _, k := range []string{"TEMPORAL_ADDRESS", "CROSSDOCK_DATABASE_URL", "CROSSDOCK_ORDER_WEBHOOK_SECRET",
		"CROSSDOCK_SANDBOX_WEBHOOK_SECRET", "CROSSDOCK_OPS_TOKEN", "CROSSDOCK_CHANNELS_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("CROSSDOCK_TEMPORAL_CLI", cli)
	out := t.TempDir()
	cmd := newRootCommand()
	var stdout bytes.Buffer
	cmd.SetOut(&stdout)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"bench", "--quick", "--no-progress", "--out", out})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	require.NoError(t, cmd.ExecuteContext(ctx))
	assert.Contains(t, stdout.String(), "| T1-4 |", "the table is printed")

	b, err := os.ReadFile(filepath.Join(out, "latest.json"))
	require.NoError(t, err)
	var report struct {
		Quick   bool `json:"quick"`
		Results []struct {
			ID     string  `json:"id"`
			A      float64 `json:"a"`
			B      float64 `json:"b"`
			Ratio  float64 `json:"ratio"`
			Target string  `json:"target"`
			Pass   *bool   `json:"pass"`
			Unit   string  `json:"unit"`
			Checks []struct {
				Name string `json:"name"`
			} `json:"checks"`
		} `json:"results"`
	}
	require.NoError(t, json.Unmarshal(b, &report))
	assert.True(t, report.Quick)
	var ids []string
	for _, r := range report.Results {
		ids = append(ids, r.ID)
		assert.Positive(t, r.A, "%s: a measured", r.ID)
		assert.Positive(t, r.B, "%s: b measured", r.ID)
		assert.False(t, math.IsNaN(r.Ratio) || r.Ratio == 0, "%s: a ratio", r.ID)
		assert.NotEmpty(t, r.Target, r.ID)
		assert.NotEmpty(t, r.Unit, r.ID)
		assert.NotNil(t, r.Pass, "%s: judged", r.ID)
		if r.ID == "T2" {
			assert.Len(t, r.Checks, 2, "T2 checks its state transitions and its long-tracked shipment")
		}
	}
	assert.Equal(t, []string{"T1-4", "T2", "T3", "T4", "T5", "T6"}, ids)
	md, err := os.ReadFile(filepath.Join(out, "latest.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| id | measure (A) | baseline (B) |")
}
