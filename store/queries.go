package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/crossdock/crossdock/logistics"
)

// GetOrder returns the merchant's order with its shipments (by number, legs
// by sequence) and its customs decision if one was made. An order of another
// merchant answers logistics.ErrNotFound, exactly like a missing one.
func (s *Store) GetOrder(ctx context.Context, merchantID, orderID string) (OrderView, error) {
	var row orderRow
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND order_id = ?", merchantID, orderID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return OrderView{}, logistics.ErrNotFound
	}
	if err != nil {
		return OrderView{}, fmt.Errorf("get order %s/%s: %w", merchantID, orderID, err)
	}
	view, err := row.toDomain()
	if err != nil {
		return OrderView{}, err
	}

	var shipments []shipmentRow
	err = s.db.WithContext(ctx).Where("merchant_id = ? AND order_id = ?", merchantID, orderID).
		Order("number").Find(&shipments).Error
	if err != nil {
		return OrderView{}, fmt.Errorf("get shipments of order %s/%s: %w", merchantID, orderID, err)
	}
	view.Shipments, err = s.withLegs(ctx, merchantID, shipments)
	if err != nil {
		return OrderView{}, err
	}

	var customs customsDecisionRow
	err = s.db.WithContext(ctx).Where("merchant_id = ? AND order_id = ?", merchantID, orderID).Take(&customs).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
	case err != nil:
		return OrderView{}, fmt.Errorf("get customs decision of order %s/%s: %w", merchantID, orderID, err)
	default:
		d, err := customs.toDomain()
		if err != nil {
			return OrderView{}, err
		}
		view.Customs = &d
	}
	return view, nil
}

// OrderTracking returns the tracking events of all the order's shipments,
// oldest first (by occurred_at, then arrival). A missing order, or one of
// another merchant, answers logistics.ErrNotFound; an order without events
// an empty slice.
func (s *Store) OrderTracking(ctx context.Context, merchantID, orderID string) ([]logistics.TrackingEvent, error) {
	v, err := s.OrderTrackingView(ctx, merchantID, orderID)
	return v.Events, err
}

// orderTrackingSQL answers an order's tracking in one round trip: three
// parts, told apart by part and each read on an index (the primary keys of
// orders and shipments, tracking_events_order_idx), in one row shape: the
// order (part 0: its stage in status), its shipments by number (part 1:
// number, status, phase) and its events oldest first (part 2). Columns a
// part has no use for are constants. No part-0 row means no such order of
// this merchant; the other parts are scoped by merchant too, so another
// merchant's order reveals nothing.
const orderTrackingSQL = `
SELECT 0 AS part, 0 AS number, stage AS status, '' AS phase, '' AS substatus, '' AS reason, '' AS responsible_party,
       false AS action_required, created_at AS occurred_at, '' AS location_city, '' AS location_country,
       '' AS carrier, '' AS tracking_number, '' AS raw_code, '' AS raw_description, '' AS source, '' AS recorded_by,
       0 AS id
  FROM orders WHERE merchant_id = ? AND order_id = ?
UNION ALL
SELECT 1, number, status, phase, '', '', '', false, updated_at, '', '', '', '', '', '', '', '', 0
  FROM shipments WHERE merchant_id = ? AND order_id = ?
UNION ALL
SELECT 2, 0, status, phase, substatus, reason, responsible_party, action_required, occurred_at, location_city,
       location_country, carrier, tracking_number, raw_code, raw_description, source, recorded_by, id
  FROM tracking_events WHERE merchant_id = ? AND order_id = ?
ORDER BY part, number, occurred_at, id`

// OrderTrackingView returns what GET /v1/orders/{id}/tracking shows of a
// merchant's order: its stage, each shipment's status and phase (by number)
// and every tracking event, oldest first (by occurred_at, then arrival). It
// makes one query and loads nothing else of the order. A missing order, or
// one of another merchant, answers logistics.ErrNotFound; an order without
// events has an empty, non-nil Events.
func (s *Store) OrderTrackingView(ctx context.Context, merchantID, orderID string) (OrderTrackingView, error) {
	rows, err := s.reads.WithContext(ctx).
		Raw(orderTrackingSQL, merchantID, orderID, merchantID, orderID, merchantID, orderID).Rows()
	if err != nil {
		return OrderTrackingView{}, fmt.Errorf("get tracking of order %s/%s: %w", merchantID, orderID, err)
	}
	defer rows.Close()
	var (
		v     OrderTrackingView
		found bool
		// Scanned column by column into plain values: no row struct and
		// no reflection per row.
		part, number, id             int64
		status, phase, party, source string
		e                            logistics.TrackingEvent
	)
	// A parcel has a few dozen scans; start there rather than grow from one.
	v.Events = make([]logistics.TrackingEvent, 0, 32)
	for rows.Next() {
		e = logistics.TrackingEvent{}
		if err := rows.Scan(&part, &number, &status, &phase, &e.Substatus, &e.Reason, &party, &e.ActionRequired,
			&e.OccurredAt, &e.Location.City, &e.Location.Country, &e.Carrier, &e.TrackingNumber, &e.RawCode,
			&e.RawDescription, &source, &e.RecordedBy, &id); err != nil {
			return OrderTrackingView{}, fmt.Errorf("get tracking of order %s/%s: %w", merchantID, orderID, err)
		}
		switch part {
		case 0:
			found, v.Stage = true, logistics.Stage(status)
		case 1:
			v.Shipments = append(v.Shipments, ShipmentStanding{Number: int(number),
				Status: logistics.Status(status), Phase: logistics.Phase(phase)})
		default:
			e.Status, e.Phase = logistics.Status(status), logistics.Phase(phase)
			e.ResponsibleParty, e.Source = logistics.ResponsibleParty(party), logistics.EventSource(source)
			e.OccurredAt = e.OccurredAt.UTC()
			v.Events = append(v.Events, e)
		}
	}
	if err := rows.Err(); err != nil {
		return OrderTrackingView{}, fmt.Errorf("get tracking of order %s/%s: %w", merchantID, orderID, err)
	}
	if !found {
		return OrderTrackingView{}, logistics.ErrNotFound
	}
	return v, nil
}

// ShipmentByTrackingNumber finds, across merchants, the shipment that owns a
// tracking number: the shipment's own number or one of its legs' (a
// last-mile partner's). Carrier is the carrier that issued the number. It
// routes carrier webhooks to the shipment workflow; a number nobody owns
// answers logistics.ErrNotFound.
func (s *Store) ShipmentByTrackingNumber(ctx context.Context, trackingNumber string) (ShipmentRef, error) {
	row, carrier, err := s.shipmentByTrackingNumber(ctx, "", trackingNumber)
	if err != nil {
		return ShipmentRef{}, err
	}
	return shipmentRef(row, carrier), nil
}

func shipmentRef(row shipmentRow, carrier string) ShipmentRef {
	return ShipmentRef{MerchantID: row.MerchantID, OrderID: row.OrderID, Number: row.Number,
		WorkflowID: row.WorkflowID, Carrier: carrier, Status: logistics.Status(row.Status),
		Origin: row.Origin, Destination: row.Destination}
}

// refColumns are the shipment columns a ShipmentRef needs.
const refColumns = "merchant_id, order_id, number, workflow_id, carrier, tracking_number, status, origin, destination, updated_at"

// ShipmentsByTrackingNumbers is ShipmentByTrackingNumber for many numbers
// at once, in at most three queries whatever their count: the map holds
// the numbers some shipment owns; the others are absent.
func (s *Store) ShipmentsByTrackingNumbers(ctx context.Context, numbers []string) (map[string]ShipmentRef, error) {
	out := make(map[string]ShipmentRef, len(numbers))
	want := make([]string, 0, len(numbers))
	for _, n := range numbers {
		if n != "" {
			want = append(want, n)
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	db := s.db.WithContext(ctx)
	var rows []shipmentRow
	// Oldest first, so the most recently updated owner of a number wins.
	if err := db.Select(refColumns).Where("tracking_number IN ?", want).Order("updated_at").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("find shipments by tracking numbers: %w", err)
	}
	for _, r := range rows {
		out[r.TrackingNumber] = shipmentRef(r, r.Carrier)
	}
	var rest []string
	for _, n := range want {
		if _, ok := out[n]; !ok {
			rest = append(rest, n)
		}
	}
	if len(rest) == 0 {
		return out, nil
	}
	var legs []legRow
	if err := db.Where("tracking_number IN ?", rest).Order("sequence").Find(&legs).Error; err != nil {
		return nil, fmt.Errorf("find legs by tracking numbers: %w", err)
	}
	if len(legs) == 0 {
		return out, nil
	}
	cond := db.Where("1 = 0")
	for _, l := range legs {
		cond = cond.Or("merchant_id = ? AND order_id = ? AND number = ?", l.MerchantID, l.OrderID, l.ShipmentNumber)
	}
	var owners []shipmentRow
	if err := db.Select(refColumns).Where(cond).Find(&owners).Error; err != nil {
		return nil, fmt.Errorf("find shipments of legs by tracking numbers: %w", err)
	}
	type key struct {
		merchant, order string
		number          int
	}
	byKey := make(map[key]shipmentRow, len(owners))
	for _, o := range owners {
		byKey[key{o.MerchantID, o.OrderID, o.Number}] = o
	}
	for _, l := range legs { // by sequence: the latest leg wins
		if o, ok := byKey[key{l.MerchantID, l.OrderID, l.ShipmentNumber}]; ok {
			out[l.TrackingNumber] = shipmentRef(o, l.Carrier)
		}
	}
	return out, nil
}

// MerchantShipmentByTrackingNumber returns the merchant's shipment that owns
// a tracking number (its own or a leg's), legs included. Another merchant's
// number answers logistics.ErrNotFound, exactly like an unknown one.
func (s *Store) MerchantShipmentByTrackingNumber(ctx context.Context, merchantID, trackingNumber string) (logistics.Shipment, error) {
	if merchantID == "" {
		return logistics.Shipment{}, logistics.ErrNotFound
	}
	row, _, err := s.shipmentByTrackingNumber(ctx, merchantID, trackingNumber)
	if err != nil {
		return logistics.Shipment{}, err
	}
	list, err := s.withLegs(ctx, merchantID, []shipmentRow{row})
	if err != nil {
		return logistics.Shipment{}, err
	}
	return list[0], nil
}

// shipmentByTrackingNumber looks the number up on shipments, then on legs,
// optionally within one merchant, and returns the shipment row and the
// carrier that issued the number. The most recently updated owner wins should
// a carrier ever reuse a number.
func (s *Store) shipmentByTrackingNumber(ctx context.Context, merchantID, trackingNumber string) (shipmentRow, string, error) {
	if trackingNumber == "" {
		return shipmentRow{}, "", logistics.ErrNotFound // unbooked shipments have an empty number
	}
	scope := func(db *gorm.DB) *gorm.DB {
		db = db.Where("tracking_number = ?", trackingNumber)
		if merchantID != "" {
			db = db.Where("merchant_id = ?", merchantID)
		}
		return db
	}

	var row shipmentRow
	err := s.db.WithContext(ctx).Scopes(scope).Order("updated_at DESC").Take(&row).Error
	if err == nil {
		return row, row.Carrier, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return shipmentRow{}, "", fmt.Errorf("find shipment by tracking number: %w", err)
	}

	var leg legRow
	err = s.db.WithContext(ctx).Scopes(scope).Order("sequence DESC").Take(&leg).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return shipmentRow{}, "", logistics.ErrNotFound
	}
	if err != nil {
		return shipmentRow{}, "", fmt.Errorf("find leg by tracking number: %w", err)
	}
	err = s.db.WithContext(ctx).Where("merchant_id = ? AND order_id = ? AND number = ?",
		leg.MerchantID, leg.OrderID, leg.ShipmentNumber).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return shipmentRow{}, "", logistics.ErrNotFound
	}
	if err != nil {
		return shipmentRow{}, "", fmt.Errorf("find shipment of leg by tracking number: %w", err)
	}
	return row, leg.Carrier, nil
}

// withLegs converts shipment rows of one merchant to domain shipments with
// their legs, loading the legs of all of them in one query.
func (s *Store) withLegs(ctx context.Context, merchantID string, rows []shipmentRow) ([]logistics.Shipment, error) {
	out := make([]logistics.Shipment, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	type key struct {
		orderID string
		number  int
	}
	index := make(map[key]int, len(rows))
	orderIDs := make([]string, 0, len(rows))
	seen := make(map[string]bool, len(rows))
	for i, r := range rows {
		sh, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = sh
		index[key{r.OrderID, r.Number}] = i
		if !seen[r.OrderID] {
			seen[r.OrderID] = true
			orderIDs = append(orderIDs, r.OrderID)
		}
	}
	var legs []legRow
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND order_id IN ?", merchantID, orderIDs).
		Order("order_id, shipment_number, sequence").Find(&legs).Error
	if err != nil {
		return nil, fmt.Errorf("get legs of shipments of merchant %s: %w", merchantID, err)
	}
	for _, l := range legs {
		if i, ok := index[key{l.OrderID, l.ShipmentNumber}]; ok {
			out[i].Legs = append(out[i].Legs, l.toDomain())
		}
	}
	return out, nil
}

// Page sizes of list queries (contract.md: limit ≤ 200, default 50).
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// ListShipments returns a page of the merchant's shipments matching f, most
// recently updated first (ties by order id and number), legs included, and
// the cursor of the next page ("" on the last page).
//
// Paging is by keyset on (updated_at, order id, number), so a walk through
// the pages never shows a shipment twice, and shows exactly once every
// shipment that exists when it starts and is not updated during it. A
// shipment updated during the walk moves ahead of the pages already read
// (it is now the most recent): this walk may not show it, the next one does,
// and so does any listing with updated_after set to the walk's start, which
// is how a client keeps in sync. A shipment created during the walk may or
// may not show in it. The order stays "most recently updated first"
// because that is what merchants and updated_after syncing ask for; ordering
// by an immutable key would make walks complete but hide what changed.
//
// A cursor that is not one of ours or belongs to another merchant's list, or
// a status or phase outside the contract's words, answers a
// *logistics.Error with CodeInvalid naming the field.
func (s *Store) ListShipments(ctx context.Context, merchantID string, f ShipmentFilter) (items []logistics.Shipment, nextCursor string, err error) {
	var problems []logistics.FieldProblem
	if f.Status != "" && !f.Status.Valid() {
		problems = append(problems, logistics.FieldProblem{Field: "status", Problem: "is not a tracking status of the contract"})
	}
	if f.Phase != "" && !f.Phase.Valid() {
		problems = append(problems, logistics.FieldProblem{Field: "phase", Problem: "is not a tracking phase of the contract"})
	}
	var after *cursor
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, cursorShipments)
		if err != nil || c.MerchantID != merchantID {
			problems = append(problems, logistics.FieldProblem{Field: "cursor", Problem: "is not a next_cursor of this list"})
		} else {
			after = &c
		}
	}
	if len(problems) > 0 {
		return nil, "", &logistics.Error{Code: logistics.CodeInvalid, Message: "the shipment filter is invalid", Details: problems}
	}
	limit := clampLimit(f.Limit)

	q := s.db.WithContext(ctx).Where("merchant_id = ?", merchantID)
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.Phase != "" {
		q = q.Where("phase = ?", string(f.Phase))
	}
	if f.Carrier != "" {
		q = q.Where("carrier = ?", f.Carrier)
	}
	if f.Destination != "" {
		q = q.Where("destination = ?", f.Destination)
	}
	if f.UpdatedAfter != nil {
		q = q.Where("updated_at > ?", dbTime(*f.UpdatedAfter))
	}
	if after != nil {
		t := dbTime(after.UpdatedAt)
		q = q.Where("(updated_at < ? OR (updated_at = ? AND (order_id > ? OR (order_id = ? AND number > ?))))",
			t, t, after.OrderID, after.OrderID, after.Number)
	}
	var rows []shipmentRow
	if err := q.Order("updated_at DESC, order_id, number").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list shipments of merchant %s: %w", merchantID, err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		nextCursor = encodeCursor(cursor{Kind: cursorShipments, UpdatedAt: last.UpdatedAt, MerchantID: merchantID,
			OrderID: last.OrderID, Number: last.Number})
	}
	items, err = s.withLegs(ctx, merchantID, rows)
	if err != nil {
		return nil, "", err
	}
	return items, nextCursor, nil
}

// ListStuckOrders returns a page of stuck orders across merchants (for ops),
// most recently updated first, and the cursor of the next page ("" on the
// last page). Views carry no shipments or customs. Limit and cursor work as
// in ListShipments.
func (s *Store) ListStuckOrders(ctx context.Context, limit int, cursorText string) (items []OrderView, nextCursor string, err error) {
	limit = clampLimit(limit)
	// The literal predicate matches the partial index orders_stuck_idx.
	q := s.db.WithContext(ctx).Where("stuck")
	if cursorText != "" {
		c, err := decodeCursor(cursorText, cursorStuckOrders)
		if err != nil {
			return nil, "", invalidCursor()
		}
		t := dbTime(c.UpdatedAt)
		q = q.Where("(updated_at < ? OR (updated_at = ? AND (merchant_id > ? OR (merchant_id = ? AND order_id > ?))))",
			t, t, c.MerchantID, c.MerchantID, c.OrderID)
	}
	var rows []orderRow
	if err := q.Order("updated_at DESC, merchant_id, order_id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list stuck orders: %w", err)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		nextCursor = encodeCursor(cursor{Kind: cursorStuckOrders, UpdatedAt: last.UpdatedAt, MerchantID: last.MerchantID, OrderID: last.OrderID})
	}
	items = make([]OrderView, len(rows))
	for i, r := range rows {
		if items[i], err = r.toDomain(); err != nil {
			return nil, "", err
		}
	}
	return items, nextCursor, nil
}
