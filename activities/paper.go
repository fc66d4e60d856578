package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/carriers/paper"
	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// PrintDocumentsInput is a booked parcel whose channel needs paper from
// Crossdock: a label where the carrier has no label API, a CN22/CN23 where
// customs go on paper with the parcel.
type PrintDocumentsInput struct {
	Order    logistics.Order           `json:"order"`
	Origin   logistics.Address         `json:"origin"`
	Shipment logistics.Shipment        `json:"shipment"`
	Channel  logistics.Channel         `json:"channel"`
	Customs  logistics.CustomsDecision `json:"customs"`
	Date     time.Time                 `json:"date"`
}

// PrintDocumentsResult names the documents printed (store.DocumentLabel,
// store.DocumentCustomsForm).
type PrintDocumentsResult struct {
	Kinds []string `json:"kinds"`
}

// PrintedLabelPath is where the merchant API serves a label Crossdock
// printed, relative to the API's address (contract.md's label_url is a URL
// the merchant can fetch with its key).
func PrintedLabelPath(trackingNumber string) string {
	return "/v1/tracking/" + url.PathEscape(trackingNumber) + "/label"
}

// NeedsPaper reports whether a parcel on ch needs documents printed by
// Crossdock: the workflow calls PrintDocuments only then.
func NeedsPaper(ch logistics.Channel, d logistics.CustomsDecision) bool {
	return ch.Capabilities.Label != logistics.LabelAPI ||
		(ch.Capabilities.Customs == logistics.CustomsPostal && isPostalForm(d.DeclarationForm))
}

func isPostalForm(form string) bool { return form == customs.FormCN22 || form == customs.FormCN23 }

// PrintDocuments renders the parcel's label (channels without a label API)
// and its postal customs form (postal_paper channels with a CN22/CN23
// decision) and stores them for the merchant to print. Rendering is
// deterministic and saving idempotent, so a retry changes nothing. Input
// the renderer refuses is final (InvalidInput): the same input will never
// print.
func (a *Activities) PrintDocuments(ctx context.Context, in PrintDocumentsInput) (PrintDocumentsResult, error) {
	sh, caps := in.Shipment, in.Channel.Capabilities
	var res PrintDocumentsResult
	save := func(kind, contentType string, content []byte) error {
		if err := a.Store.SaveDocument(ctx, store.Document{MerchantID: sh.MerchantID, OrderID: sh.OrderID,
			TrackingNumber: sh.TrackingNumber, Kind: kind, ContentType: contentType, Content: content}); err != nil {
			return classify(err)
		}
		res.Kinds = append(res.Kinds, kind)
		return nil
	}
	form := ""
	if in.Customs.DeclarationForm != "" && in.Origin.Country != in.Order.ShipTo.Country {
		form = in.Customs.DeclarationForm
	}
	if caps.Label != logistics.LabelAPI {
		pdf, err := paper.Label(paper.LabelInput{TrackingNumber: sh.TrackingNumber, Carrier: sh.Carrier,
			Service: sh.Service, From: in.Origin, To: in.Order.ShipTo, WeightGrams: max(sh.Parcel.WeightGrams, 1),
			Reference: in.Order.OrderID, Date: in.Date, DeclarationForm: form})
		if err != nil {
			return res, nonRetryable(ErrTypeInvalid, fmt.Errorf("print the label of %s: %w", sh.TrackingNumber, err))
		}
		if err := save(store.DocumentLabel, "application/pdf", pdf); err != nil {
			return res, err
		}
	}
	if caps.Customs == logistics.CustomsPostal && isPostalForm(form) {
		importer := in.Order.TaxIDs.IOSS
		if importer == "" {
			importer = in.Order.TaxIDs.UKVAT
		}
		pdf, err := paper.CustomsForm(paper.CustomsFormInput{Form: form, TrackingNumber: sh.TrackingNumber,
			Carrier: sh.Carrier, From: in.Origin, To: in.Order.ShipTo, Items: in.Order.Items,
			GrossWeightGrams: max(sh.Parcel.WeightGrams, in.Order.WeightGrams()), Reference: in.Order.OrderID,
			ImporterReference: importer, Date: in.Date})
		if err != nil {
			return res, nonRetryable(ErrTypeInvalid, fmt.Errorf("print the %s of %s: %w", form, sh.TrackingNumber, err))
		}
		if err := save(store.DocumentCustomsForm, "application/pdf", pdf); err != nil {
			return res, err
		}
	}
	return res, nil
}

// AddToManifestInput puts a booked parcel on its batch-only carrier's
// end-of-day manifest.
type AddToManifestInput struct {
	Order    logistics.Order    `json:"order"`
	Shipment logistics.Shipment `json:"shipment"`
	Channel  logistics.Channel  `json:"channel"`
	// At is when the parcel was booked: it misses a cut-off already past.
	At time.Time `json:"at"`
}

// AddToManifestResult says which manifest the parcel is on and when that
// manifest goes to the carrier.
type AddToManifestResult struct {
	Day      string    `json:"day"`
	SubmitAt time.Time `json:"submit_at"`
}

// manifestLine is the line stored for a parcel (paper.ManifestLine as
// JSON), so the manifest is built from what was recorded at booking.
type manifestLine = paper.ManifestLine

// AddToManifest records the parcel for the next cut-off of its channel
// (Capabilities.Cutoff in CutoffZone) and returns it. With
// Settings.ManifestEvery set (dev mode and tests), manifests go every that
// often instead of once a day. Idempotent: a retry keeps the first entry.
func (a *Activities) AddToManifest(ctx context.Context, in AddToManifestInput) (AddToManifestResult, error) {
	sh, o := in.Shipment, in.Order
	submitAt, day, err := nextCutoff(in.Channel.Capabilities, in.At, a.Settings.ManifestEvery)
	if err != nil {
		return AddToManifestResult{}, nonRetryable(ErrTypeInvalid, err)
	}
	value := logistics.Money{}
	for i, it := range o.Items {
		if i == 0 {
			value.Currency = it.UnitPrice.Currency
		}
		if it.UnitPrice.Currency == value.Currency {
			value.Amount = value.Amount.Add(it.UnitPrice.Amount.Mul(decimal.NewFromInt(int64(it.Quantity))))
		}
	}
	contents := ""
	if len(o.Items) > 0 {
		contents = o.Items[0].Description
		if len(o.Items) > 1 {
			contents += fmt.Sprintf(" and %d more", len(o.Items)-1)
		}
	}
	line, err := json.Marshal(manifestLine{TrackingNumber: sh.TrackingNumber, Reference: o.OrderID, Service: sh.Service,
		RecipientName: o.ShipTo.Name, Line1: o.ShipTo.Line1, Line2: o.ShipTo.Line2, City: o.ShipTo.City,
		Region: o.ShipTo.Region, PostalCode: o.ShipTo.PostalCode, Country: o.ShipTo.Country, Phone: o.ShipTo.Phone,
		WeightGrams: max(sh.Parcel.WeightGrams, 1), Pieces: 1, DeclaredValue: value, Contents: contents})
	if err != nil {
		return AddToManifestResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("encode manifest line: %w", err))
	}
	first, err := a.Store.AddManifestEntry(ctx, store.ManifestEntry{Carrier: sh.Carrier, Day: day,
		TrackingNumber: sh.TrackingNumber, MerchantID: sh.MerchantID, OrderID: sh.OrderID, Line: line})
	if err != nil {
		return AddToManifestResult{}, classify(err)
	}
	if first.Day != day {
		// A retry after the cut-off passed: the parcel stays on the
		// manifest it was first put on, which goes at once.
		submitAt, day = in.At, first.Day
	}
	return AddToManifestResult{Day: day, SubmitAt: submitAt}, nil
}

// nextCutoff is the first cut-off strictly after at: the channel's daily
// time in its zone, or with every > 0 the next multiple of every. day is
// the manifest's day, the cut-off's calendar day in its zone (with every,
// the slot's UTC time, so each slot is its own manifest).
func nextCutoff(c logistics.Capabilities, at time.Time, every time.Duration) (time.Time, string, error) {
	if every > 0 {
		next := at.Truncate(every).Add(every)
		return next, next.UTC().Format("2006-01-02T1504"), nil
	}
	zone := time.UTC
	if c.CutoffZone != "" {
		z, err := time.LoadLocation(c.CutoffZone)
		if err != nil {
			return time.Time{}, "", fmt.Errorf("channel cut-off zone %q: %w", c.CutoffZone, err)
		}
		zone = z
	}
	hm, err := time.Parse("15:04", c.Cutoff)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("channel cut-off %q is not HH:MM: %w", c.Cutoff, err)
	}
	local := at.In(zone)
	next := time.Date(local.Year(), local.Month(), local.Day(), hm.Hour(), hm.Minute(), 0, 0, zone)
	if !next.After(local) {
		next = next.AddDate(0, 0, 1)
	}
	return next, next.Format("2006-01-02"), nil
}

// SubmitManifestInput names a batch-only carrier's manifest.
type SubmitManifestInput struct {
	Carrier string `json:"carrier"`
	Day     string `json:"day"`
}

// SubmitManifestResult names the file sent ("" when every entry of the day
// had already gone in an earlier file).
type SubmitManifestResult struct {
	File  string `json:"file"`
	Lines int    `json:"lines"`
}

// SubmitManifest sends the entries of the carrier's manifest of Day that no
// file has carried yet, as one CSV file (carriers/paper), and records which
// file carried them. Every order on the day's manifest calls it at the
// cut-off; the first sends, the others find nothing left. Two sending at
// once is harmless: the carrier takes each tracking number once.
func (a *Activities) SubmitManifest(ctx context.Context, in SubmitManifestInput) (SubmitManifestResult, error) {
	c, ok := a.Carriers.Get(in.Carrier)
	if !ok {
		return SubmitManifestResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown carrier %q", in.Carrier))
	}
	m, ok := c.(carriers.Manifester)
	if !ok {
		return SubmitManifestResult{}, nonRetryable(ErrTypeUnsupported,
			fmt.Errorf("carrier %s takes no manifest: %w", in.Carrier, carriers.ErrUnsupported))
	}
	entries, err := a.Store.ManifestEntries(ctx, in.Carrier, in.Day)
	if err != nil {
		return SubmitManifestResult{}, classify(err)
	}
	manifest := paper.Manifest{Carrier: in.Carrier, Date: activity.GetInfo(ctx).StartedTime}
	if d, err := time.Parse("2006-01-02", in.Day[:min(len(in.Day), 10)]); err == nil {
		manifest.Date = d
	}
	sent := map[string]bool{}
	var numbers []string
	for _, e := range entries {
		if e.SubmittedIn != "" {
			sent[e.SubmittedIn] = true
			continue
		}
		var line paper.ManifestLine
		if err := json.Unmarshal(e.Line, &line); err != nil {
			return SubmitManifestResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("manifest line %s: %w", e.TrackingNumber, err))
		}
		manifest.Lines = append(manifest.Lines, line)
		numbers = append(numbers, e.TrackingNumber)
	}
	if len(manifest.Lines) == 0 {
		return SubmitManifestResult{}, nil
	}
	var file bytes.Buffer
	if err := paper.WriteManifest(&file, manifest); err != nil {
		return SubmitManifestResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("write the %s manifest of %s: %w", in.Carrier, in.Day, err))
	}
	// One name per batch of the day: a supplement after the first file has
	// its own, so the carrier's idempotency on names never swallows it.
	name := fmt.Sprintf("%s-%s-%d.csv", in.Carrier, in.Day, len(sent)+1)
	if err := a.throttle(ctx, in.Carrier); err != nil {
		return SubmitManifestResult{}, err
	}
	if err := m.SubmitManifest(ctx, name, file.Bytes()); err != nil {
		if errors.Is(err, carriers.ErrRefused) {
			return SubmitManifestResult{}, nonRetryable(ErrTypeCarrierRefused, err)
		}
		return SubmitManifestResult{}, a.carrierRetryable(ctx, err, "submit the %s manifest %s", in.Carrier, name)
	}
	if err := a.Store.MarkManifestSubmitted(ctx, in.Carrier, name, numbers); err != nil {
		return SubmitManifestResult{}, classify(err)
	}
	return SubmitManifestResult{File: name, Lines: len(numbers)}, nil
}

// FileCustomsEntryInput is a booked parcel on a channel that clears import
// customs through the carrier's broker.
type FileCustomsEntryInput struct {
	Order    logistics.Order           `json:"order"`
	Shipment logistics.Shipment        `json:"shipment"`
	Customs  logistics.CustomsDecision `json:"customs"`
}

// FileCustomsEntryResult says whether the entry went by API (false: the
// carrier's broker takes it on paper with the parcel, as a batch-only
// courier's does).
type FileCustomsEntryResult struct {
	Filed bool `json:"filed"`
}

// FileCustomsEntry files the import entry with the carrier's broker
// (carriers.CustomsBroker). Idempotent. A broker's refusal is final
// (CarrierRefused: ops must fix the goods data); outages are retried.
func (a *Activities) FileCustomsEntry(ctx context.Context, in FileCustomsEntryInput) (FileCustomsEntryResult, error) {
	c, ok := a.Carriers.Get(in.Shipment.Carrier)
	if !ok {
		return FileCustomsEntryResult{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown carrier %q", in.Shipment.Carrier))
	}
	b, ok := c.(carriers.CustomsBroker)
	if !ok {
		return FileCustomsEntryResult{}, nil
	}
	if err := a.throttle(ctx, c.Code()); err != nil {
		return FileCustomsEntryResult{}, err
	}
	err := b.FileCustomsEntry(ctx, in.Shipment.TrackingNumber, carriers.CustomsEntry{Reference: in.Order.OrderID,
		Decision: in.Customs, Items: in.Order.Items, Importer: in.Order.ShipTo, TaxIDs: in.Order.TaxIDs})
	if errors.Is(err, carriers.ErrUnsupported) {
		return FileCustomsEntryResult{}, nil // the broker works from the paper with the parcel
	}
	if err := a.classifyCarrierOp(ctx, err, "file the customs entry of", c.Code(), in.Shipment.TrackingNumber); err != nil {
		return FileCustomsEntryResult{}, err
	}
	return FileCustomsEntryResult{Filed: true}, nil
}

// SchedulePickupInput asks one carrier to collect an order's parcels.
type SchedulePickupInput struct {
	Reference string               `json:"reference"` // idempotency key: the order workflow and the carrier
	Carrier   string               `json:"carrier"`
	Origin    logistics.Address    `json:"origin"`
	Shipments []logistics.Shipment `json:"shipments"`
	ReadyAt   time.Time            `json:"ready_at"`
}

// SchedulePickup books the collection with the carrier
// (carriers.PickupScheduler) and returns its confirmation. A carrier
// without the operation answers the zero Pickup: it collects on its round.
// Idempotent on Reference; a refusal is final (CarrierRefused).
func (a *Activities) SchedulePickup(ctx context.Context, in SchedulePickupInput) (carriers.Pickup, error) {
	c, ok := a.Carriers.Get(in.Carrier)
	if !ok {
		return carriers.Pickup{}, nonRetryable(ErrTypeInvalid, fmt.Errorf("unknown carrier %q", in.Carrier))
	}
	ps, ok := c.(carriers.PickupScheduler)
	if !ok {
		return carriers.Pickup{}, nil
	}
	req := carriers.PickupRequest{Reference: in.Reference, Address: in.Origin, ReadyAt: in.ReadyAt}
	for _, sh := range in.Shipments {
		req.TrackingNumbers = append(req.TrackingNumbers, sh.TrackingNumber)
		req.WeightGrams += sh.Parcel.WeightGrams
	}
	if err := a.throttle(ctx, in.Carrier); err != nil {
		return carriers.Pickup{}, err
	}
	p, err := ps.SchedulePickup(ctx, req)
	if errors.Is(err, carriers.ErrUnsupported) {
		return carriers.Pickup{}, nil // it collects on its round
	}
	if err := a.classifyCarrierOp(ctx, err, "schedule the pickup", in.Carrier, in.Reference); err != nil {
		return carriers.Pickup{}, err
	}
	activity.GetLogger(ctx).Info("pickup scheduled", "carrier", in.Carrier, "confirmation", p.Confirmation,
		"window_start", p.WindowStart, "parcels", len(req.TrackingNumbers))
	return p, nil
}
