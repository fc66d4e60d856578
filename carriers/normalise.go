package carriers

import (
	"fmt"
	"strings"
	"time"

	"github.com/crossdock/crossdock/logistics"
)

// SubstatusUnmapped is the substatus of an event whose raw carrier code has
// no mapping; its Status is empty so the shipment keeps its previous status.
const SubstatusUnmapped = "unmapped"

// RawEvent is one scan as a carrier reports it, before normalisation.
type RawEvent struct {
	Carrier        string
	TrackingNumber string
	Code           string
	Description    string
	OccurredAt     time.Time
	Location       logistics.Location
	Source         logistics.EventSource
}

// Normaliser is implemented by adapters that can read their carrier's raw
// codes outside a push or poll, e.g. scans entered by ops for a carrier with
// no tracking API. The shipment's origin and destination are not known to
// it, so the phase it derives is a fallback the caller may recompute with
// logistics.PhaseFor. An unknown code yields SubstatusUnmapped, as with
// MappingTable.Normalise.
type Normaliser interface {
	// Normalise maps one raw scan to a tracking event; it keeps raw.Source.
	Normalise(raw RawEvent) logistics.TrackingEvent
}

// CodeMapping is what one raw carrier code means in the contract's words.
type CodeMapping struct {
	Status           logistics.Status
	Substatus        string
	ResponsibleParty logistics.ResponsibleParty
	ActionRequired   bool
	Reason           string
}

// MappingTable maps a carrier's raw codes to the contract vocabulary. Each
// adapter keeps one beside its code, tested over the carrier's full code list.
type MappingTable map[string]CodeMapping

// Normalise turns a raw event into a tracking event. The phase is derived by
// logistics.PhaseFor from the mapped status and substatus and the event's
// location compared with the shipment's origin and destination countries.
// An unknown code yields an empty Status (the caller keeps the previous one)
// with substatus "unmapped", so it is recorded but never moves the shipment.
func (m MappingTable) Normalise(raw RawEvent, origin, destination string) logistics.TrackingEvent {
	mapping, ok := m[raw.Code]
	if !ok {
		mapping, ok = m[strings.TrimSpace(raw.Code)]
	}
	if !ok {
		mapping = CodeMapping{
			Substatus:        SubstatusUnmapped,
			ResponsibleParty: logistics.PartyUnknown,
			Reason:           "unmapped carrier code " + logistics.CleanText(raw.Code),
		}
	}
	party := mapping.ResponsibleParty
	if party == "" {
		party = logistics.PartyUnknown
	}
	return logistics.TrackingEvent{
		Status:           mapping.Status,
		Phase:            logistics.PhaseFor(mapping.Status, mapping.Substatus, raw.Location, origin, destination),
		Substatus:        mapping.Substatus,
		Reason:           mapping.Reason,
		ResponsibleParty: party,
		ActionRequired:   mapping.ActionRequired,
		OccurredAt:       raw.OccurredAt,
		Location:         logistics.Location{City: logistics.CleanText(raw.Location.City), Country: logistics.CleanText(raw.Location.Country)},
		Carrier:          raw.Carrier,
		TrackingNumber:   logistics.CleanText(raw.TrackingNumber),
		RawCode:          logistics.CleanText(raw.Code),
		RawDescription:   logistics.CleanText(raw.Description),
		Source:           raw.Source,
	}
}

// Validate reports the first mapping that is not in the contract's words: an
// invalid status, a substatus not namespaced under its status, or an unknown
// responsible party. Adapters call it from their mapping tests.
func (m MappingTable) Validate() error {
	for code, c := range m {
		if !c.Status.Valid() {
			return fmt.Errorf("code %s maps to invalid status %q", code, c.Status)
		}
		if !strings.HasPrefix(c.Substatus, string(c.Status)+".") || !substatusPattern(c.Substatus) {
			return fmt.Errorf("code %s has substatus %q, want %s.<snake_case>", code, c.Substatus, c.Status)
		}
		switch c.ResponsibleParty {
		case logistics.PartyCarrier, logistics.PartyShipper, logistics.PartyConsignee,
			logistics.PartyCustoms, logistics.PartyForceMajeure, logistics.PartyUnknown, "":
		default:
			return fmt.Errorf("code %s has invalid responsible party %q", code, c.ResponsibleParty)
		}
	}
	return nil
}

// substatusPattern reports whether s is "status.snake_case".
func substatusPattern(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return strings.Count(s, ".") == 1 && !strings.HasSuffix(s, ".")
}
