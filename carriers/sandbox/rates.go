package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shopspring/decimal"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// fuelSurcharge is each API carrier's surcharge on its published tariff
// today, a fraction: what a live rate adds to the rate card, as real
// carriers' fuel and peak surcharges do. The batch-only courier has no
// API to ask.
var fuelSurcharge = map[string]string{Express: "0.12", Post: "0", Consol: "0.05"}

// rateResponse is a carrier's live price.
type rateResponse struct {
	Carrier string          `json:"carrier"`
	Service string          `json:"service"`
	Price   logistics.Money `json:"price"`
}

// rate handles POST /carriers/{carrier}/rates: the price of one parcel on
// a service today (the published tariff plus the carrier's surcharge).
// A lane, weight or service the carrier does not carry is refused.
func (s *Server) rate(w http.ResponseWriter, r *http.Request, carrier string) {
	surcharge, ok := fuelSurcharge[carrier]
	if !ok {
		writeError(w, http.StatusNotFound, codeUnsupported, carrier+" has no rating API", nil)
		return
	}
	var req carriers.RateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "the body is not a rate request: "+err.Error(), nil)
		return
	}
	if !countryPattern.MatchString(req.Origin) || !countryPattern.MatchString(req.Destination) || req.WeightGrams <= 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid_request", "a rate needs origin, destination and a positive weight", nil)
		return
	}
	for _, ch := range Channels(carrier) {
		if (req.Service != "" && ch.Service != req.Service) || !ch.Serves(req.Origin, req.Destination) {
			continue
		}
		if max := ch.Capabilities.MaxWeightGrams; max > 0 && req.WeightGrams > max {
			writeError(w, http.StatusUnprocessableEntity, "too_heavy", fmt.Sprintf("%s carries up to %d g", carrier, max), nil)
			return
		}
		price, ok := ch.Tariff.Price(req.WeightGrams)
		if !ok {
			break
		}
		k := decimal.RequireFromString(surcharge).Add(decimal.NewFromInt(1))
		price.Amount = price.Amount.Mul(k).RoundBank(logistics.MinorUnits(price.Currency))
		writeJSON(w, http.StatusOK, rateResponse{Carrier: carrier, Service: ch.Service, Price: price})
		return
	}
	writeError(w, http.StatusUnprocessableEntity, "destination_not_served",
		fmt.Sprintf("%s does not price %s on %s", carrier, req.Service, logistics.Lane(req.Origin, req.Destination)), nil)
}

// Rate asks the carrier for today's price of a parcel (carriers.Rater).
// The batch-only courier has no API: carriers.ErrUnsupported.
func (c *Client) Rate(ctx context.Context, req carriers.RateRequest) (logistics.Money, error) {
	if batchOnly(c.code) {
		return logistics.Money{}, fmt.Errorf("%s rate: %w", c.code, carriers.ErrUnsupported)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return logistics.Money{}, fmt.Errorf("%s rate: encode request: %w", c.code, err)
	}
	var resp rateResponse
	if err := c.do(ctx, "rate", http.MethodPost, "/carriers/"+c.code+"/rates", body, "", &resp); err != nil {
		return logistics.Money{}, err
	}
	return resp.Price, nil
}

var _ carriers.Rater = (*Client)(nil)
