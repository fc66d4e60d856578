package store

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/crossdock/crossdock/logistics"
)

// Cursor kinds, so a cursor of one list is refused by another.
const (
	cursorShipments        = "s"
	cursorStuckOrders      = "o"
	cursorWebhookEndpoints = "e" // UpdatedAt: created_at, OrderID: endpoint id
	cursorWebhookDelivery  = "d" // UpdatedAt: created_at, OrderID: delivery id
)

// cursor is the sort key of the last row of a page. Clients see it only as
// opaque base64url text; its layout may change between releases. A cursor
// of a merchant's list (shipments, webhook endpoints, deliveries) carries
// that merchant, so another merchant's cursor is refused like a forged one.
type cursor struct {
	Kind       string    `json:"k"`
	UpdatedAt  time.Time `json:"u"`
	MerchantID string    `json:"m,omitempty"`
	OrderID    string    `json:"o"`
	Number     int       `json:"n,omitempty"`
}

func encodeCursor(c cursor) string {
	c.UpdatedAt = c.UpdatedAt.UTC()
	b, err := json.Marshal(c)
	if err != nil {
		panic("store: encode cursor: " + err.Error()) // a struct of strings, ints and a UTC time always encodes
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var errBadCursor = errors.New("invalid cursor")

func decodeCursor(text, kind string) (cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return cursor{}, errBadCursor
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return cursor{}, errBadCursor
	}
	// A cursor is opaque but not trusted: its ids must look like ids, so a
	// tampered one is a 422, not a database error.
	if c.Kind != kind || c.UpdatedAt.IsZero() || !logistics.ValidID(c.OrderID) {
		return cursor{}, errBadCursor
	}
	if !logistics.ValidID(c.MerchantID) {
		return cursor{}, errBadCursor
	}
	return c, nil
}

// invalidCursor is the answer to a cursor that is not a next_cursor of the
// list it was sent to (forged, of another list, or of another merchant).
func invalidCursor() error {
	return &logistics.Error{Code: logistics.CodeInvalid, Message: "the cursor is invalid",
		Details: []logistics.FieldProblem{{Field: "cursor", Problem: "is not a next_cursor of this list"}}}
}

// newestFirst orders q newest first by (created_at, id) and, given a
// cursor of this merchant's list of kind, starts after the row it names.
// The query fetches limit+1 rows so the caller can tell a last page.
func newestFirst(q *gorm.DB, kind, merchantID, cursorText string, limit int) (*gorm.DB, error) {
	if cursorText != "" {
		c, err := decodeCursor(cursorText, kind)
		if err != nil || c.MerchantID != merchantID {
			return nil, invalidCursor()
		}
		t := dbTime(c.UpdatedAt)
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", t, t, c.OrderID)
	}
	return q.Order("created_at DESC, id DESC").Limit(limit + 1), nil
}

// newestFirstCursor is the next_cursor after the row (createdAt, id) of a
// merchant's list of kind paged by newestFirst.
func newestFirstCursor(kind, merchantID string, createdAt time.Time, id string) string {
	return encodeCursor(cursor{Kind: kind, UpdatedAt: createdAt, MerchantID: merchantID, OrderID: id})
}
