package logistics

// Stage is where an order stands in fulfilment (contract.md "Words").
type Stage string

// Order stages, in the order fulfilment walks them, then the terminal ones.
const (
	StageReceived  Stage = "received"
	StageScreening Stage = "screening"
	StagePicking   Stage = "picking"
	StageBooking   Stage = "booking"
	StageExport    Stage = "export"
	StageLineHaul  Stage = "line_haul"
	StageCustoms   Stage = "customs"
	StageLastMile  Stage = "last_mile"
	StageDelivered Stage = "delivered"
	StageCancelled Stage = "cancelled"
	StageReturned  Stage = "returned"
	StageFailed    Stage = "failed"
)

// Stages lists every stage in contract order.
var Stages = []Stage{StageReceived, StageScreening, StagePicking, StageBooking, StageExport,
	StageLineHaul, StageCustoms, StageLastMile, StageDelivered, StageCancelled, StageReturned, StageFailed}

// Terminal reports whether no further stage follows s.
func (s Stage) Terminal() bool {
	switch s {
	case StageDelivered, StageCancelled, StageReturned, StageFailed:
		return true
	}
	return false
}

// Valid reports whether s is a word of the contract.
func (s Stage) Valid() bool { return contains(Stages, s) }

// Status is a shipment's tracking status (contract.md "Words").
type Status string

// Tracking statuses.
const (
	StatusPending            Status = "pending"
	StatusInfoReceived       Status = "info_received"
	StatusPickedUp           Status = "picked_up"
	StatusInTransit          Status = "in_transit"
	StatusOutForDelivery     Status = "out_for_delivery"
	StatusAvailableForPickup Status = "available_for_pickup"
	StatusAttemptFail        Status = "attempt_fail"
	StatusDelivered          Status = "delivered"
	StatusException          Status = "exception"
	StatusReturnToSender     Status = "return_to_sender"
	StatusExpired            Status = "expired"
	StatusCancelled          Status = "cancelled"
)

// Statuses lists every tracking status.
var Statuses = []Status{StatusPending, StatusInfoReceived, StatusPickedUp, StatusInTransit,
	StatusOutForDelivery, StatusAvailableForPickup, StatusAttemptFail, StatusDelivered,
	StatusException, StatusReturnToSender, StatusExpired, StatusCancelled}

// Valid reports whether s is a word of the contract.
func (s Status) Valid() bool { return contains(Statuses, s) }

// Terminal reports whether a shipment in status s moves no further
// (a late delivered may still replace expired; see Advance).
func (s Status) Terminal() bool {
	switch s {
	case StatusDelivered, StatusCancelled, StatusExpired:
		return true
	}
	return false
}

// statusRank orders the forward path. Statuses of equal rank may replace one
// another only where Advance says so.
var statusRank = map[Status]int{
	StatusPending:            0,
	StatusInfoReceived:       1,
	StatusPickedUp:           2,
	StatusInTransit:          3,
	StatusException:          3,
	StatusOutForDelivery:     4,
	StatusAvailableForPickup: 5,
	StatusAttemptFail:        5,
	StatusReturnToSender:     6,
	StatusDelivered:          7,
	StatusExpired:            7,
	StatusCancelled:          7,
}

// Before reports whether s comes earlier than t on the forward path
// (pending first, the terminal statuses last). Statuses of equal rank,
// such as in_transit and exception, are not before one another.
func (s Status) Before(t Status) bool { return statusRank[s] < statusRank[t] }

// Advance applies the forward-only state machine of domain.md: it returns the
// status a shipment in status from should take when an event says to, and
// whether that is a change. Late or out-of-order events never move a status
// backwards; the only moves back are exception <-> in_transit,
// attempt_fail -> out_for_delivery and any non-terminal -> return_to_sender.
// delivered, cancelled and expired are terminal, except that a late
// delivered replaces expired. Unknown words keep the current status.
func Advance(from, to Status) (Status, bool) {
	if from == to || !to.Valid() {
		return from, false
	}
	if !from.Valid() {
		return to, true
	}
	switch {
	case from == StatusExpired && to == StatusDelivered:
		return to, true
	case from.Terminal():
		return from, false
	case from == StatusReturnToSender:
		// A returned parcel only ends (delivered back to the shipper, or lost).
		if to == StatusDelivered || to == StatusExpired || to == StatusException {
			return to, true
		}
		return from, false
	case to == StatusReturnToSender:
		return to, true
	case from == StatusException && to == StatusInTransit,
		from == StatusInTransit && to == StatusException,
		from == StatusAttemptFail && to == StatusOutForDelivery:
		return to, true
	case from == StatusException && statusRank[to] >= statusRank[StatusInTransit]:
		return to, true
	}
	if statusRank[to] > statusRank[from] {
		return to, true
	}
	return from, false
}

// Phase says where along the journey a tracking event happened.
type Phase string

// Tracking phases.
const (
	PhaseOrigin        Phase = "origin"
	PhaseExportCustoms Phase = "export_customs"
	PhaseLineHaul      Phase = "line_haul"
	PhaseImportCustoms Phase = "import_customs"
	PhaseLastMile      Phase = "last_mile"
	PhaseReturn        Phase = "return"
)

// Phases lists every phase in journey order.
var Phases = []Phase{PhaseOrigin, PhaseExportCustoms, PhaseLineHaul, PhaseImportCustoms, PhaseLastMile, PhaseReturn}

// Valid reports whether p is a word of the contract.
func (p Phase) Valid() bool { return contains(Phases, p) }

// ResponsibleParty names who must act on an event.
type ResponsibleParty string

// Responsible parties.
const (
	PartyCarrier      ResponsibleParty = "carrier"
	PartyShipper      ResponsibleParty = "shipper"
	PartyConsignee    ResponsibleParty = "consignee"
	PartyCustoms      ResponsibleParty = "customs"
	PartyForceMajeure ResponsibleParty = "force_majeure"
	PartyUnknown      ResponsibleParty = "unknown"
)

// EventSource says how a tracking event reached Crossdock.
type EventSource string

// Event sources.
const (
	SourceWebhook EventSource = "webhook"
	SourcePoll    EventSource = "poll"
	SourceManual  EventSource = "manual"
	SourceImport  EventSource = "import"
)

// PhaseFor derives the phase of an event from its status and substatus and
// its location compared with the shipment's origin and destination countries.
func PhaseFor(status Status, substatus string, location Location, origin, destination string) Phase {
	switch {
	case status == StatusReturnToSender:
		return PhaseReturn
	case status == StatusOutForDelivery, status == StatusAvailableForPickup,
		status == StatusAttemptFail, status == StatusDelivered:
		return PhaseLastMile
	case substatus == "in_transit.customs_processing" || substatus == "exception.customs_hold":
		if location.Country != "" && location.Country == origin && origin != destination {
			return PhaseExportCustoms
		}
		return PhaseImportCustoms
	case status == StatusPending, status == StatusInfoReceived:
		return PhaseOrigin
	}
	switch {
	case location.Country == "":
		return PhaseLineHaul
	case location.Country == destination && origin != destination:
		if substatus == "in_transit.arrived_at_destination" {
			return PhaseImportCustoms
		}
		return PhaseLastMile
	case location.Country == origin && status == StatusPickedUp:
		return PhaseOrigin
	}
	return PhaseLineHaul
}

// StageFor maps a shipment's status and phase to the order stage a merchant
// sees once the parcel has left the warehouse.
func StageFor(status Status, phase Phase) Stage {
	switch status {
	case StatusDelivered:
		if phase == PhaseReturn {
			return StageReturned
		}
		return StageDelivered
	case StatusCancelled:
		return StageCancelled
	case StatusExpired:
		return StageFailed
	case StatusPending, StatusInfoReceived:
		return StageBooking
	}
	switch phase {
	case PhaseOrigin, PhaseExportCustoms:
		return StageExport
	case PhaseLineHaul:
		return StageLineHaul
	case PhaseImportCustoms:
		return StageCustoms
	case PhaseLastMile, PhaseReturn:
		return StageLastMile
	}
	return StageLineHaul
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
