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
	_ "embed"
	"slices"

	"github.com/crossdock/crossdock/carriers"
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

// ChannelsFile is the sandbox carriers' published channels as a channels
// file (carriers.LoadChannels): what Crossdock loads by default when it runs
// with the sandbox, and the table the sandbox server itself enforces.
//
//go:embed channels.yaml
var ChannelsFile []byte

// channels is ChannelsFile parsed. The file is embedded and tested, so a
// broken one stops every test and build at once rather than a booking.
var channels = func() []logistics.Channel {
	chs, err := carriers.LoadChannels(ChannelsFile)
	if err != nil {
		panic("sandbox: embedded channels.yaml: " + err.Error())
	}
	return chs
}()

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
func canIntercept(c logistics.Capabilities) bool     { return c.Intercept }
func canChangeAddress(c logistics.Capabilities) bool { return c.AddressChange }

func knownCarrier(code string) bool { return slices.Contains(Codes, code) }
