package sandbox

import (
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// The sandbox carriers' published wire format. Booking requests are
// carriers.BookRequest as JSON; everything the carriers answer or push is
// below, in the carriers' own words (raw codes), never Crossdock's.

// shipmentResponse answers POST /carriers/{carrier}/shipments.
type shipmentResponse struct {
	Carrier           string      `json:"carrier"`
	Service           string      `json:"service"`
	TrackingNumber    string      `json:"tracking_number"`
	LabelURL          string      `json:"label_url"`
	EstimatedDelivery time.Time   `json:"estimated_delivery"`
	Partner           *partnerRef `json:"partner,omitempty"`
	CreatedAt         time.Time   `json:"created_at"`
}

// partnerRef names the last-mile partner's parcel a consolidator hands over
// to, with the tracking number the partner will use.
type partnerRef struct {
	Carrier        string `json:"carrier"`
	Service        string `json:"service"`
	TrackingNumber string `json:"tracking_number"`
}

// wireEvent is one raw scan.
type wireEvent struct {
	Code        string             `json:"code"`
	Description string             `json:"description"`
	OccurredAt  time.Time          `json:"occurred_at"`
	Location    logistics.Location `json:"location"`
}

// trackingResponse answers GET /carriers/{carrier}/tracking/{number} and is
// also the body of a pushed tracking webhook (Type "tracking.updated").
type trackingResponse struct {
	Type               string      `json:"type,omitempty"`
	Carrier            string      `json:"carrier"`
	TrackingNumber     string      `json:"tracking_number"`
	OriginCountry      string      `json:"origin_country"`
	DestinationCountry string      `json:"destination_country"`
	Events             []wireEvent `json:"events"`
}

// webhookType is the Type of every pushed tracking webhook.
const webhookType = "tracking.updated"

// errorResponse is the error body of every sandbox route, in the same shape
// as Crossdock's own API so tools can share one decoder.
type errorResponse struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string                   `json:"code"`
	Message string                   `json:"message"`
	Details []logistics.FieldProblem `json:"details,omitempty"`
}

// faultRequest is the body of POST /admin/faults (contract.md).
type faultRequest struct {
	Carrier   string `json:"carrier"`
	Kind      string `json:"kind"`
	DurationS int    `json:"duration_s"`
}

// faultView is one active fault as GET and POST /admin/faults show it.
type faultView struct {
	Carrier   string    `json:"carrier"`
	Kind      string    `json:"kind"`
	DurationS int       `json:"duration_s"`
	ExpiresAt time.Time `json:"expires_at"`
}

// addressRequest is the body of POST
// /carriers/{carrier}/shipments/{number}/address.
type addressRequest struct {
	ShipTo logistics.Address `json:"ship_to"`
}

// operationResponse answers a void, an address change or an intercept with
// where the parcel now stands (e.g. "voided", "returning", "in_transit")
// and where it is going.
type operationResponse struct {
	Carrier        string            `json:"carrier"`
	TrackingNumber string            `json:"tracking_number"`
	State          string            `json:"state"`
	ShipTo         logistics.Address `json:"ship_to"`
}

// codeUnsupported is the error code of an operation the parcel's channel
// does not offer; every other 4xx code of those routes is a refusal.
const codeUnsupported = "unsupported"
