package logistics_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

func TestTrackingUpdateSplit(t *testing.T) {
	evs := []logistics.TrackingEvent{{RawCode: "A"}, {RawCode: "B"}, {RawCode: "C"}}

	one := logistics.TrackingUpdate{WebhookID: "w", Events: evs, Stored: true}
	assert.Equal(t, []logistics.TrackingUpdate{one}, one.Split(), "no parts: the update itself")

	parts := logistics.TrackingUpdate{WebhookID: "w1", Events: evs, Stored: true,
		Parts: []logistics.TrackingPart{{WebhookID: "w1", Events: 2}, {WebhookID: "w2", Events: 1}}}
	got := parts.Split()
	require.Len(t, got, 2)
	assert.Equal(t, logistics.TrackingUpdate{WebhookID: "w1", Events: evs[:2], Stored: true}, got[0])
	assert.Equal(t, logistics.TrackingUpdate{WebhookID: "w2", Events: evs[2:], Stored: true}, got[1])
	got[0].Events = append(got[0].Events, logistics.TrackingEvent{RawCode: "X"})
	assert.Equal(t, "C", evs[2].RawCode, "a part cannot grow into the next")

	for name, bad := range map[string][]logistics.TrackingPart{
		"too few":    {{WebhookID: "w1", Events: 1}},
		"too many":   {{WebhookID: "w1", Events: 2}, {WebhookID: "w2", Events: 2}},
		"empty part": {{WebhookID: "w1", Events: 3}, {WebhookID: "w2", Events: 0}},
		"negative":   {{WebhookID: "w1", Events: 4}, {WebhookID: "w2", Events: -1}},
	} {
		u := logistics.TrackingUpdate{WebhookID: "w1", Events: evs, Parts: bad}
		assert.Equal(t, []logistics.TrackingUpdate{u}, u.Split(), "%s: applied whole, nothing lost", name)
	}
}
