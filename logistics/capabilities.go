package logistics

import "time"

// LabelMode says how a channel produces labels.
type LabelMode string

// Label modes.
const (
	LabelAPI           LabelMode = "api"
	LabelBatchManifest LabelMode = "batch_manifest"
	LabelTemplate      LabelMode = "template"
)

// TrackingMode says how tracking reaches Crossdock on a channel.
type TrackingMode string

// Tracking modes.
const (
	TrackingPush TrackingMode = "push"
	TrackingPoll TrackingMode = "poll"
	TrackingNone TrackingMode = "none"
)

// CustomsPath says how a channel clears customs.
type CustomsPath string

// Customs paths.
const (
	CustomsElectronic CustomsPath = "electronic_preclearance"
	CustomsBroker     CustomsPath = "broker"
	CustomsPostal     CustomsPath = "postal_paper"
)

// LastMile says who delivers at the destination.
type LastMile string

// Last-mile modes.
const (
	LastMileOwn            LastMile = "own"
	LastMilePartnerHandoff LastMile = "partner_handoff"
	LastMilePickupPoint    LastMile = "pickup_point"
)

// ChannelType is postal or courier: it decides the customs declaration form.
type ChannelType string

// Channel types.
const (
	ChannelPostal  ChannelType = "postal"
	ChannelCourier ChannelType = "courier"
)

// Capabilities declares what a channel can and cannot do. The workflow
// branches on these, never on a carrier's name.
type Capabilities struct {
	Label         LabelMode     `json:"label" yaml:"label"`
	Tracking      TrackingMode  `json:"tracking" yaml:"tracking"`
	Customs       CustomsPath   `json:"customs" yaml:"customs"`
	LastMile      LastMile      `json:"last_mile" yaml:"last_mile"`
	VoidWindow    time.Duration `json:"void_window" yaml:"void_window"`
	AddressChange bool          `json:"address_change" yaml:"address_change"`
	// Intercept: the carrier stops a parcel in transit and returns it.
	Intercept bool `json:"intercept,omitempty" yaml:"intercept"`
	// Pickup: the carrier collects from the warehouse when asked to
	// (schedule pickup); otherwise parcels are handed over at its depot or
	// collected on its standing round.
	Pickup             bool             `json:"pickup,omitempty" yaml:"pickup"`
	DangerousGoods     []DangerousGoods `json:"dangerous_goods" yaml:"dangerous_goods"`
	TaxIDsRequired     []string         `json:"tax_ids_required" yaml:"tax_ids_required"`
	DDP                bool             `json:"ddp" yaml:"ddp"`
	RateLimitPerMinute int              `json:"rate_limit_per_minute" yaml:"rate_limit_per_minute"`
	LastMilePartner    string           `json:"last_mile_partner,omitempty" yaml:"last_mile_partner"`
	MaxWeightGrams     int              `json:"max_weight_grams" yaml:"max_weight_grams"`
	// Cutoff is the daily time ("15:04") by which parcels and the
	// end-of-day manifest must reach the carrier, in CutoffZone (an IANA
	// time zone; "" means UTC). Batch-manifest channels must have one.
	Cutoff     string `json:"cutoff,omitempty" yaml:"cutoff"`
	CutoffZone string `json:"cutoff_zone,omitempty" yaml:"cutoff_zone"`
}

// Accepts reports whether the channel takes goods of class dg.
func (c Capabilities) Accepts(dg DangerousGoods) bool {
	if dg == DGNone || dg == "" {
		return true
	}
	return contains(c.DangerousGoods, dg)
}

// Channel is a carrier's service on a set of destinations, with what it can do.
type Channel struct {
	Carrier      string       `json:"carrier" yaml:"carrier"`
	Service      string       `json:"service" yaml:"service"`
	Type         ChannelType  `json:"type" yaml:"type"`
	Origins      []string     `json:"origins" yaml:"origins"`
	Destinations []string     `json:"destinations" yaml:"destinations"`
	Capabilities Capabilities `json:"capabilities" yaml:"capabilities"`
	// EstimatedDays is the promised transit time door to door.
	EstimatedDays int `json:"estimated_days" yaml:"estimated_days"`
	// Tariff is the channel's published rate; the zero Tariff means none.
	Tariff Tariff `json:"tariff" yaml:"tariff"`
}

// Serves reports whether the channel carries from origin to destination.
// An empty Origins list means any origin; "*" in Destinations means any.
func (c Channel) Serves(origin, destination string) bool {
	if len(c.Origins) > 0 && !contains(c.Origins, origin) {
		return false
	}
	return contains(c.Destinations, "*") || contains(c.Destinations, destination)
}
