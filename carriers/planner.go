package carriers

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/crossdock/crossdock/logistics"
)

// PlanRequest describes a parcel to route: its lane, weight, hazardous
// contents and the commercial terms that restrict which channels may carry it.
type PlanRequest struct {
	Origin         string
	Destination    string
	WeightGrams    int
	DangerousGoods []logistics.DangerousGoods
	ServiceLevel   logistics.ServiceLevel
	Incoterm       logistics.Incoterm
	TaxIDs         logistics.TaxIDs
}

// Option is an eligible channel with its promised transit time and, when
// the channel publishes a tariff, its price for the request's weight.
type Option struct {
	Channel       logistics.Channel
	EstimatedDays int
	// Price is the channel's tariff for PlanRequest.WeightGrams; it is
	// meaningful only when HasPrice is true (a channel without a tariff has
	// no price, which is not the same as a free one).
	Price    logistics.Money
	HasPrice bool
}

// Rejection explains why one channel cannot carry the parcel, so that an
// order with no eligible channel is blocked with a clear reason.
type Rejection struct {
	Carrier string
	Service string
	Reason  string
}

// String renders the rejection as "carrier/service: reason".
func (r Rejection) String() string { return r.Carrier + "/" + r.Service + ": " + r.Reason }

// Plan returns the channels that may carry the parcel, best first, and a
// rejection for every other channel. A channel is eligible when it serves
// the lane, takes the weight and every dangerous goods class, supports DDP
// when the incoterm is DDP, and has every tax id it requires. The ranking is
// deterministic: fewer promised days first, then carrier code, then service.
// Each option carries its tariff price for the weight, but price does not
// enter the ranking yet: tariffs come in different currencies, so the
// express level already gets the fastest channel, and economy and standard
// share the same order until landed-cost ranking lands.
// Plan is pure and safe for concurrent use.
func (r *Registry) Plan(req PlanRequest) (options []Option, rejected []Rejection) {
	for _, ch := range r.Channels() {
		if reason := r.ineligible(ch, req); reason != "" {
			rejected = append(rejected, Rejection{Carrier: ch.Carrier, Service: ch.Service, Reason: reason})
			continue
		}
		price, ok := ch.Tariff.Price(req.WeightGrams)
		options = append(options, Option{Channel: ch, EstimatedDays: ch.EstimatedDays, Price: price, HasPrice: ok})
	}
	slices.SortStableFunc(options, func(a, b Option) int {
		return cmp.Or(
			cmp.Compare(a.EstimatedDays, b.EstimatedDays),
			cmp.Compare(a.Channel.Carrier, b.Channel.Carrier),
			cmp.Compare(a.Channel.Service, b.Channel.Service),
		)
	})
	return options, rejected
}

// ineligible returns why ch cannot carry req, or "" if it can. Reasons name
// the first failed rule and the values involved.
func (r *Registry) ineligible(ch logistics.Channel, req PlanRequest) string {
	caps := ch.Capabilities
	if !ch.Serves(req.Origin, req.Destination) {
		return fmt.Sprintf("does not serve lane %s", logistics.Lane(req.Origin, req.Destination))
	}
	if caps.MaxWeightGrams > 0 && req.WeightGrams > caps.MaxWeightGrams {
		return fmt.Sprintf("weight %d g exceeds the channel maximum of %d g", req.WeightGrams, caps.MaxWeightGrams)
	}
	for _, dg := range req.DangerousGoods {
		if !caps.Accepts(dg) {
			return fmt.Sprintf("does not accept dangerous goods %s", dg)
		}
	}
	if req.Incoterm == logistics.IncotermDDP && !caps.DDP {
		return "does not support DDP"
	}
	var missing []string
	for _, id := range caps.TaxIDsRequired {
		if taxID(req.TaxIDs, id) == "" {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return "requires tax ids " + strings.Join(missing, ", ")
	}
	if caps.LastMile == logistics.LastMilePartnerHandoff && caps.LastMilePartner != "" {
		if reason := r.partnerIneligible(caps.LastMilePartner, req); reason != "" {
			return reason
		}
	}
	return ""
}

// partnerIneligible checks a registered last-mile partner: the line haul is
// useless if the partner cannot deliver at the destination. An unregistered
// partner is not checked, because the line-haul carrier contracts it itself.
func (r *Registry) partnerIneligible(partner string, req PlanRequest) string {
	p, ok := r.Get(partner)
	if !ok {
		return ""
	}
	for _, ch := range p.Channels() {
		if slices.Contains(ch.Destinations, "*") || slices.Contains(ch.Destinations, req.Destination) {
			return ""
		}
	}
	return fmt.Sprintf("last-mile partner %s does not deliver in %s", partner, req.Destination)
}

// taxID returns the value of the tax id named as in Capabilities.TaxIDsRequired
// ("ioss", "eori", "uk_vat"); an unknown name has no value.
func taxID(ids logistics.TaxIDs, name string) string {
	switch strings.ToLower(name) {
	case "ioss":
		return strings.TrimSpace(ids.IOSS)
	case "eori":
		return strings.TrimSpace(ids.EORI)
	case "uk_vat":
		return strings.TrimSpace(ids.UKVAT)
	}
	return ""
}
