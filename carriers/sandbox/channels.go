// Package sandbox is Crossdock's emulated carrier network and the adapters
// that talk to it. The Server plays four carriers over HTTP, one per
// regional profile of domain.md, moving parcels on an accelerated clock and
// misbehaving on demand through a fault switch; the Client adapters speak to
// it over HTTP exactly as real adapters speak to real carriers, so the rest
// of Crossdock cannot tell the difference.
//
// The server side (network.go, server.go, faults.go, journey.go, push.go,
// operations.go) plays the carriers; the adapter side (client.go,
// mappings.go) is what Crossdock runs. They share only the channel table
// below and the wire types in wire.go, as a real adapter shares a carrier's
// published API.
package sandbox

import (
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/logistics"
)

// Carrier codes of the sandbox world (contract.md "The sandbox world").
const (
	// Express is the express integrator: every destination, label API,
	// tracking webhooks, electronic customs pre-clearance, DDP, own last mile.
	Express = "sbx_express"
	// Post is the postal operator: label API, tracking by rate-limited
	// polls only, CN22/CN23 paper customs, own last mile.
	Post = "sbx_post"
	// Consol is the consolidator from China: booking API, coarse tracking by
	// poll, line haul only, handing over to Post at the destination.
	Consol = "sbx_consol"
	// Local is the regional courier with no API: parcels go on an
	// end-of-day manifest and no tracking can be fetched.
	Local = "sbx_local"
)

// Codes lists the sandbox carrier codes in a stable order.
var Codes = []string{Express, Post, Consol, Local}

// channels is what each sandbox carrier publishes about its services and
// their rates. The server enforces it on bookings and the adapters report it
// to the planner. Tariffs are made up but plausible: express is the dearest
// per kilogram, the post and the consolidator are cheap and slow.
var channels = []logistics.Channel{
	{
		Carrier: Express, Service: "express", Type: logistics.ChannelCourier,
		Destinations: []string{"*"}, EstimatedDays: 4,
		Capabilities: logistics.Capabilities{
			Label: logistics.LabelAPI, Tracking: logistics.TrackingPush,
			Customs: logistics.CustomsElectronic, LastMile: logistics.LastMileOwn,
			VoidWindow: 24 * time.Hour, AddressChange: true,
			DangerousGoods: []logistics.DangerousGoods{logistics.DGLithiumInEquipment},
			DDP:            true, RateLimitPerMinute: 600, MaxWeightGrams: 30000,
		},
		Tariff: tariff("USD", "18.00", "9.00"),
	},
	{
		Carrier: Post, Service: "tracked_packet", Type: logistics.ChannelPostal,
		Destinations: []string{"GB", "DE", "FR", "ES", "IT", "NL", "US", "AU"}, EstimatedDays: 8,
		// A posted item is never voided (no VoidWindow) nor redirected, only
		// recalled by intercept.
		Capabilities: logistics.Capabilities{
			Label: logistics.LabelAPI, Tracking: logistics.TrackingPoll,
			Customs: logistics.CustomsPostal, LastMile: logistics.LastMileOwn,
			RateLimitPerMinute: 120, MaxWeightGrams: 2000,
		},
		Tariff: tariff("EUR", "6.00", "4.00"),
	},
	{
		// The consolidator voids a booking until its line haul departs
		// (consolVoidWindow) and neither redirects nor intercepts.
		Carrier: Consol, Service: "standard", Type: logistics.ChannelCourier,
		Origins: []string{"CN"}, Destinations: []string{"GB", "US"}, EstimatedDays: 10,
		Capabilities: logistics.Capabilities{
			Label: logistics.LabelAPI, Tracking: logistics.TrackingPoll,
			Customs: logistics.CustomsBroker, LastMile: logistics.LastMilePartnerHandoff,
			LastMilePartner: Post, DDP: true, RateLimitPerMinute: 300, MaxWeightGrams: 30000,
			VoidWindow: consolVoidWindow,
		},
		Tariff: tariff("USD", "5.00", "3.00"),
	},
	{
		// The EU line relies on the seller's IOSS number for low-value DDP.
		Carrier: Consol, Service: "eu_ioss", Type: logistics.ChannelCourier,
		Origins: []string{"CN"}, Destinations: []string{"DE", "FR"}, EstimatedDays: 10,
		Capabilities: logistics.Capabilities{
			Label: logistics.LabelAPI, Tracking: logistics.TrackingPoll,
			Customs: logistics.CustomsBroker, LastMile: logistics.LastMilePartnerHandoff,
			LastMilePartner: Post, TaxIDsRequired: []string{"ioss"}, DDP: true,
			RateLimitPerMinute: 300, MaxWeightGrams: 30000, VoidWindow: consolVoidWindow,
		},
		Tariff: tariff("USD", "5.50", "3.00"),
	},
	{
		// The regional courier prices in each country's own currency, so
		// its one service is published once per destination.
		Carrier: Local, Service: "standard", Type: logistics.ChannelCourier,
		Destinations: []string{"PH"}, EstimatedDays: 6,
		Capabilities: localCapabilities,
		Tariff:       tariff("PHP", "250.00", "120.00"),
	},
	{
		Carrier: Local, Service: "standard", Type: logistics.ChannelCourier,
		Destinations: []string{"MX"}, EstimatedDays: 6,
		Capabilities: localCapabilities,
		Tariff:       tariff("MXN", "90.00", "45.00"),
	},
}

// consolVoidWindow is how long after booking the consolidator's line haul
// departs on its published schedule; it voids bookings until then (and
// never once the line haul has left, even late).
const consolVoidWindow = 40 * time.Hour

// intercepting lists the carriers that stop a parcel in transit and send it
// back to the shipper, on every one of their channels. Capabilities has no
// word for it, so the carriers publish it beside the channel table.
var intercepting = map[string]bool{Express: true, Post: true}

// localCapabilities are the regional courier's, the same in every country:
// a manifest line is neither voided, redirected nor intercepted.
var localCapabilities = logistics.Capabilities{
	Label: logistics.LabelBatchManifest, Tracking: logistics.TrackingNone,
	Customs: logistics.CustomsBroker, LastMile: logistics.LastMileOwn,
	MaxWeightGrams: 10000,
}

// tariff builds a published rate from decimal literals of the table above.
func tariff(currency, base, perKg string) logistics.Tariff {
	return logistics.Tariff{Currency: currency, Base: decimal.RequireFromString(base), PerKg: decimal.RequireFromString(perKg)}
}

// Channels returns the published channels of one sandbox carrier (deep
// enough copies that callers may not alter the table).
func Channels(carrier string) []logistics.Channel {
	var out []logistics.Channel
	for _, ch := range channels {
		if ch.Carrier == carrier {
			ch.Origins = slices.Clone(ch.Origins)
			ch.Destinations = slices.Clone(ch.Destinations)
			ch.Capabilities.DangerousGoods = slices.Clone(ch.Capabilities.DangerousGoods)
			ch.Capabilities.TaxIDsRequired = slices.Clone(ch.Capabilities.TaxIDsRequired)
			out = append(out, ch)
		}
	}
	return out
}

// trackingMode is how tracking leaves a carrier; all its channels agree.
func trackingMode(carrier string) logistics.TrackingMode {
	for _, ch := range channels {
		if ch.Carrier == carrier {
			return ch.Capabilities.Tracking
		}
	}
	return logistics.TrackingNone
}

// rateLimitPerMinute is the carrier's published API rate limit (0: none).
func rateLimitPerMinute(carrier string) int {
	for _, ch := range channels {
		if ch.Carrier == carrier {
			return ch.Capabilities.RateLimitPerMinute
		}
	}
	return 0
}

// capabilities returns what the carrier's service publishes; the zero
// Capabilities for an unknown service.
func capabilities(carrier, service string) logistics.Capabilities {
	for _, ch := range channels {
		if ch.Carrier == carrier && ch.Service == service {
			return ch.Capabilities
		}
	}
	return logistics.Capabilities{}
}

// anyChannel reports whether some channel of carrier has a capability.
func anyChannel(carrier string, has func(logistics.Capabilities) bool) bool {
	for _, ch := range channels {
		if ch.Carrier == carrier && has(ch.Capabilities) {
			return true
		}
	}
	return false
}

func canVoid(c logistics.Capabilities) bool          { return c.VoidWindow > 0 }
func canChangeAddress(c logistics.Capabilities) bool { return c.AddressChange }

func knownCarrier(code string) bool { return slices.Contains(Codes, code) }
