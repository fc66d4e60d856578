package logistics

import "time"

// Parcel is one packed box as the warehouse reports it.
type Parcel struct {
	WeightGrams int `json:"weight_grams"`
	LengthMM    int `json:"length_mm"`
	WidthMM     int `json:"width_mm"`
	HeightMM    int `json:"height_mm"`
}

// LegKind names a carrier hand-off inside a shipment.
type LegKind string

// Leg kinds: a single carrier door to door, or a line haul followed by a
// last-mile partner under a new tracking number.
const (
	LegDoorToDoor LegKind = "door_to_door"
	LegLineHaul   LegKind = "line_haul"
	LegLastMile   LegKind = "last_mile"
)

// Leg is one carrier's part of a shipment, with its own tracking number.
type Leg struct {
	Sequence       int     `json:"sequence"`
	Kind           LegKind `json:"kind"`
	Carrier        string  `json:"carrier"`
	Service        string  `json:"service"`
	TrackingNumber string  `json:"tracking_number"`
	Status         Status  `json:"status"`
}

// Shipment is one parcel's journey: the legs that carry it and where it is.
type Shipment struct {
	MerchantID        string     `json:"merchant_id"`
	OrderID           string     `json:"order_id"`
	Number            int        `json:"number"`
	Carrier           string     `json:"carrier"`
	Service           string     `json:"service"`
	TrackingNumber    string     `json:"tracking_number"`
	LabelURL          string     `json:"label_url,omitempty"`
	Status            Status     `json:"status"`
	Phase             Phase      `json:"phase"`
	Origin            string     `json:"origin_country"`
	Destination       string     `json:"destination_country"`
	EstimatedDelivery *time.Time `json:"estimated_delivery,omitempty"`
	Parcel            Parcel     `json:"parcel"`
	Legs              []Leg      `json:"legs"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

// Location is where an event happened. Public pages show only city and country.
type Location struct {
	City    string `json:"city"`
	Country string `json:"country"`
}

// TrackingEvent is one normalised scan (contract.md "A tracking event").
type TrackingEvent struct {
	Status           Status           `json:"status"`
	Phase            Phase            `json:"phase"`
	Substatus        string           `json:"substatus"`
	Reason           string           `json:"reason"`
	ResponsibleParty ResponsibleParty `json:"responsible_party"`
	ActionRequired   bool             `json:"action_required"`
	OccurredAt       time.Time        `json:"occurred_at"`
	Location         Location         `json:"location"`
	Carrier          string           `json:"carrier"`
	TrackingNumber   string           `json:"tracking_number"`
	RawCode          string           `json:"raw_code"`
	RawDescription   string           `json:"raw_description"`
	Source           EventSource      `json:"source"`
	// RecordedBy is who entered a manual or imported event (the ops actor);
	// empty for events a carrier reported. Never shown to merchants or buyers.
	RecordedBy string `json:"recorded_by,omitempty"`
}

// DedupKey identifies an event for deduplication: carrier, tracking number,
// raw code, time and place (domain.md).
func (e TrackingEvent) DedupKey() string {
	return e.Carrier + "|" + e.TrackingNumber + "|" + e.RawCode + "|" +
		e.OccurredAt.UTC().Format(time.RFC3339Nano) + "|" + e.Location.Country + "|" + e.Location.City
}

// WarehouseEventType says what a warehouse reports about a pick.
type WarehouseEventType string

// Warehouse event types.
const (
	WarehousePacked     WarehouseEventType = "packed"
	WarehouseShortPick  WarehouseEventType = "short_pick"
	WarehouseOutOfStock WarehouseEventType = "out_of_stock"
)

// WarehouseEvent is a warehouse's answer to a pick request.
type WarehouseEvent struct {
	ID          string             `json:"id"`
	Type        WarehouseEventType `json:"type"`
	WarehouseID string             `json:"warehouse_id"`
	MerchantID  string             `json:"merchant_id"`
	OrderID     string             `json:"order_id"`
	Parcels     []Parcel           `json:"parcels"`
	Reason      string             `json:"reason"`
	OccurredAt  time.Time          `json:"occurred_at"`
}

// CustomsDecision is the contract's customs object: the regime an order
// falls under on its date and what the buyer or seller owes.
type CustomsDecision struct {
	Regime          string   `json:"regime"`
	Incoterm        Incoterm `json:"incoterm"`
	VATCollection   string   `json:"vat_collection"`
	DutyFree        bool     `json:"duty_free"`
	DeclarationForm string   `json:"declaration_form"`
	Duties          Money    `json:"duties"`
	Taxes           Money    `json:"taxes"`
	Fees            Money    `json:"fees"`
	Total           Money    `json:"total"`
	RulesAsOf       string   `json:"rules_as_of"`
	Warnings        []string `json:"warnings"`
	Blocked         bool     `json:"blocked"`
	BlockReasons    []string `json:"block_reasons"`
}
