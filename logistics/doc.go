// Package logistics holds Crossdock's domain: orders, parcels, shipments,
// legs, tracking events, customs decisions, the status and phase vocabulary
// of the external contract with its forward-only state machine, lane
// capabilities, and the application error type. It imports nothing from the
// project and no infrastructure, so a newcomer can read it first.
package logistics
