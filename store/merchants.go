package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/crossdock/crossdock/logistics"
)

// APIKeyPrefix starts every merchant API key, so a leaked key is easy to
// recognise (and to find with secret scanners).
const APIKeyPrefix = "cdk_"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewAPIKey returns a new merchant API key: "cdk_" followed by 32 bytes from
// crypto/rand in lower-case base32 (52 characters). Show it once and store
// only HashAPIKey of it.
func NewAPIKey() (key string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate API key: %w", err)
	}
	return APIKeyPrefix + strings.ToLower(keyEncoding.EncodeToString(b[:])), nil
}

// HashAPIKey returns the hex SHA-256 of key, the form keys are stored and
// looked up in. A fast unsalted hash is right here, unlike for passwords:
// keys carry 256 random bits, so there is nothing to guess or precompute, and
// lookups on every request must be cheap and deterministic.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateMerchant stores a new merchant with the hash of its API key. An id
// (or key hash) already in use answers a *logistics.Error with CodeConflict;
// an invalid id or empty hash, CodeInvalid.
func (s *Store) CreateMerchant(ctx context.Context, m logistics.Merchant, apiKeyHash string) error {
	if !logistics.ValidID(m.ID) {
		return &logistics.Error{Code: logistics.CodeInvalid, Message: "the merchant is invalid",
			Details: []logistics.FieldProblem{{Field: "merchant_id", Problem: "must be 1-64 letters, digits or _.:-"}}}
	}
	if apiKeyHash == "" {
		return logistics.Errorf(logistics.CodeInvalid, "merchant %s needs an API key hash", m.ID)
	}
	at := dbTimeOrNow(m.CreatedAt)
	row := merchantRow{ID: m.ID, Name: m.Name, APIKeyHash: apiKeyHash, CreatedAt: at, UpdatedAt: at}
	err := s.db.WithContext(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return logistics.Errorf(logistics.CodeConflict, "merchant %s already exists", m.ID)
	}
	if err != nil {
		return fmt.Errorf("create merchant %s: %w", m.ID, err)
	}
	return nil
}

// RotateMerchantKey replaces a merchant's API key hash; the old key stops
// working at once. An unknown merchant answers an error wrapping
// logistics.ErrNotFound.
func (s *Store) RotateMerchantKey(ctx context.Context, merchantID, apiKeyHash string) error {
	if apiKeyHash == "" {
		return logistics.Errorf(logistics.CodeInvalid, "merchant %s needs an API key hash", merchantID)
	}
	res := s.db.WithContext(ctx).Model(&merchantRow{}).Where("id = ?", merchantID).
		Updates(map[string]any{"api_key_hash": apiKeyHash, "updated_at": now()})
	if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
		return logistics.Errorf(logistics.CodeConflict, "the API key of merchant %s is already in use", merchantID)
	}
	if res.Error != nil {
		return fmt.Errorf("rotate API key of merchant %s: %w", merchantID, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("rotate API key of merchant %s: %w", merchantID, logistics.ErrNotFound)
	}
	return nil
}

// GetMerchant returns the merchant with id, or logistics.ErrNotFound.
func (s *Store) GetMerchant(ctx context.Context, id string) (logistics.Merchant, error) {
	var row merchantRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return logistics.Merchant{}, logistics.ErrNotFound
	}
	if err != nil {
		return logistics.Merchant{}, fmt.Errorf("get merchant %s: %w", id, err)
	}
	return row.toDomain(), nil
}

// MerchantByKeyHash returns the merchant whose API key hashes to hash (see
// HashAPIKey), or logistics.ErrNotFound. The API authenticates with it.
func (s *Store) MerchantByKeyHash(ctx context.Context, hash string) (logistics.Merchant, error) {
	if hash == "" {
		return logistics.Merchant{}, logistics.ErrNotFound
	}
	var row merchantRow
	err := s.db.WithContext(ctx).Where("api_key_hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return logistics.Merchant{}, logistics.ErrNotFound
	}
	if err != nil {
		return logistics.Merchant{}, fmt.Errorf("find merchant by API key: %w", err)
	}
	return row.toDomain(), nil
}
