package sandbox

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Fault kinds of the contract's fault switch.
const (
	FaultOutage            = "outage"
	FaultRateLimit         = "rate_limit"
	FaultSlow              = "slow"
	FaultDropWebhooks      = "drop_webhooks"
	FaultDuplicateWebhooks = "duplicate_webhooks"
	FaultReorderWebhooks   = "reorder_webhooks"
	FaultStall             = "stall"
	FaultCustomsHold       = "customs_hold"
	FaultFailedAttempt     = "failed_attempt"
	FaultRefuse            = "refuse"
)

// FaultKinds lists every fault kind the switch accepts.
var FaultKinds = []string{FaultOutage, FaultRateLimit, FaultSlow, FaultDropWebhooks,
	FaultDuplicateWebhooks, FaultReorderWebhooks, FaultStall, FaultCustomsHold,
	FaultFailedAttempt, FaultRefuse}

// allCarriers in a fault request applies the fault to every carrier.
const allCarriers = "*"

// defaultFaultDuration applies when a fault request gives no duration.
const defaultFaultDuration = 60 * time.Second

// faultSwitch holds the active faults per carrier, each until its expiry in
// real (not accelerated) time, because the operator who sets it waits in
// real time.
type faultSwitch struct {
	mu     sync.Mutex
	now    func() time.Time
	active map[string]map[string]faultView // carrier -> kind -> fault
}

func newFaultSwitch(now func() time.Time) *faultSwitch {
	return &faultSwitch{now: now, active: map[string]map[string]faultView{}}
}

// set activates kind on carrier ("*" for all) for d, replacing an earlier
// fault of the same kind.
func (f *faultSwitch) set(carrier, kind string, d time.Duration) faultView {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := faultView{Carrier: carrier, Kind: kind, DurationS: int(d / time.Second), ExpiresAt: f.now().Add(d)}
	if f.active[carrier] == nil {
		f.active[carrier] = map[string]faultView{}
	}
	f.active[carrier][kind] = v
	return v
}

// clear removes the faults of carrier, or of every carrier when carrier is "".
func (f *faultSwitch) clear(carrier string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if carrier == "" {
		f.active = map[string]map[string]faultView{}
		return
	}
	delete(f.active, carrier)
}

// until reports whether kind is active on carrier (directly or through "*")
// and when it expires; with both, the later expiry wins.
func (f *faultSwitch) until(carrier, kind string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	var end time.Time
	for _, c := range []string{carrier, allCarriers} {
		if v, ok := f.active[c][kind]; ok && v.ExpiresAt.After(now) && v.ExpiresAt.After(end) {
			end = v.ExpiresAt
		}
	}
	return end, !end.IsZero()
}

// is reports whether kind is active on carrier.
func (f *faultSwitch) is(carrier, kind string) bool {
	_, ok := f.until(carrier, kind)
	return ok
}

// list returns the unexpired faults, sorted by carrier then kind.
func (f *faultSwitch) list() []faultView {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	out := []faultView{}
	for _, kinds := range f.active {
		for _, v := range kinds {
			if v.ExpiresAt.After(now) {
				out = append(out, v)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Carrier != out[j].Carrier {
			return out[i].Carrier < out[j].Carrier
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

func validFaultKind(kind string) bool { return slices.Contains(FaultKinds, kind) }
