// Package sandbox is Crossdock's emulated warehouse network and the adapters
// that talk to it. The Server plays the sandbox warehouses over HTTP: it
// accepts pick requests and, after an accelerated pick delay, pushes a
// signed "packed" (or "out_of_stock", "short_pick") webhook to Crossdock,
// unless the pick is released first (an order cancelled in time).
// The Client adapters speak to it over HTTP exactly as an adapter for a
// real warehouse management system would.
package sandbox

import (
	"slices"

	"github.com/crossdock/crossdock/logistics"
)

// Warehouse ids of the sandbox world (contract.md "The sandbox world").
const (
	// Shenzhen is the sandbox warehouse in Shenzhen, CN.
	Shenzhen = "wh_szx"
	// Amsterdam is the sandbox warehouse in Amsterdam, NL.
	Amsterdam = "wh_ams"
)

// IDs lists the sandbox warehouse ids in a stable order.
var IDs = []string{Shenzhen, Amsterdam}

// addresses are where the sandbox warehouses ship from.
var addresses = map[string]logistics.Address{
	Shenzhen: {
		Name: "Crossdock Sandbox Fulfilment Shenzhen", Line1: "8 Pingxin North Road",
		Line2: "Pinghu, Longgang District", City: "Shenzhen", Region: "Guangdong",
		PostalCode: "518111", Country: "CN", Phone: "+8675500000000", Email: "wh-szx@example.com",
	},
	Amsterdam: {
		Name: "Crossdock Sandbox Fulfilment Amsterdam", Line1: "Hoogoorddreef 15",
		City: "Amsterdam", Region: "Noord-Holland", PostalCode: "1101 BA", Country: "NL",
		Phone: "+31200000000", Email: "wh-ams@example.com",
	},
}

// Address returns a sandbox warehouse's ship-from address.
func Address(id string) (logistics.Address, bool) {
	a, ok := addresses[id]
	return a, ok
}

func knownWarehouse(id string) bool { return slices.Contains(IDs, id) }
