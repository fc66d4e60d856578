package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

var (
	_ carriers.Carrier    = (*normalisingCarrier)(nil)
	_ carriers.Normaliser = (*normalisingCarrier)(nil)
)

// normalisingCarrier has no tracking API but reads its raw codes with a
// mapping table, as sbx_local does.
type normalisingCarrier struct {
	code  string
	table carriers.MappingTable
}

func (c *normalisingCarrier) Code() string                  { return c.code }
func (c *normalisingCarrier) Channels() []logistics.Channel { return nil }
func (c *normalisingCarrier) Book(context.Context, carriers.BookRequest) (carriers.Booking, error) {
	return carriers.Booking{}, carriers.ErrUnsupported
}
func (c *normalisingCarrier) Normalise(raw carriers.RawEvent) logistics.TrackingEvent {
	return c.table.Normalise(raw, "", "")
}

var localTable = carriers.MappingTable{
	"PKP": {Status: logistics.StatusPickedUp, Substatus: "picked_up.collected", ResponsibleParty: logistics.PartyCarrier},
	"ARH": {Status: logistics.StatusInTransit, Substatus: "in_transit.arrived_at_destination", ResponsibleParty: logistics.PartyCarrier},
	"DLV": {Status: logistics.StatusDelivered, Substatus: "delivered.delivered", ResponsibleParty: logistics.PartyCarrier},
}

const (
	localTN   = "LOC100200300PH"
	postTN    = "RR123456785CN"
	localWF   = "shipment/m_demo/TT-1/1"
	postWF    = "shipment/m_demo/TT-2/1"
	scanActor = "ops@example.com"
)

// newScanHarness is a harness with a sbx_local-like carrier and two known
// shipments: a sbx_local one from CN to PH and a sbx_post one.
func newScanHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.Carriers = carriers.NewRegistry(&fakeCarrier{code: "sbx_express"}, &pollOnlyCarrier{code: "sbx_post"},
			&normalisingCarrier{code: "sbx_local", table: localTable})
	})
	h.store.refs[localTN] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, WorkflowID: localWF,
		Carrier: "sbx_local", Status: logistics.StatusInfoReceived}
	h.store.refs[postTN] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-2", Number: 1, WorkflowID: postWF,
		Carrier: "sbx_post", Status: logistics.StatusInTransit}
	h.store.shipments = []logistics.Shipment{{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, Carrier: "sbx_local",
		TrackingNumber: localTN, Origin: "CN", Destination: "PH"}}
	return h
}

func opsJSON(extra http.Header) http.Header {
	h := bearer(opsTokenTest)
	h.Set("Content-Type", "application/json")
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func csvHeader(actor string) http.Header {
	h := bearer(opsTokenTest)
	h.Set("Content-Type", "text/csv; charset=utf-8")
	if actor != "" {
		h.Set("X-Actor", actor)
	}
	return h
}

var at1 = fixedNow.Add(-3 * time.Hour)

// scansBody is a valid submission: two sbx_local scans (normalised with the
// table) and one sbx_post scan with its status given.
func scansBody(actor string) []byte {
	return fmt.Appendf(nil, `{"actor": %q, "scans": [
		{"carrier": "sbx_local", "tracking_number": %q, "code": "PKP", "occurred_at": %q, "city": "Shenzhen", "country": "CN", "description": "collected"},
		{"carrier": "sbx_post", "tracking_number": %q, "code": "MANUAL", "occurred_at": %q, "city": "Amsterdam", "country": "nl", "status": "in_transit"},
		{"carrier": "sbx_local", "tracking_number": %q, "code": "ARH", "occurred_at": %q, "city": "Manila", "country": "PH"}
	]}`, actor, localTN, at1.Format(time.RFC3339), postTN, at1.Format(time.RFC3339), localTN, at1.Add(time.Hour).Format(time.RFC3339))
}

func updateOf(t *testing.T, call temporalCall) logistics.TrackingUpdate {
	t.Helper()
	assert.Equal(t, "SignalWorkflow", call.Method)
	assert.Equal(t, logistics.SignalTrackingEvent, call.Signal)
	u, ok := call.Arg.(logistics.TrackingUpdate)
	require.True(t, ok, "signal arg is %T", call.Arg)
	return u
}

func TestTrackingScans(t *testing.T) {
	h := newScanHarness(t)
	rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", scansBody(scanActor), opsJSON(nil))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"accepted": 3}`, rec.Body.String())

	calls := h.temporal.recorded()
	require.Len(t, calls, 2, "one signal per tracking number")
	assert.Equal(t, localWF, calls[0].WorkflowID)
	assert.Equal(t, postWF, calls[1].WorkflowID)
	local, post := updateOf(t, calls[0]), updateOf(t, calls[1])
	assert.True(t, strings.HasPrefix(local.WebhookID, "manual:"), local.WebhookID)
	assert.Len(t, local.WebhookID, len("manual:")+64)
	assert.Equal(t, local.WebhookID, post.WebhookID)

	require.Len(t, local.Events, 2)
	want := logistics.TrackingEvent{Status: logistics.StatusPickedUp, Phase: logistics.PhaseOrigin,
		Substatus: "picked_up.collected", ResponsibleParty: logistics.PartyCarrier, OccurredAt: at1.UTC(),
		Location: logistics.Location{City: "Shenzhen", Country: "CN"}, Carrier: "sbx_local", TrackingNumber: localTN,
		RawCode: "PKP", RawDescription: "collected", Source: logistics.SourceManual, RecordedBy: scanActor}
	assert.Equal(t, want, local.Events[0], "normalised with the table; phase from the shipment's origin")
	assert.Equal(t, logistics.StatusInTransit, local.Events[1].Status)
	assert.Equal(t, logistics.PhaseImportCustoms, local.Events[1].Phase, "arrived in the destination country")

	require.Len(t, post.Events, 1)
	assert.Equal(t, logistics.TrackingEvent{Status: logistics.StatusInTransit, Phase: logistics.PhaseLineHaul,
		ResponsibleParty: logistics.PartyUnknown, OccurredAt: at1.UTC(), Location: logistics.Location{City: "Amsterdam", Country: "NL"},
		Carrier: "sbx_post", TrackingNumber: postTN, RawCode: "MANUAL", Source: logistics.SourceManual, RecordedBy: scanActor},
		post.Events[0], "a carrier without a table takes the given status")

	t.Run("a double submit is answered once", func(t *testing.T) {
		for _, actor := range []string{scanActor, "someone-else@example.com"} {
			again := h.do(http.MethodPost, "/v1/ops/tracking/scans", scansBody(actor), opsJSON(nil))
			require.Equal(t, http.StatusAccepted, again.Code, again.Body.String())
			assert.Equal(t, rec.Body.String(), again.Body.String())
		}
		assert.Len(t, h.temporal.recorded(), 2, "nothing signalled again")

		// Another server given the same scans signals the same id, so the
		// workflow sees one submission.
		h2 := newScanHarness(t)
		require.Equal(t, http.StatusAccepted, h2.do(http.MethodPost, "/v1/ops/tracking/scans", scansBody(scanActor), opsJSON(nil)).Code)
		assert.Equal(t, local.WebhookID, updateOf(t, h2.temporal.recorded()[0]).WebhookID)
	})
}

func TestTrackingScansInvalid(t *testing.T) {
	scan := func(fields string) string {
		base := map[string]any{"carrier": "sbx_local", "tracking_number": localTN, "code": "PKP",
			"occurred_at": at1.Format(time.RFC3339), "city": "Manila", "country": "PH"}
		var over map[string]any
		if fields != "" {
			if err := json.Unmarshal([]byte(fields), &over); err != nil {
				panic(err)
			}
		}
		for k, v := range over {
			if v == nil {
				delete(base, k)
				continue
			}
			base[k] = v
		}
		return string(mustJSON(base))
	}
	body := func(actor string, scans ...string) []byte {
		return fmt.Appendf(nil, `{"actor": %q, "scans": [%s]}`, actor, strings.Join(scans, ","))
	}
	many := make([]string, maxScans+1)
	for i := range many {
		many[i] = scan("")
	}
	tests := []struct {
		name   string
		body   []byte
		fields []string
	}{
		{"no actor", body("", scan("")), []string{"actor"}},
		{"actor with a line break", body("ops\n@example.com", scan("")), []string{"actor"}},
		{"actor too long", body(strings.Repeat("a", 201), scan("")), []string{"actor"}},
		{"no scans", body(scanActor), []string{"scans"}},
		{"too many scans", body(scanActor, many...), []string{"scans"}},
		{"one detail per bad field", body(scanActor, scan(""),
			scan(`{"occurred_at": "yesterday", "country": "Philippines"}`),
			scan(`{"carrier": "sbx_nowhere", "tracking_number": null}`),
			scan(`{"code": "XYZ", "status": "delivered"}`),
			scan(`{"occurred_at": "2027-01-01T00:00:00Z", "city": "a\u0000b"}`)),
			[]string{"scans[1].occurred_at", "scans[1].country", "scans[2].tracking_number", "scans[2].carrier",
				"scans[3].code", "scans[3].status", "scans[4].city", "scans[4].occurred_at"}},
		{"a carrier without a table needs a status", body(scanActor,
			scan(`{"carrier": "sbx_post", "tracking_number": "`+postTN+`"}`),
			scan(`{"carrier": "sbx_post", "tracking_number": "`+postTN+`", "status": "arrived", "phase": "space"}`)),
			[]string{"scans[0].status", "scans[1].status", "scans[1].phase"}},
		// Named with its index, and the fields the spec requires are named too.
		{"a wrong JSON type", []byte(`{"actor": "x", "scans": [{"carrier": 5}]}`),
			[]string{"scans[0].carrier", "scans[0].tracking_number", "scans[0].code", "scans[0].occurred_at"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newScanHarness(t)
			rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", tt.body, opsJSON(nil))
			require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			e := decodeError(t, rec)
			assert.Equal(t, "invalid_request", e.Error.Code)
			assert.ElementsMatch(t, tt.fields, fields(e), rec.Body.String())
			assert.Empty(t, h.temporal.recorded())
			assert.Zero(t, h.store.callCount(), "an invalid submission touches nothing")
		})
	}
	t.Run("malformed JSON", func(t *testing.T) {
		h := newScanHarness(t)
		rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", []byte(`{"actor":`), opsJSON(nil))
		require.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Empty(t, h.temporal.recorded())
	})
}

func TestTrackingScansResolution(t *testing.T) {
	one := func(carrier, tn string) []byte {
		return fmt.Appendf(nil, `{"actor": %q, "scans": [
			{"carrier": "sbx_local", "tracking_number": %q, "code": "PKP", "occurred_at": %q},
			{"carrier": %q, "tracking_number": %q, "code": "DLV", "occurred_at": %q}]}`,
			scanActor, localTN, at1.Format(time.RFC3339), carrier, tn, at1.Format(time.RFC3339))
	}
	t.Run("unknown tracking number", func(t *testing.T) {
		h := newScanHarness(t)
		rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", one("sbx_local", "LOC-NOPE"), opsJSON(nil))
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		e := decodeError(t, rec)
		assert.Equal(t, []string{"scans[1].tracking_number"}, fields(e))
		assert.Contains(t, e.Error.Details[0].Problem, "LOC-NOPE")
		assert.Empty(t, h.temporal.recorded(), "nothing signalled, not even the known number")
	})
	t.Run("number of another carrier", func(t *testing.T) {
		h := newScanHarness(t)
		rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", one("sbx_local", postTN), opsJSON(nil))
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		assert.Equal(t, []string{"scans[1].carrier"}, fields(decodeError(t, rec)))
		assert.Empty(t, h.temporal.recorded())
	})
	t.Run("finished shipment", func(t *testing.T) {
		h := newScanHarness(t)
		ref := h.store.refs[localTN]
		ref.Status = logistics.StatusDelivered
		h.store.refs[localTN] = ref
		h.temporal.setErr(serviceerror.NewNotFound("workflow execution already completed"))
		rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", one("sbx_local", localTN), opsJSON(nil))
		require.Equal(t, http.StatusConflict, rec.Code, rec.Body.String())
		e := decodeError(t, rec)
		assert.Equal(t, "conflict", e.Error.Code)
		assert.Contains(t, e.Error.Message, localTN)
		assert.Contains(t, e.Error.Message, "delivered")
		assert.Empty(t, h.store.records(), "a refused submission is not recorded")
	})
	t.Run("Temporal down: stored and acknowledged, handed over when it is back", func(t *testing.T) {
		h := newScanHarness(t)
		h.temporal.setErr(fmt.Errorf("deadline exceeded"))
		rec := h.do(http.MethodPost, "/v1/ops/tracking/scans", one("sbx_local", localTN), opsJSON(nil))
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
		assert.Len(t, h.store.records(), 1)
		assert.Equal(t, 1, h.store.pendingHandoffs())
		h.temporal.setErr(nil)
		h.now = h.now.Add(relayBackoff(1))
		_, err := h.relay.RunOnce(t.Context())
		require.NoError(t, err)
		require.Len(t, h.temporal.recorded(), 1)
		assert.Len(t, h.temporal.recorded()[0].Arg.(logistics.TrackingUpdate).Events, 2)
		assert.Zero(t, h.store.pendingHandoffs())
	})
}

func TestTrackingImport(t *testing.T) {
	csvBody := "status,tracking_number,carrier,code,occurred_at,city,country,description\n" +
		",LOC100200300PH,sbx_local,PKP," + at1.Format(time.RFC3339) + ",Shenzhen,CN,collected\n" +
		"in_transit,RR123456785CN,sbx_post,MANUAL," + at1.Format(time.RFC3339) + ",Amsterdam,NL,\"sorted, Schiphol\"\n"
	h := newScanHarness(t)
	rec := h.do(http.MethodPost, "/v1/ops/tracking/import", []byte(csvBody), csvHeader(scanActor))
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"accepted": 2}`, rec.Body.String())
	calls := h.temporal.recorded()
	require.Len(t, calls, 2)
	local, post := updateOf(t, calls[0]), updateOf(t, calls[1])
	assert.True(t, strings.HasPrefix(local.WebhookID, "import:"), local.WebhookID)
	require.Len(t, local.Events, 1)
	assert.Equal(t, logistics.SourceImport, local.Events[0].Source)
	assert.Equal(t, scanActor, local.Events[0].RecordedBy)
	assert.Equal(t, logistics.StatusPickedUp, local.Events[0].Status)
	assert.Equal(t, "picked_up.collected", local.Events[0].Substatus)
	assert.Equal(t, logistics.PhaseOrigin, local.Events[0].Phase)
	require.Len(t, post.Events, 1)
	assert.Equal(t, logistics.StatusInTransit, post.Events[0].Status)
	assert.Equal(t, "sorted, Schiphol", post.Events[0].RawDescription)
	assert.Equal(t, logistics.SourceImport, post.Events[0].Source)

	again := h.do(http.MethodPost, "/v1/ops/tracking/import", []byte(csvBody), csvHeader("another@example.com"))
	require.Equal(t, http.StatusAccepted, again.Code)
	assert.Equal(t, rec.Body.String(), again.Body.String())
	assert.Len(t, h.temporal.recorded(), 2, "a double import signals nothing")
}

func TestTrackingImportInvalid(t *testing.T) {
	const header = "carrier,tracking_number,code,occurred_at,city,country,description\n"
	good := "sbx_local," + localTN + ",PKP," + at1.Format(time.RFC3339) + ",Manila,PH,\n"
	tests := []struct {
		name    string
		body    string
		headers http.Header
		fields  []string
	}{
		{"bad rows name their line", header + good + "sbx_local," + localTN + ",PKP,25/11/2026,Manila,PH,\n" + good +
			"sbx_local,,NOPE," + at1.Format(time.RFC3339) + ",Manila,PH,\n", csvHeader(scanActor),
			[]string{"line 3.occurred_at", "line 5.tracking_number", "line 5.code"}},
		{"no X-Actor", header + good, csvHeader(""), []string{"X-Actor"}},
		{"not CSV", header + good, opsJSON(http.Header{"X-Actor": {scanActor}}), []string{"Content-Type"}},
		{"empty file", "", csvHeader(scanActor), []string{"body"}},
		{"header only", header, csvHeader(scanActor), []string{"body"}},
		{"missing and unknown columns", "carrier,tracking_number,code,when,city,country,description\n" + good,
			csvHeader(scanActor), []string{"line 1", "line 1"}},
		{"a row with too many fields", header + good + good[:len(good)-1] + ",extra\n", csvHeader(scanActor), []string{"line 3"}},
		{"status for a carrier with a table", "carrier,tracking_number,code,occurred_at,city,country,description,status\n" +
			"sbx_local," + localTN + ",PKP," + at1.Format(time.RFC3339) + ",Manila,PH,,delivered\n", csvHeader(scanActor),
			[]string{"line 2.status"}},
		{"too many rows", header + strings.Repeat(good, maxScans+1), csvHeader(scanActor), []string{"body"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newScanHarness(t)
			rec := h.do(http.MethodPost, "/v1/ops/tracking/import", []byte(tt.body), tt.headers)
			require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			assert.Equal(t, tt.fields, fields(decodeError(t, rec)), rec.Body.String())
			assert.Empty(t, h.temporal.recorded())
			assert.Zero(t, h.store.callCount())
		})
	}
	t.Run("body too large", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.MaxBodyBytes = 64 })
		rec := h.do(http.MethodPost, "/v1/ops/tracking/import", []byte(header+good), csvHeader(scanActor))
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	})
}

func TestTrackingRoutesNeedTheOpsToken(t *testing.T) {
	for _, header := range []http.Header{nil, bearer("wrong"), bearer(merchantKeyDemo)} {
		h := newScanHarness(t)
		for _, route := range []struct {
			path string
			body []byte
		}{{"/v1/ops/tracking/scans", scansBody(scanActor)}, {"/v1/ops/tracking/import", []byte("carrier\n")}} {
			rec := h.do(http.MethodPost, route.path, route.body, header)
			require.Equal(t, http.StatusUnauthorized, rec.Code, route.path)
			assert.Equal(t, "unauthorized", decodeError(t, rec).Error.Code)
		}
		assert.Empty(t, h.temporal.recorded())
	}
}
