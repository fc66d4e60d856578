package carriers

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/crossdock/crossdock/customs"
	"github.com/crossdock/crossdock/logistics"
)

// Decider decides customs for a cart. *customs.Engine satisfies it; the
// interface lets Quote be tested without the rules tables.
type Decider interface {
	// Decide returns the customs decision for in. An error is a
	// *logistics.Error with CodeInvalid naming the fields it cannot read.
	Decide(customs.Input) (logistics.CustomsDecision, error)
	// Convert converts m into currency to, unrounded; an unknown currency
	// is an error.
	Convert(m logistics.Money, to string) (logistics.Money, error)
}

// CustomsCosting is the Costing of one cart: the duties, taxes and fees
// the customs engine decides for it, once per channel type (the type
// changes the declaration form and with it some fees). in.ChannelType is
// ignored. It is not safe for concurrent use; make one per plan.
func CustomsCosting(d Decider, in customs.Input) Costing {
	return &customsCosting{d: d, in: in, by: map[logistics.ChannelType]logistics.CustomsDecision{}}
}

type customsCosting struct {
	d  Decider
	in customs.Input
	by map[logistics.ChannelType]logistics.CustomsDecision
}

func (c *customsCosting) decision(t logistics.ChannelType) (logistics.CustomsDecision, error) {
	if d, ok := c.by[t]; ok {
		return d, nil
	}
	in := c.in
	in.ChannelType = t
	d, err := c.d.Decide(in)
	if err != nil {
		return logistics.CustomsDecision{}, err
	}
	c.by[t] = d
	return d, nil
}

func (c *customsCosting) Charges(t logistics.ChannelType) (logistics.Money, error) {
	d, err := c.decision(t)
	if err != nil {
		return logistics.Money{}, err
	}
	return d.Total, nil
}

func (c *customsCosting) Convert(m logistics.Money, to string) (logistics.Money, error) {
	return c.d.Convert(m, to)
}

// QuoteRequest is a cart to quote: what a checkout knows before an order
// exists. Origin is the country parcels leave from (a warehouse's country);
// Date picks the customs rules in force on that calendar day.
type QuoteRequest struct {
	Origin       string
	Items        []logistics.Item
	Destination  string
	Incoterm     logistics.Incoterm
	ServiceLevel logistics.ServiceLevel
	TaxIDs       logistics.TaxIDs
	Date         time.Time
}

// Quote is the answer to a QuoteRequest: the customs decision the order
// would get and the channels that could carry it, best first.
type Quote struct {
	Customs logistics.CustomsDecision
	Options []Option
}

// Quote plans channels for the cart as one parcel (its net weight: item
// weight times quantity, summed; every dangerous goods class of its items)
// and decides customs for the best channel's type (courier when no channel
// is eligible), exactly as the order's screening would. When no channel can
// carry the cart the decision is blocked with one "no_eligible_channel: "
// reason per rejected channel, as the order workflow blocks it. Errors from
// d pass through unchanged (a *logistics.Error with CodeInvalid for input
// customs cannot read). Quote writes nothing; it is pure when d is, and
// safe for concurrent use. d must not be nil.
func (r *Registry) Quote(d Decider, req QuoteRequest) (Quote, error) {
	return r.quote(d, req, nil)
}

// quote is Quote with a hook that may reprice the options before they are
// ranked for good (live carrier rates).
func (r *Registry) quote(d Decider, req QuoteRequest, reprice func([]Option, Costing)) (Quote, error) {
	var dg []logistics.DangerousGoods
	for _, it := range req.Items {
		if it.DangerousGoods != logistics.DGNone && it.DangerousGoods != "" {
			dg = append(dg, it.DangerousGoods)
		}
	}
	in := customs.Input{Items: req.Items, Destination: req.Destination, Incoterm: req.Incoterm,
		TaxIDs: req.TaxIDs, Date: req.Date}
	costing := CustomsCosting(d, in).(*customsCosting)
	options, rejected := r.Plan(PlanRequest{
		Origin: req.Origin, Destination: req.Destination, WeightGrams: cartWeightGrams(req.Items),
		DangerousGoods: dg, ServiceLevel: req.ServiceLevel, Incoterm: req.Incoterm, TaxIDs: req.TaxIDs,
		Costing: costing,
	})
	if reprice != nil && len(options) > 0 {
		reprice(options, costing)
		Rank(options, req.ServiceLevel)
	}
	channelType := logistics.ChannelCourier
	if len(options) > 0 {
		channelType = options[0].Channel.Type
	}
	decision, err := costing.decision(channelType)
	if err != nil {
		return Quote{}, err
	}
	if len(options) == 0 {
		decision.Blocked = true
		decision.BlockReasons = append(decision.BlockReasons, NoChannelReasons(req.Origin, req.Destination, rejected)...)
	}
	return Quote{Customs: decision, Options: options}, nil
}

// NoChannelReasons are the block reasons of a parcel no channel can carry:
// one "no_eligible_channel: carrier/service: reason" per rejection, or one
// naming the lane when no channel was even considered. They are the words
// the order workflow's screening uses.
func NoChannelReasons(origin, destination string, rejected []Rejection) []string {
	if len(rejected) == 0 {
		return []string{"no_eligible_channel: no channel serves " + logistics.Lane(origin, destination)}
	}
	out := make([]string, 0, len(rejected))
	for _, r := range rejected {
		out = append(out, "no_eligible_channel: "+r.String())
	}
	return out
}

// cartWeightGrams is the net weight of the items, saturating at the
// largest int rather than overflowing (an absurd cart is then too heavy for
// every channel with a limit instead of weighing less than nothing).
func cartWeightGrams(items []logistics.Item) int {
	total := 0
	for _, it := range items {
		if it.WeightGrams <= 0 || it.Quantity <= 0 {
			continue
		}
		if it.WeightGrams > (math.MaxInt-total)/it.Quantity {
			return math.MaxInt
		}
		total += it.WeightGrams * it.Quantity
	}
	return total
}

// Quoter binds a registry to a customs decider so that callers holding a
// request context (the API's landed-cost route) can ask for quotes:
// carriers.Quoter{Registry: reg, Customs: engine} is what the composition
// root hands to the API.
type Quoter struct {
	Registry *Registry
	Customs  Decider
	// RateTimeout bounds the wait for carriers' live rates (default 2 s):
	// a checkout quote answers at once, with the published tariff of any
	// carrier that did not answer in time.
	RateTimeout time.Duration
}

// Quote is r.Registry.Quote(r.Customs, req) with live rates: the options
// of carriers that quote (Rater) are repriced with their answer, all in
// parallel within RateTimeout, and ranked again. A carrier that fails or
// is late keeps its tariff price; its channel is never dropped for it.
// ctx's error is returned if the caller has already gone.
func (q Quoter) Quote(ctx context.Context, req QuoteRequest) (Quote, error) {
	if err := ctx.Err(); err != nil {
		return Quote{}, err
	}
	timeout := q.RateTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return q.Registry.quote(q.Customs, req, func(options []Option, costing Costing) {
		var wg sync.WaitGroup
		for i := range options {
			c, ok := q.Registry.Get(options[i].Channel.Carrier)
			rater, isRater := c.(Rater)
			if !ok || !isRater || q.Registry.Breakers().Open(options[i].Channel.Carrier) {
				continue
			}
			wg.Add(1)
			go func(o *Option) {
				defer wg.Done()
				var price logistics.Money
				// Through the carrier's breaker: a carrier that cannot
				// answer stops being asked (and booked) for a while.
				err := q.Registry.Breakers().Do(o.Channel.Carrier, func() (err error) {
					price, err = rater.Rate(rctx, RateRequest{Service: o.Channel.Service, Origin: req.Origin,
						Destination: req.Destination, WeightGrams: cartWeightGrams(req.Items)})
					return err
				})
				if err != nil || price.Currency == "" || price.Amount.IsNegative() {
					return
				}
				o.Price, o.HasPrice, o.LiveRate = price, true, true
				o.LandedCost, o.HasLandedCost = landedCost(costing, o.Channel.Type, price)
			}(&options[i])
		}
		wg.Wait()
	})
}
