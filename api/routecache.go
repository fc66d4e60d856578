package api

import (
	"context"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/crossdock/crossdock/store"
)

// Bounds of the tracking-number route cache.
const (
	// routeCacheTTL is how long a tracking number's shipment, once looked
	// up, routes carrier webhooks without asking the store again.
	routeCacheTTL = 10 * time.Second
	// routeCacheSize bounds the numbers remembered (least recently used
	// first out): about the parcels in transit that push in ten seconds.
	routeCacheSize = 50_000
)

// routeCache remembers which shipment owns a tracking number, so that a
// carrier pushing scan after scan for the same parcels costs one lookup per
// number every routeCacheTTL instead of one per webhook. What it keeps of a
// shipment does not change once the number is issued (merchant, order,
// workflow, the issuing carrier, origin and destination), except the status:
// only shipments that have not finished are remembered, and one that finishes
// within the TTL has its late scans accepted into its timeline rather than
// reported as ignored; the relay then drops their hand-off (the workflow has
// ended). Numbers nobody owns are never remembered: the booking that issues
// one may be recorded a moment later. Safe for concurrent use.
type routeCache struct {
	refs *expirable.LRU[string, store.ShipmentRef]
}

func newRouteCache() *routeCache {
	return &routeCache{refs: expirable.NewLRU[string, store.ShipmentRef](routeCacheSize, nil, routeCacheTTL)}
}

// resolve returns the shipments owning numbers, from the cache where it can
// and in one store query for the rest; numbers nobody owns are absent.
func (r *routeCache) resolve(ctx context.Context, st Store, numbers []string) (map[string]store.ShipmentRef, error) {
	refs := make(map[string]store.ShipmentRef, len(numbers))
	var missing []string
	for _, tn := range numbers {
		if ref, ok := r.refs.Get(tn); ok {
			refs[tn] = ref
		} else {
			missing = append(missing, tn)
		}
	}
	if len(missing) == 0 {
		return refs, nil
	}
	found, err := st.ShipmentsByTrackingNumbers(ctx, missing)
	if err != nil {
		return nil, err
	}
	for tn, ref := range found {
		refs[tn] = ref
		if !ref.Status.Terminal() {
			r.refs.Add(tn, ref)
		}
	}
	return refs, nil
}
