package api

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

func TestRouteCache(t *testing.T) {
	st := newFakeStore()
	st.refs["RUN1"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-1", Number: 1, WorkflowID: "shipment/m_demo/TT-1/1",
		Carrier: "sbx_express", Status: logistics.StatusInTransit}
	st.refs["DONE1"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-2", Number: 1, WorkflowID: "shipment/m_demo/TT-2/1",
		Carrier: "sbx_express", Status: logistics.StatusDelivered}
	rc := newRouteCache()

	refs, err := rc.resolve(t.Context(), st, []string{"RUN1", "DONE1", "NOPE"})
	require.NoError(t, err)
	assert.Len(t, refs, 2)
	assert.Equal(t, 1, st.callCount())

	// A running shipment is remembered; a finished one and an unknown
	// number are asked again.
	refs, err = rc.resolve(t.Context(), st, []string{"RUN1"})
	require.NoError(t, err)
	assert.Equal(t, st.refs["RUN1"], refs["RUN1"])
	assert.Equal(t, 1, st.callCount(), "served from the cache")

	st.refs["NOPE"] = store.ShipmentRef{MerchantID: "m_demo", OrderID: "TT-3", Number: 1, WorkflowID: "shipment/m_demo/TT-3/1", Carrier: "sbx_express"}
	refs, err = rc.resolve(t.Context(), st, []string{"RUN1", "DONE1", "NOPE"})
	require.NoError(t, err)
	assert.Len(t, refs, 3, "a number booked since is found")
	assert.Equal(t, 2, st.callCount())

	st.err = errDatabaseDown
	_, err = rc.resolve(t.Context(), st, []string{"DONE1"})
	require.ErrorIs(t, err, errDatabaseDown)
	_, err = rc.resolve(t.Context(), st, []string{"RUN1"})
	require.NoError(t, err, "cached numbers route while the database is away")
}
