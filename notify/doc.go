// Package notify delivers Crossdock's outbound events to merchants' webhook
// endpoints (contract.md "Merchant API").
//
// The workflows append events to the store's outbox; the Sender fans each
// event out to the merchant's enabled endpoints subscribed to its type and
// POSTs it, signed with the Standard Webhooks scheme, retrying with
// exponential back-off for more than a day. All state lives in the
// database, so a crash loses nothing, and deliveries are claimed with leases,
// so several worker replicas share the work without sending twice
// concurrently. Each order's events reach an endpoint in the order they were
// appended.
//
// The Guard keeps webhooks from reaching Crossdock's own network (SSRF): the
// API checks a URL with it when a merchant subscribes, and the Sender's
// transport dials only through it.
package notify
