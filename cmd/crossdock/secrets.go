package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// validSecret reports whether s is a Standard Webhooks secret: "whsec_"
// followed by the base64 of at least 24 random bytes.
func validSecret(s string) bool {
	raw, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	return err == nil && len(key) >= 24
}

// newSecret returns a fresh Standard Webhooks secret.
func newSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

// devSecrets are the secrets `crossdock dev` generates when the environment
// sets none. They are kept under the data directory so a restart keeps
// them and a printed demo command stays valid.
type devSecrets struct {
	OrderWebhookSecret string `json:"order_webhook_secret"`
	SandboxSecret      string `json:"sandbox_webhook_secret"`
	OpsToken           string `json:"ops_token"`
}

// loadDevSecrets fills the secrets cfg lacks from dataDir/dev-secrets.json,
// generating and saving any that are missing there too.
func loadDevSecrets(cfg *Config) error {
	path := filepath.Join(cfg.DataDir, "dev-secrets.json")
	var s devSecrets
	switch b, err := os.ReadFile(path); {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("read %s: %w (delete it to start afresh)", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("read %s: %w", path, err)
	}
	var err error
	fill := func(v *string, gen func() (string, error)) {
		if *v == "" && err == nil {
			*v, err = gen()
		}
	}
	fill(&s.OrderWebhookSecret, newSecret)
	fill(&s.SandboxSecret, newSecret)
	fill(&s.OpsToken, func() (string, error) {
		sec, err := newSecret()
		return strings.TrimPrefix(sec, "whsec_"), err
	})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if len(cfg.OrderWebhookSecret) == 0 {
		cfg.OrderWebhookSecret = []string{s.OrderWebhookSecret}
	}
	if cfg.SandboxSecret == "" {
		cfg.SandboxSecret = s.SandboxSecret
	}
	if cfg.OpsToken == "" {
		cfg.OpsToken = s.OpsToken
	}
	return nil
}
