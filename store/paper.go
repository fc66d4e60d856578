package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/crossdock/crossdock/logistics"
)

// Document kinds Crossdock prints for carriers without APIs.
const (
	DocumentLabel       = "label"
	DocumentCustomsForm = "customs_form"
)

// Document is a printed document of a parcel (a template label, a CN22 or
// CN23), kept so the merchant can fetch and print it.
type Document struct {
	MerchantID     string
	OrderID        string
	TrackingNumber string
	Kind           string
	ContentType    string
	Content        []byte
	CreatedAt      time.Time
}

type documentRow struct {
	MerchantID     string `gorm:"primaryKey"`
	TrackingNumber string `gorm:"primaryKey"`
	Kind           string `gorm:"primaryKey"`
	OrderID        string
	ContentType    string
	Content        []byte
	CreatedAt      time.Time
}

func (documentRow) TableName() string { return "documents" }

// SaveDocument stores d once: documents are rendered deterministically, so
// a retried activity's second save changes nothing.
func (s *Store) SaveDocument(ctx context.Context, d Document) error {
	if d.MerchantID == "" || d.TrackingNumber == "" || d.Kind == "" || len(d.Content) == 0 {
		return logistics.Errorf(logistics.CodeInvalid, "a document needs a merchant, a tracking number, a kind and content")
	}
	row := documentRow{MerchantID: d.MerchantID, TrackingNumber: d.TrackingNumber, Kind: d.Kind, OrderID: d.OrderID,
		ContentType: d.ContentType, Content: d.Content, CreatedAt: dbTimeOrNow(d.CreatedAt)}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("save %s of %s: %w", d.Kind, d.TrackingNumber, err)
	}
	return nil
}

// GetDocument returns a merchant's document of a parcel. Another merchant's
// document, like a missing one, is an *logistics.Error with code not_found.
func (s *Store) GetDocument(ctx context.Context, merchantID, trackingNumber, kind string) (Document, error) {
	var row documentRow
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND tracking_number = ? AND kind = ?", merchantID, trackingNumber, kind).
		Limit(1).Find(&row).Error
	if err != nil {
		return Document{}, fmt.Errorf("find %s of %s: %w", kind, trackingNumber, err)
	}
	if row.TrackingNumber == "" {
		return Document{}, logistics.Errorf(logistics.CodeNotFound, "no %s for tracking number %s", kind, trackingNumber)
	}
	return Document{MerchantID: row.MerchantID, OrderID: row.OrderID, TrackingNumber: row.TrackingNumber, Kind: row.Kind,
		ContentType: row.ContentType, Content: row.Content, CreatedAt: row.CreatedAt.UTC()}, nil
}

// ManifestEntry is one parcel on a batch-only carrier's manifest for a
// cut-off day. Line is the carrier-facing line, opaque to the store.
// SubmittedIn names the manifest file that carried it ("" until then).
type ManifestEntry struct {
	Carrier        string
	Day            string // YYYY-MM-DD, the cut-off's calendar day
	TrackingNumber string
	MerchantID     string
	OrderID        string
	Line           json.RawMessage
	SubmittedIn    string
}

type manifestLineRow struct {
	Carrier        string `gorm:"primaryKey"`
	TrackingNumber string `gorm:"primaryKey"`
	Day            string
	MerchantID     string
	OrderID        string
	Line           string
	SubmittedIn    *string
	CreatedAt      time.Time
}

func (manifestLineRow) TableName() string { return "manifest_lines" }

// AddManifestEntry puts a parcel on its carrier's manifest for e.Day. It is
// idempotent on (carrier, tracking number): a second add keeps the first
// entry, its day included, and returns it.
func (s *Store) AddManifestEntry(ctx context.Context, e ManifestEntry) (ManifestEntry, error) {
	if e.Carrier == "" || e.TrackingNumber == "" || e.Day == "" || !json.Valid(e.Line) {
		return ManifestEntry{}, logistics.Errorf(logistics.CodeInvalid, "a manifest entry needs a carrier, a tracking number, a day and a JSON line")
	}
	row := manifestLineRow{Carrier: e.Carrier, TrackingNumber: e.TrackingNumber, Day: e.Day, MerchantID: e.MerchantID,
		OrderID: e.OrderID, Line: string(e.Line), CreatedAt: dbTimeOrNow(time.Time{})}
	db := s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return ManifestEntry{}, fmt.Errorf("add %s to the %s manifest: %w", e.TrackingNumber, e.Carrier, err)
	}
	var first manifestLineRow
	if err := db.Where("carrier = ? AND tracking_number = ?", e.Carrier, e.TrackingNumber).Take(&first).Error; err != nil {
		return ManifestEntry{}, fmt.Errorf("read back %s on the %s manifest: %w", e.TrackingNumber, e.Carrier, err)
	}
	return first.entry(), nil
}

// ManifestEntries lists a carrier's manifest entries of a day, submitted or
// not, by tracking number.
func (s *Store) ManifestEntries(ctx context.Context, carrier, day string) ([]ManifestEntry, error) {
	var rows []manifestLineRow
	if err := s.db.WithContext(ctx).Where("carrier = ? AND day = ?", carrier, day).Order("tracking_number").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list the %s manifest of %s: %w", carrier, day, err)
	}
	out := make([]ManifestEntry, len(rows))
	for i, r := range rows {
		out[i] = r.entry()
	}
	return out, nil
}

// MarkManifestSubmitted records that the named file carried the entries.
// Entries already marked keep their first file.
func (s *Store) MarkManifestSubmitted(ctx context.Context, carrier, file string, trackingNumbers []string) error {
	if len(trackingNumbers) == 0 {
		return nil
	}
	err := s.db.WithContext(ctx).Model(&manifestLineRow{}).
		Where("carrier = ? AND tracking_number IN ? AND submitted_in IS NULL", carrier, trackingNumbers).
		Update("submitted_in", file).Error
	if err != nil {
		return fmt.Errorf("mark the %s manifest %s submitted: %w", carrier, file, err)
	}
	return nil
}

func (r manifestLineRow) entry() ManifestEntry {
	e := ManifestEntry{Carrier: r.Carrier, Day: r.Day, TrackingNumber: r.TrackingNumber, MerchantID: r.MerchantID,
		OrderID: r.OrderID, Line: json.RawMessage(r.Line)}
	if r.SubmittedIn != nil {
		e.SubmittedIn = *r.SubmittedIn
	}
	return e
}
