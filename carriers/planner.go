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
	// Costing, when set, prices the duties, taxes and fees of the parcel
	// so that channels are ranked by landed cost; without one no option
	// has a landed cost and the ranking falls back to promised days.
	Costing Costing
}

// Costing prices what a parcel pays beyond postage on a channel, so that
// the planner can rank channels by landed cost (postage + duties + taxes +
// fees). CustomsCosting builds one from the customs engine.
type Costing interface {
	// Charges returns the duties, taxes and fees the parcel would pay on a
	// channel of type t, as one amount.
	Charges(t logistics.ChannelType) (logistics.Money, error)
	// Convert converts m into currency to, unrounded.
	Convert(m logistics.Money, to string) (logistics.Money, error)
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
	// LandedCost is Price plus the parcel's duties, taxes and fees on this
	// channel, in the currency of those charges; meaningful only when
	// HasLandedCost is true (the request had a Costing and the tariff
	// converts).
	LandedCost    logistics.Money
	HasLandedCost bool
	// Degraded says why the option was moved to the end of the ranking
	// although eligible (its carrier's circuit breaker is open); "" when not.
	Degraded string
	// LiveRate is true when Price is the carrier's live rate (Rater), not
	// the channel's published tariff.
	LiveRate bool
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
// when the incoterm is DDP, and has every tax id it requires.
//
// The ranking is deterministic. An express order goes to the fewest
// promised days, then the lowest landed cost; economy and standard go to
// the lowest landed cost, then the fewest days (a buyer who did not pay
// for speed gets the cheapest door-to-door price, duties included, since
// the channel type changes the customs form and so the fees). Options whose
// landed cost is unknown (no tariff, no Costing, or a currency the Costing
// cannot convert) rank after priced ones. Ties go by carrier code, then
// service. Last of all, channels whose carrier's circuit breaker is open
// move to the end, marked Degraded: still eligible, tried only when the
// healthy carriers refuse.
// Plan is safe for concurrent use; it reads the breakers' state but
// otherwise depends only on its input and the channels.
func (r *Registry) Plan(req PlanRequest) (options []Option, rejected []Rejection) {
	for _, ch := range r.Channels() {
		if reason := r.ineligible(ch, req); reason != "" {
			rejected = append(rejected, Rejection{Carrier: ch.Carrier, Service: ch.Service, Reason: reason})
			continue
		}
		price, ok := ch.Tariff.Price(req.WeightGrams)
		opt := Option{Channel: ch, EstimatedDays: ch.EstimatedDays, Price: price, HasPrice: ok}
		if ok && req.Costing != nil {
			opt.LandedCost, opt.HasLandedCost = landedCost(req.Costing, ch.Type, price)
		}
		if r.breakers != nil && r.breakers.Open(ch.Carrier) {
			opt.Degraded = "circuit open: " + ch.Carrier + " has been failing; tried after healthy carriers"
		}
		options = append(options, opt)
	}
	Rank(options, req.ServiceLevel)
	return options, rejected
}

// Rank sorts options best first for a service level, as Plan does: an
// express order by fewest promised days, then lowest landed cost; economy
// and standard by lowest landed cost, then days; options without a landed
// cost after priced ones; ties by carrier and service; Degraded options
// last. It is stable and deterministic.
func Rank(options []Option, level logistics.ServiceLevel) {
	byCost := func(a, b Option) int {
		switch {
		case a.HasLandedCost && b.HasLandedCost && a.LandedCost.Currency == b.LandedCost.Currency:
			return a.LandedCost.Amount.Cmp(b.LandedCost.Amount)
		case a.HasLandedCost != b.HasLandedCost:
			if a.HasLandedCost {
				return -1
			}
			return 1
		}
		return 0
	}
	byDays := func(a, b Option) int { return cmp.Compare(a.EstimatedDays, b.EstimatedDays) }
	first, second := byCost, byDays
	if level == logistics.ServiceExpress {
		first, second = byDays, byCost
	}
	slices.SortStableFunc(options, func(a, b Option) int {
		return cmp.Or(
			cmp.Compare(rank(a.Degraded != ""), rank(b.Degraded != "")),
			first(a, b), second(a, b),
			cmp.Compare(a.Channel.Carrier, b.Channel.Carrier),
			cmp.Compare(a.Channel.Service, b.Channel.Service),
		)
	})
}

// rank orders false before true.
func rank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// landedCost is postage converted into the charges' currency plus the
// charges, rounded to that currency's minor unit once at the end.
func landedCost(c Costing, t logistics.ChannelType, postage logistics.Money) (logistics.Money, bool) {
	charges, err := c.Charges(t)
	if err != nil || charges.Currency == "" {
		return logistics.Money{}, false
	}
	p, err := c.Convert(postage, charges.Currency)
	if err != nil {
		return logistics.Money{}, false
	}
	amount := p.Amount.Add(charges.Amount).RoundBank(logistics.MinorUnits(charges.Currency))
	return logistics.Money{Amount: amount, Currency: charges.Currency}, true
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
