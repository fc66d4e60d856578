package sandbox

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// TestMappingsCoverEveryRawCode checks each adapter table against the full
// code list its carrier publishes: every code is mapped, no mapping is
// stale, and every mapping is in the contract's words.
func TestMappingsCoverEveryRawCode(t *testing.T) {
	for _, code := range Codes {
		t.Run(code, func(t *testing.T) {
			p, ok := profiles[code]
			require.True(t, ok, "carrier has a profile")
			table, ok := Mapping(code)
			require.True(t, ok, "carrier has a mapping table")
			assert.Equal(t, slices.Sorted(maps.Keys(p.codes)), slices.Sorted(maps.Keys(table)))
			require.NoError(t, table.Validate())
			for raw, m := range table {
				ev := table.Normalise(carriers.RawEvent{Code: raw}, "CN", "GB")
				assert.Equal(t, m.Status, ev.Status, raw)
				assert.NotEqual(t, carriers.SubstatusUnmapped, ev.Substatus, raw)
				if m.Status == logistics.StatusException || m.Status == logistics.StatusAttemptFail {
					assert.NotEmpty(t, m.Reason, "%s: exceptions say why", raw)
				}
			}
			// The table lookup itself must be what maps: a code outside the
			// published list keeps the previous status.
			unknown := table.Normalise(carriers.RawEvent{Code: "NOT-A-" + code + "-CODE"}, "CN", "GB")
			assert.Empty(t, unknown.Status)
			assert.Equal(t, carriers.SubstatusUnmapped, unknown.Substatus)
		})
	}
}

// TestScriptsUseKnownCodes checks every code a journey or a fault can emit
// is in the carrier's published list.
func TestScriptsUseKnownCodes(t *testing.T) {
	for carrier, p := range profiles {
		var used []string
		for _, st := range append(slices.Clone(p.journey), p.partnerJourney...) {
			used = append(used, st.code)
		}
		for _, c := range []string{p.holdCode, p.attemptCode, p.returnCode} {
			if c != "" {
				used = append(used, c)
			}
		}
		for _, c := range used {
			assert.Contains(t, p.codes, c, "%s emits %s", carrier, c)
		}
		require.NotEmpty(t, p.journey, carrier)
		for i := 1; i < len(p.journey); i++ {
			assert.Greater(t, p.journey[i].after, p.journey[i-1].after, "%s journey is in time order", carrier)
		}
		hasDelivery := slices.ContainsFunc(p.journey, func(s step) bool { return s.kind == stepDelivered })
		hasHandover := slices.ContainsFunc(p.journey, func(s step) bool { return s.kind == stepHandover })
		assert.True(t, hasDelivery != hasHandover, "%s journey ends in delivery or hand-over", carrier)
		if hasDelivery {
			assert.NotEmpty(t, p.attemptCode, carrier)
			assert.True(t, slices.ContainsFunc(p.journey, func(s step) bool { return s.kind == stepOutForDelivery }), carrier)
		}
	}
	// The consolidator's partner must be able to play a last mile.
	for _, ch := range channels {
		if partner := ch.Capabilities.LastMilePartner; partner != "" {
			assert.NotEmpty(t, profiles[partner].partnerJourney, "%s hands over to %s", ch.Carrier, partner)
		}
	}
}

// TestJourneyStatusesOnlyMoveForward plays each scripted journey through
// the adapter's table and the forward-only state machine.
func TestJourneyStatusesOnlyMoveForward(t *testing.T) {
	for carrier, p := range profiles {
		status := logistics.StatusPending
		for _, st := range p.journey {
			mapped := mappings[carrier][st.code].Status
			status, _ = logistics.Advance(status, mapped)
			assert.Equal(t, mapped, status, "%s %s: every scripted scan is taken up", carrier, st.code)
		}
		want := logistics.StatusDelivered
		if p.journey[len(p.journey)-1].kind == stepHandover {
			want = logistics.StatusInTransit
		}
		assert.Equal(t, want, status, carrier)
	}
}

func TestS10CheckDigit(t *testing.T) {
	assert.Equal(t, "EE123456785ZZ", s10("EE", "12345678"))
	assert.Regexp(t, `^LS[0-9]{9}ZZ$`, profiles[Post].newNumber())
}

func TestCloseStopsTimers(t *testing.T) {
	s := NewServer(Options{Speedup: 1})
	s.mu.Lock()
	sh := &shipment{carrier: Express, number: "SBX1"}
	s.start(sh, s.now(), profiles[Express].journey)
	s.mu.Unlock()
	s.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(t, s.timers)
	s.start(&shipment{carrier: Express, number: "SBX2"}, s.now(), profiles[Express].journey)
	assert.Empty(t, s.timers, "nothing is scheduled after Close")
}

// TestClientNormalisesManualScans checks that every sandbox adapter offers
// its table as a carriers.Normaliser, as ops' manual scans of sbx_local use.
func TestClientNormalisesManualScans(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	for _, code := range Codes {
		t.Run(code, func(t *testing.T) {
			c, err := NewClient("http://127.0.0.1:1", code, "", nil)
			require.NoError(t, err)
			var n carriers.Normaliser = c
			table, _ := Mapping(code)
			for raw, m := range table {
				ev := n.Normalise(carriers.RawEvent{TrackingNumber: "TN1", Code: raw, OccurredAt: at,
					Location: logistics.Location{City: "Manila", Country: "PH"}, Source: logistics.SourceManual})
				assert.Equal(t, m.Status, ev.Status, raw)
				assert.Equal(t, m.Substatus, ev.Substatus, raw)
				assert.Equal(t, code, ev.Carrier, "the adapter fills in its own code")
				assert.Equal(t, logistics.SourceManual, ev.Source)
				assert.Equal(t, at, ev.OccurredAt)
				assert.True(t, ev.Phase.Valid(), raw)
			}
			ev := n.Normalise(carriers.RawEvent{Carrier: code, TrackingNumber: "TN1", Code: "NOPE"})
			assert.Empty(t, ev.Status)
			assert.Equal(t, carriers.SubstatusUnmapped, ev.Substatus)
		})
	}
}
