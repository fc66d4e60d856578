package sandbox

import "time"

// This file is the carriers' side of the world: the raw codes each sandbox
// carrier emits and the journeys it plays. The adapters never read it; they
// map the codes with their own tables in mappings.go.

// place says where along the lane a scan happens.
type place int

const (
	atOrigin      place = iota // the ship-from city
	atDestination              // the ship-to city
	atLastScan                 // where the parcel was last scanned
)

// stepKind marks the steps that faults act upon.
type stepKind int

const (
	stepPlain stepKind = iota
	// stepImportCustoms is where customs_hold holds the parcel.
	stepImportCustoms
	// stepOutForDelivery is where a failed attempt goes back to.
	stepOutForDelivery
	// stepDelivered is where failed_attempt fails the delivery.
	stepDelivered
	// stepHandover starts the last-mile partner's journey.
	stepHandover
)

// step is one scripted scan: a raw code, its real-world offset from the
// start of the journey (divided by the speedup when played) and where.
type step struct {
	code  string
	after time.Duration
	at    place
	kind  stepKind
}

// profile is how one sandbox carrier behaves.
type profile struct {
	// codes is the carrier's full list of raw codes with their descriptions.
	codes map[string]string
	// journey is the door-to-door script played after a booking.
	journey []step
	// partnerJourney is the script played when the carrier delivers the
	// last mile for a consolidator, timed from the hand-over.
	partnerJourney []step
	// returnJourney is the script played after an intercept, timed from
	// the intercept: return_to_sender scans, then delivery to the shipper.
	returnJourney []step
	// voidCutoff is the scan after which the carrier voids no label: it
	// has the parcel (or, for a consolidator, the line haul has left).
	voidCutoff string
	// holdCode, attemptCode and returnCode are emitted under the
	// customs_hold and failed_attempt faults.
	holdCode, attemptCode, returnCode string
	// newNumber mints a tracking number in the carrier's format.
	newNumber func() string
}

// maxAttempts is how many failed delivery attempts send a parcel back.
const maxAttempts = 3

// reattemptAfter is the real-world wait before another delivery attempt.
const reattemptAfter = 20 * time.Hour

func h(hours float64) time.Duration { return time.Duration(hours * float64(time.Hour)) }

var profiles = map[string]profile{
	Express: {
		codes: map[string]string{
			"MAN":     "Shipment information received",
			"PU":      "Shipment picked up",
			"EXP_CLR": "Export clearance in progress",
			"DEP":     "Departed origin facility",
			"ARR":     "Arrived at destination gateway",
			"IMP_CLR": "Import clearance in progress",
			"CLR":     "Clearance complete",
			"HLD":     "Held by customs: further documents required",
			"OFD":     "Out for delivery",
			"NA":      "Delivery attempted: recipient not available",
			"ADR":     "Delivery exception: address incomplete",
			"DLV":     "Delivered, signed for",
			"RTS":     "Returning to shipper",
		},
		journey: []step{
			{"MAN", h(0), atOrigin, stepPlain},
			{"PU", h(6), atOrigin, stepPlain},
			{"EXP_CLR", h(20), atOrigin, stepPlain},
			{"DEP", h(30), atOrigin, stepPlain},
			{"ARR", h(60), atDestination, stepPlain},
			{"IMP_CLR", h(70), atDestination, stepImportCustoms},
			{"CLR", h(78), atDestination, stepPlain},
			{"OFD", h(90), atDestination, stepOutForDelivery},
			{"DLV", h(96), atDestination, stepDelivered},
		},
		returnJourney: []step{
			{"RTS", h(1), atLastScan, stepPlain},
			{"DLV", h(48), atOrigin, stepPlain},
		},
		voidCutoff: "PU",
		holdCode:   "HLD", attemptCode: "NA", returnCode: "RTS",
		newNumber: func() string { return "SBX" + digits(10) },
	},
	Post: {
		// UPU EMSEVT-style event codes.
		codes: map[string]string{
			"ITMATT": "Electronic item information received",
			"EMA":    "Posting/collection",
			"EMB":    "Arrival at outward office of exchange",
			"EXA":    "Item presented to export customs",
			"EXB":    "Item held by export customs",
			"EXC":    "Item returned from export customs",
			"EMC":    "Departure from outward office of exchange",
			"EMD":    "Arrival at inward office of exchange",
			"EDA":    "Held at inward office of exchange",
			"EDB":    "Item presented to import customs",
			"EME":    "Held by import customs",
			"EDC":    "Item returned from customs",
			"EDD":    "Item into sorting centre",
			"EDE":    "Item out of sorting centre",
			"EMG":    "Arrival at delivery office",
			"EDF":    "Item on hold at delivery office",
			"EDG":    "Item out for delivery",
			"EMH":    "Attempted/unsuccessful delivery",
			"EDH":    "Item arrived at collection point for pick up",
			"EMI":    "Final delivery",
			"RTN":    "Item returned to sender",
		},
		journey: []step{
			{"ITMATT", h(0), atOrigin, stepPlain},
			{"EMA", h(12), atOrigin, stepPlain},
			{"EXA", h(28), atOrigin, stepPlain},
			{"EMC", h(40), atOrigin, stepPlain},
			{"EMD", h(110), atDestination, stepPlain},
			{"EDB", h(126), atDestination, stepImportCustoms},
			{"EDC", h(140), atDestination, stepPlain},
			{"EDD", h(150), atDestination, stepPlain},
			{"EDG", h(180), atDestination, stepOutForDelivery},
			{"EMI", h(188), atDestination, stepDelivered},
		},
		partnerJourney: []step{
			{"EDD", h(4), atDestination, stepPlain},
			{"EDG", h(24), atDestination, stepOutForDelivery},
			{"EMI", h(32), atDestination, stepDelivered},
		},
		returnJourney: []step{
			{"RTN", h(2), atLastScan, stepPlain},
			{"EMI", h(96), atOrigin, stepPlain},
		},
		voidCutoff: "EMA",
		holdCode:   "EME", attemptCode: "EMH", returnCode: "RTN",
		newNumber: func() string { return s10("LS", digits(8)) },
	},
	Consol: {
		// Coarse, platform-style milestones.
		codes: map[string]string{
			"GWMS_ACCEPT":        "Order information received",
			"PU_PICKUP_SUCCESS":  "Collected from seller",
			"SC_INBOUND_SUCCESS": "Arrived at sorting centre",
			"CC_EX_SUCCESS":      "Export customs cleared",
			"LH_DEPART":          "Line haul departed",
			"LH_DELAY":           "Line haul delayed",
			"LH_ARRIVE":          "Line haul arrived at destination",
			"CC_IM_START":        "Import customs clearance started",
			"CC_HOLD":            "Held by import customs",
			"CC_IM_SUCCESS":      "Import customs cleared",
			"CW_HANDOVER":        "Handed over to last-mile carrier",
			"RETURN_START":       "Return to seller started",
		},
		journey: []step{
			{"GWMS_ACCEPT", h(0), atOrigin, stepPlain},
			{"SC_INBOUND_SUCCESS", h(10), atOrigin, stepPlain},
			{"LH_DEPART", h(40), atOrigin, stepPlain},
			{"LH_ARRIVE", h(160), atDestination, stepPlain},
			{"CC_IM_SUCCESS", h(190), atDestination, stepImportCustoms},
			{"CW_HANDOVER", h(200), atDestination, stepHandover},
		},
		voidCutoff: "LH_DEPART",
		holdCode:   "CC_HOLD", returnCode: "RETURN_START",
		newNumber: func() string { return "CNSB" + digits(12) },
	},
	Local: {
		// Scan codes from a courier's handheld app, reported on no API.
		codes: map[string]string{
			"MNF": "Manifest received",
			"PKP": "Picked up",
			"ARH": "Arrived at destination hub",
			"CUS": "With customs broker",
			"CHD": "Customs hold",
			"CLR": "Released by customs",
			"OFD": "Out for delivery",
			"FDA": "Failed delivery attempt: no one at address",
			"COD": "Failed delivery attempt: cash on delivery refused",
			"DLV": "Delivered",
			"RTS": "Return to sender",
		},
		journey: []step{
			{"MNF", h(0), atOrigin, stepPlain},
			{"PKP", h(12), atOrigin, stepPlain},
			{"ARH", h(72), atDestination, stepPlain},
			{"CUS", h(84), atDestination, stepImportCustoms},
			{"CLR", h(100), atDestination, stepPlain},
			{"OFD", h(132), atDestination, stepOutForDelivery},
			{"DLV", h(140), atDestination, stepDelivered},
		},
		voidCutoff: "PKP",
		holdCode:   "CHD", attemptCode: "FDA", returnCode: "RTS",
		newNumber: func() string { return "SL" + digits(9) },
	},
}
