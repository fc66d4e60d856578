package carriers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crossdock/crossdock/logistics"
)

// Registry holds the configured carrier adapters by code. It is built once at
// start-up and only read afterwards, so it is safe for concurrent use.
type Registry struct {
	byCode map[string]Carrier
	order  []string
	// channels, when configured, replace what the adapters publish: the
	// channels file is what ops maintain (see LoadChannels).
	channels []logistics.Channel
	breakers *Breakers
	limiters *Limiters
}

// NewRegistry returns a registry of the given carriers, kept in the order
// given. A later carrier with the same code replaces an earlier one.
func NewRegistry(cs ...Carrier) *Registry {
	r := &Registry{byCode: map[string]Carrier{}, breakers: NewBreakers(BreakerSettings{})}
	for _, c := range cs {
		if _, seen := r.byCode[c.Code()]; !seen {
			r.order = append(r.order, c.Code())
		}
		r.byCode[c.Code()] = c
	}
	r.limiters = NewLimiters(r.Channels())
	return r
}

// Get returns the carrier with the given code.
func (r *Registry) Get(code string) (Carrier, bool) {
	c, ok := r.byCode[code]
	return c, ok
}

// Codes lists the registered carrier codes in registration order.
func (r *Registry) Codes() []string { return append([]string(nil), r.order...) }

// NewConfiguredRegistry returns a registry of the given carriers whose
// channels are the configured ones (from a channels file) rather than what
// each adapter publishes. Every channel's carrier must be one of cs: a lane
// for a carrier nobody can book would only fail at booking time.
func NewConfiguredRegistry(channels []logistics.Channel, cs ...Carrier) (*Registry, error) {
	r := NewRegistry(cs...)
	var problems []string
	for i, ch := range channels {
		if _, ok := r.byCode[ch.Carrier]; !ok {
			problems = append(problems, fmt.Sprintf("channels[%d]: carrier %q has no adapter (known: %s)",
				i, ch.Carrier, strings.Join(r.order, ", ")))
		}
	}
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	r.channels = cloneChannels(channels)
	r.limiters = NewLimiters(r.channels)
	return r, nil
}

// Channels lists every channel Crossdock may book: the configured ones in
// file order when the registry was built from a channels file, otherwise
// every registered carrier's published channels, carriers in registration
// order and each carrier's channels in its own order. Callers may modify
// the result.
func (r *Registry) Channels() []logistics.Channel {
	if r.channels != nil {
		return cloneChannels(r.channels)
	}
	var out []logistics.Channel
	for _, code := range r.order {
		out = append(out, r.byCode[code].Channels()...)
	}
	return out
}

// WithBreakers replaces the registry's circuit breakers (by default
// NewBreakers(BreakerSettings{})) and returns r. Call it while building
// the registry, before any use.
func (r *Registry) WithBreakers(b *Breakers) *Registry {
	r.breakers = b
	return r
}

// Breakers returns the registry's circuit breakers, one per carrier.
func (r *Registry) Breakers() *Breakers { return r.breakers }

// Limiters returns the registry's API rate limiters, one per carrier with a
// published limit in the registry's channels.
func (r *Registry) Limiters() *Limiters { return r.limiters }

// cloneChannels copies channels deeply enough that the copy's slices can be
// changed without touching the original.
func cloneChannels(in []logistics.Channel) []logistics.Channel {
	out := make([]logistics.Channel, len(in))
	for i, ch := range in {
		ch.Origins = slices.Clone(ch.Origins)
		ch.Destinations = slices.Clone(ch.Destinations)
		ch.Capabilities.DangerousGoods = slices.Clone(ch.Capabilities.DangerousGoods)
		ch.Capabilities.TaxIDsRequired = slices.Clone(ch.Capabilities.TaxIDsRequired)
		out[i] = ch
	}
	return out
}
