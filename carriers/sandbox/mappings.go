package sandbox

import (
	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// The adapters' reading of each sandbox carrier's raw codes, kept apart from
// the network's own code lists (network.go) as a real adapter's table is
// kept apart from the carrier; mappings_test.go checks they cover each other.

// Substatuses used by the sandbox tables, namespaced under their status.
const (
	subShipmentData     = "info_received.shipment_data"
	subManifested       = "info_received.manifested"
	subCollected        = "picked_up.collected"
	subPosted           = "picked_up.posted"
	subAtOriginHub      = "picked_up.at_origin_hub"
	subAtExchange       = "in_transit.at_office_of_exchange"
	subCustoms          = "in_transit.customs_processing"
	subCustomsReleased  = "in_transit.customs_released"
	subDeparted         = "in_transit.departed_origin"
	subArrived          = "in_transit.arrived_at_destination"
	subAtSortingCentre  = "in_transit.at_sorting_centre"
	subLeftSorting      = "in_transit.departed_sorting_centre"
	subAtDeliveryOffice = "in_transit.at_delivery_office"
	subHandedToPartner  = "in_transit.handed_to_partner"
	subCustomsHold      = "exception.customs_hold"
	subAddressIssue     = "exception.address_issue"
	subHeldByCarrier    = "exception.held_by_carrier"
	subDelayed          = "exception.delayed"
	subOnVehicle        = "out_for_delivery.on_vehicle"
	subRecipientAbsent  = "attempt_fail.recipient_unavailable"
	subCODRefused       = "attempt_fail.cod_refused"
	subCollectionPoint  = "available_for_pickup.at_collection_point"
	subSigned           = "delivered.signed"
	subDelivered        = "delivered.delivered"
	subReturning        = "return_to_sender.returning"
)

func byCarrier(status logistics.Status, sub string) carriers.CodeMapping {
	return carriers.CodeMapping{Status: status, Substatus: sub, ResponsibleParty: logistics.PartyCarrier}
}

func byCustoms(sub string) carriers.CodeMapping {
	return carriers.CodeMapping{Status: logistics.StatusInTransit, Substatus: sub, ResponsibleParty: logistics.PartyCustoms}
}

var customsHold = carriers.CodeMapping{Status: logistics.StatusException, Substatus: subCustomsHold,
	ResponsibleParty: logistics.PartyCustoms, ActionRequired: true, Reason: "held by customs: documents or payment required"}

var recipientAbsent = carriers.CodeMapping{Status: logistics.StatusAttemptFail, Substatus: subRecipientAbsent,
	ResponsibleParty: logistics.PartyConsignee, ActionRequired: true, Reason: "recipient not available"}

var returning = carriers.CodeMapping{Status: logistics.StatusReturnToSender, Substatus: subReturning,
	ResponsibleParty: logistics.PartyCarrier, ActionRequired: true, Reason: "parcel returning to the shipper"}

// mappings holds each sandbox carrier's raw code table.
var mappings = map[string]carriers.MappingTable{
	Express: {
		"MAN":     byCarrier(logistics.StatusInfoReceived, subShipmentData),
		"PU":      byCarrier(logistics.StatusPickedUp, subCollected),
		"EXP_CLR": byCustoms(subCustoms),
		"DEP":     byCarrier(logistics.StatusInTransit, subDeparted),
		"ARR":     byCarrier(logistics.StatusInTransit, subArrived),
		"IMP_CLR": byCustoms(subCustoms),
		"CLR":     byCustoms(subCustomsReleased),
		"HLD":     customsHold,
		"OFD":     byCarrier(logistics.StatusOutForDelivery, subOnVehicle),
		"NA":      recipientAbsent,
		"ADR": {Status: logistics.StatusException, Substatus: subAddressIssue,
			ResponsibleParty: logistics.PartyShipper, ActionRequired: true, Reason: "address incomplete"},
		"DLV": byCarrier(logistics.StatusDelivered, subSigned),
		"RTS": returning,
	},
	Post: {
		"ITMATT": byCarrier(logistics.StatusInfoReceived, subShipmentData),
		"EMA":    byCarrier(logistics.StatusPickedUp, subPosted),
		"EMB":    byCarrier(logistics.StatusInTransit, subAtExchange),
		"EXA":    byCustoms(subCustoms),
		"EXB":    customsHold,
		"EXC":    byCustoms(subCustomsReleased),
		"EMC":    byCarrier(logistics.StatusInTransit, subDeparted),
		"EMD":    byCarrier(logistics.StatusInTransit, subArrived),
		"EDA":    byCustoms(subCustoms),
		"EDB":    byCustoms(subCustoms),
		"EME":    customsHold,
		"EDC":    byCustoms(subCustomsReleased),
		"EDD":    byCarrier(logistics.StatusInTransit, subAtSortingCentre),
		"EDE":    byCarrier(logistics.StatusInTransit, subLeftSorting),
		"EMG":    byCarrier(logistics.StatusInTransit, subAtDeliveryOffice),
		"EDF": {Status: logistics.StatusException, Substatus: subHeldByCarrier,
			ResponsibleParty: logistics.PartyCarrier, Reason: "on hold at delivery office"},
		"EDG": byCarrier(logistics.StatusOutForDelivery, subOnVehicle),
		"EMH": recipientAbsent,
		"EDH": {Status: logistics.StatusAvailableForPickup, Substatus: subCollectionPoint,
			ResponsibleParty: logistics.PartyConsignee, ActionRequired: true, Reason: "awaiting collection by the recipient"},
		"EMI": byCarrier(logistics.StatusDelivered, subDelivered),
		"RTN": returning,
	},
	Consol: {
		"GWMS_ACCEPT":        byCarrier(logistics.StatusInfoReceived, subShipmentData),
		"PU_PICKUP_SUCCESS":  byCarrier(logistics.StatusPickedUp, subCollected),
		"SC_INBOUND_SUCCESS": byCarrier(logistics.StatusPickedUp, subAtOriginHub),
		"CC_EX_SUCCESS":      byCustoms(subCustomsReleased),
		"LH_DEPART":          byCarrier(logistics.StatusInTransit, subDeparted),
		"LH_DELAY": {Status: logistics.StatusException, Substatus: subDelayed,
			ResponsibleParty: logistics.PartyCarrier, Reason: "line haul delayed"},
		"LH_ARRIVE":     byCarrier(logistics.StatusInTransit, subArrived),
		"CC_IM_START":   byCustoms(subCustoms),
		"CC_HOLD":       customsHold,
		"CC_IM_SUCCESS": byCustoms(subCustomsReleased),
		"CW_HANDOVER":   byCarrier(logistics.StatusInTransit, subHandedToPartner),
		"RETURN_START":  returning,
	},
	Local: {
		"MNF": byCarrier(logistics.StatusInfoReceived, subManifested),
		"PKP": byCarrier(logistics.StatusPickedUp, subCollected),
		"ARH": byCarrier(logistics.StatusInTransit, subArrived),
		"CUS": byCustoms(subCustoms),
		"CHD": customsHold,
		"CLR": byCustoms(subCustomsReleased),
		"OFD": byCarrier(logistics.StatusOutForDelivery, subOnVehicle),
		"FDA": recipientAbsent,
		"COD": {Status: logistics.StatusAttemptFail, Substatus: subCODRefused,
			ResponsibleParty: logistics.PartyConsignee, ActionRequired: true, Reason: "cash on delivery refused"},
		"DLV": byCarrier(logistics.StatusDelivered, subDelivered),
		"RTS": returning,
	},
}

// Mapping returns the adapter's raw code table for a sandbox carrier, for
// tools that normalise the carrier's scans outside an adapter (e.g. the
// sbx_local CSV import). The table must not be modified.
func Mapping(carrier string) (carriers.MappingTable, bool) {
	m, ok := mappings[carrier]
	return m, ok
}
