package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// Row structs mirror the tables of migrations/*/00001_init.sql. They never
// leave the package: toDomain and fromDomain convert at the boundary.

type merchantRow struct {
	ID         string `gorm:"column:id;primaryKey"`
	Name       string `gorm:"column:name"`
	APIKeyHash string `gorm:"column:api_key_hash"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (merchantRow) TableName() string { return "merchants" }

func (r merchantRow) toDomain() logistics.Merchant {
	return logistics.Merchant{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt.UTC()}
}

type orderRow struct {
	MerchantID     string `gorm:"column:merchant_id;primaryKey"`
	OrderID        string `gorm:"column:order_id;primaryKey"`
	WorkflowID     string
	Stage          string
	Stuck          bool
	StuckReason    string
	ActionRequired bool
	Destination    string
	OrderJSON      string `gorm:"column:order_json"`
	Version        int64
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (orderRow) TableName() string { return "orders" }

func orderFromDomain(rec OrderRecord) (orderRow, error) {
	body, err := json.Marshal(rec.Order)
	if err != nil {
		return orderRow{}, fmt.Errorf("encode order %s/%s: %w", rec.MerchantID, rec.OrderID, err)
	}
	at := dbTimeOrNow(rec.At)
	return orderRow{
		MerchantID:     rec.MerchantID,
		OrderID:        rec.OrderID,
		WorkflowID:     rec.WorkflowID,
		Stage:          string(rec.Stage),
		Stuck:          rec.Stuck,
		StuckReason:    rec.StuckReason,
		ActionRequired: rec.ActionRequired,
		Destination:    rec.Order.ShipTo.Country,
		OrderJSON:      string(body),
		Version:        rec.Version,
		CreatedAt:      at,
		UpdatedAt:      at,
	}, nil
}

func (r orderRow) toDomain() (OrderView, error) {
	v := OrderView{
		MerchantID:     r.MerchantID,
		OrderID:        r.OrderID,
		WorkflowID:     r.WorkflowID,
		Stage:          logistics.Stage(r.Stage),
		Stuck:          r.Stuck,
		StuckReason:    r.StuckReason,
		ActionRequired: r.ActionRequired,
		CreatedAt:      r.CreatedAt.UTC(),
		UpdatedAt:      r.UpdatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(r.OrderJSON), &v.Order); err != nil {
		return OrderView{}, fmt.Errorf("decode order %s/%s: %w", r.MerchantID, r.OrderID, err)
	}
	return v, nil
}

type shipmentRow struct {
	MerchantID        string `gorm:"column:merchant_id;primaryKey"`
	OrderID           string `gorm:"column:order_id;primaryKey"`
	Number            int    `gorm:"column:number;primaryKey;autoIncrement:false"`
	WorkflowID        string
	Carrier           string
	Service           string
	TrackingNumber    string
	LabelURL          string `gorm:"column:label_url"`
	Status            string
	Phase             string
	Origin            string
	Destination       string
	EstimatedDelivery *time.Time
	Parcel            string `gorm:"column:parcel"`
	Version           int64
	UpdatedAt         time.Time
}

func (shipmentRow) TableName() string { return "shipments" }

func shipmentFromDomain(rec ShipmentRecord) (shipmentRow, []legRow, error) {
	sh := rec.Shipment
	parcel, err := json.Marshal(sh.Parcel)
	if err != nil {
		return shipmentRow{}, nil, fmt.Errorf("encode parcel of shipment %s/%s/%d: %w", sh.MerchantID, sh.OrderID, sh.Number, err)
	}
	var eta *time.Time
	if sh.EstimatedDelivery != nil {
		t := dbTime(*sh.EstimatedDelivery)
		eta = &t
	}
	row := shipmentRow{
		MerchantID:        sh.MerchantID,
		OrderID:           sh.OrderID,
		Number:            sh.Number,
		WorkflowID:        rec.WorkflowID,
		Carrier:           sh.Carrier,
		Service:           sh.Service,
		TrackingNumber:    sh.TrackingNumber,
		LabelURL:          sh.LabelURL,
		Status:            string(sh.Status),
		Phase:             string(sh.Phase),
		Origin:            sh.Origin,
		Destination:       sh.Destination,
		EstimatedDelivery: eta,
		Parcel:            string(parcel),
		Version:           rec.Version,
		UpdatedAt:         dbTimeOrNow(sh.UpdatedAt),
	}
	legs := make([]legRow, len(sh.Legs))
	for i, l := range sh.Legs {
		legs[i] = legRow{
			MerchantID:     sh.MerchantID,
			OrderID:        sh.OrderID,
			ShipmentNumber: sh.Number,
			Sequence:       l.Sequence,
			Kind:           string(l.Kind),
			Carrier:        l.Carrier,
			Service:        l.Service,
			TrackingNumber: l.TrackingNumber,
			Status:         string(l.Status),
		}
	}
	return row, legs, nil
}

// toDomain converts the row; legs are attached by the caller.
func (r shipmentRow) toDomain() (logistics.Shipment, error) {
	sh := logistics.Shipment{
		MerchantID:     r.MerchantID,
		OrderID:        r.OrderID,
		Number:         r.Number,
		Carrier:        r.Carrier,
		Service:        r.Service,
		TrackingNumber: r.TrackingNumber,
		LabelURL:       r.LabelURL,
		Status:         logistics.Status(r.Status),
		Phase:          logistics.Phase(r.Phase),
		Origin:         r.Origin,
		Destination:    r.Destination,
		UpdatedAt:      r.UpdatedAt.UTC(),
		Legs:           []logistics.Leg{},
	}
	if r.EstimatedDelivery != nil {
		t := r.EstimatedDelivery.UTC()
		sh.EstimatedDelivery = &t
	}
	if err := json.Unmarshal([]byte(r.Parcel), &sh.Parcel); err != nil {
		return logistics.Shipment{}, fmt.Errorf("decode parcel of shipment %s/%s/%d: %w", r.MerchantID, r.OrderID, r.Number, err)
	}
	return sh, nil
}

type legRow struct {
	MerchantID     string `gorm:"column:merchant_id;primaryKey"`
	OrderID        string `gorm:"column:order_id;primaryKey"`
	ShipmentNumber int    `gorm:"column:shipment_number;primaryKey;autoIncrement:false"`
	Sequence       int    `gorm:"column:sequence;primaryKey;autoIncrement:false"`
	Kind           string
	Carrier        string
	Service        string
	TrackingNumber string
	Status         string
}

func (legRow) TableName() string { return "legs" }

func (r legRow) toDomain() logistics.Leg {
	return logistics.Leg{
		Sequence:       r.Sequence,
		Kind:           logistics.LegKind(r.Kind),
		Carrier:        r.Carrier,
		Service:        r.Service,
		TrackingNumber: r.TrackingNumber,
		Status:         logistics.Status(r.Status),
	}
}

type trackingEventRow struct {
	ID               int64 `gorm:"column:id;primaryKey;autoIncrement"`
	MerchantID       string
	OrderID          string
	ShipmentNumber   int
	DedupKey         string
	Status           string
	Phase            string
	Substatus        string
	Reason           string
	ResponsibleParty string
	ActionRequired   bool
	OccurredAt       time.Time
	LocationCity     string
	LocationCountry  string
	Carrier          string
	TrackingNumber   string
	RawCode          string
	RawDescription   string
	Source           string
	RecordedBy       string
	CreatedAt        time.Time
}

func (trackingEventRow) TableName() string { return "tracking_events" }

func trackingEventFromDomain(merchantID, orderID string, shipmentNumber int, e logistics.TrackingEvent, at time.Time) trackingEventRow {
	return trackingEventRow{
		MerchantID:       merchantID,
		OrderID:          orderID,
		ShipmentNumber:   shipmentNumber,
		DedupKey:         e.DedupKey(),
		Status:           string(e.Status),
		Phase:            string(e.Phase),
		Substatus:        e.Substatus,
		Reason:           e.Reason,
		ResponsibleParty: string(e.ResponsibleParty),
		ActionRequired:   e.ActionRequired,
		OccurredAt:       dbTime(e.OccurredAt),
		LocationCity:     e.Location.City,
		LocationCountry:  e.Location.Country,
		Carrier:          e.Carrier,
		TrackingNumber:   e.TrackingNumber,
		RawCode:          e.RawCode,
		RawDescription:   e.RawDescription,
		Source:           string(e.Source),
		RecordedBy:       e.RecordedBy,
		CreatedAt:        at,
	}
}

type customsDecisionRow struct {
	MerchantID string `gorm:"column:merchant_id;primaryKey"`
	OrderID    string `gorm:"column:order_id;primaryKey"`
	Decision   string `gorm:"column:decision"`
	Regime     string
	Blocked    bool
	RulesAsOf  string `gorm:"column:rules_as_of"`
	DecidedAt  time.Time
}

func (customsDecisionRow) TableName() string { return "customs_decisions" }

func customsFromDomain(merchantID, orderID string, d logistics.CustomsDecision, at time.Time) (customsDecisionRow, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return customsDecisionRow{}, fmt.Errorf("encode customs decision of order %s/%s: %w", merchantID, orderID, err)
	}
	return customsDecisionRow{
		MerchantID: merchantID,
		OrderID:    orderID,
		Decision:   string(body),
		Regime:     d.Regime,
		Blocked:    d.Blocked,
		RulesAsOf:  d.RulesAsOf,
		DecidedAt:  dbTimeOrNow(at),
	}, nil
}

func (r customsDecisionRow) toDomain() (logistics.CustomsDecision, error) {
	var d logistics.CustomsDecision
	if err := json.Unmarshal([]byte(r.Decision), &d); err != nil {
		return logistics.CustomsDecision{}, fmt.Errorf("decode customs decision of order %s/%s: %w", r.MerchantID, r.OrderID, err)
	}
	return d, nil
}

type webhookRow struct {
	Source     string `gorm:"column:source;primaryKey"`
	WebhookID  string `gorm:"column:webhook_id;primaryKey"`
	EventType  string
	MerchantID string
	OrderID    string
	StatusCode int
	Response   []byte
	CreatedAt  time.Time
}

func (webhookRow) TableName() string { return "processed_webhooks" }

func webhookFromDomain(rec WebhookRecord) webhookRow {
	resp := rec.Response
	if resp == nil {
		resp = []byte{} // the column is NOT NULL; an empty body is still a body
	}
	return webhookRow{
		Source:     rec.Source,
		WebhookID:  rec.ID,
		EventType:  rec.EventType,
		MerchantID: rec.MerchantID,
		OrderID:    rec.OrderID,
		StatusCode: rec.StatusCode,
		Response:   resp,
		CreatedAt:  dbTimeOrNow(rec.CreatedAt),
	}
}

func (r webhookRow) toDomain() WebhookRecord {
	return WebhookRecord{
		Source:     r.Source,
		ID:         r.WebhookID,
		EventType:  r.EventType,
		MerchantID: r.MerchantID,
		OrderID:    r.OrderID,
		StatusCode: r.StatusCode,
		Response:   r.Response,
		CreatedAt:  r.CreatedAt.UTC(),
	}
}
