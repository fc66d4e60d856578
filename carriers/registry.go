package carriers

import "github.com/crossdock/crossdock/logistics"

// Registry holds the configured carrier adapters by code. It is built once at
// start-up and only read afterwards, so it is safe for concurrent use.
type Registry struct {
	byCode map[string]Carrier
	order  []string
}

// NewRegistry returns a registry of the given carriers, kept in the order
// given. A later carrier with the same code replaces an earlier one.
func NewRegistry(cs ...Carrier) *Registry {
	r := &Registry{byCode: map[string]Carrier{}}
	for _, c := range cs {
		if _, seen := r.byCode[c.Code()]; !seen {
			r.order = append(r.order, c.Code())
		}
		r.byCode[c.Code()] = c
	}
	return r
}

// Get returns the carrier with the given code.
func (r *Registry) Get(code string) (Carrier, bool) {
	c, ok := r.byCode[code]
	return c, ok
}

// Codes lists the registered carrier codes in registration order.
func (r *Registry) Codes() []string { return append([]string(nil), r.order...) }

// Channels lists every channel of every registered carrier, carriers in
// registration order and each carrier's channels in its own order.
func (r *Registry) Channels() []logistics.Channel {
	var out []logistics.Channel
	for _, code := range r.order {
		out = append(out, r.byCode[code].Channels()...)
	}
	return out
}
