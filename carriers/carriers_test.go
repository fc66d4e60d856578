package carriers_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

// fakeCarrier is a carrier with fixed channels that books nothing.
type fakeCarrier struct {
	code     string
	channels []logistics.Channel
}

var _ carriers.Carrier = (*fakeCarrier)(nil)

func (f *fakeCarrier) Code() string                  { return f.code }
func (f *fakeCarrier) Channels() []logistics.Channel { return f.channels }
func (f *fakeCarrier) Book(context.Context, carriers.BookRequest) (carriers.Booking, error) {
	return carriers.Booking{}, carriers.ErrUnsupported
}

func channel(carrier, service string, days int, dests []string, mod func(*logistics.Channel)) logistics.Channel {
	ch := logistics.Channel{Carrier: carrier, Service: service, Type: logistics.ChannelCourier,
		Destinations: dests, EstimatedDays: days,
		Capabilities: logistics.Capabilities{MaxWeightGrams: 30000, DDP: true}}
	if mod != nil {
		mod(&ch)
	}
	return ch
}

func testRegistry() *carriers.Registry {
	return carriers.NewRegistry(
		&fakeCarrier{code: "zz_express", channels: []logistics.Channel{
			channel("zz_express", "express", 3, []string{"*"}, func(c *logistics.Channel) {
				c.Capabilities.DangerousGoods = []logistics.DangerousGoods{logistics.DGLithiumInEquipment}
			}),
		}},
		&fakeCarrier{code: "aa_post", channels: []logistics.Channel{
			channel("aa_post", "packet", 8, []string{"GB", "DE", "US"}, func(c *logistics.Channel) {
				c.Type = logistics.ChannelPostal
				c.Capabilities.MaxWeightGrams = 2000
				c.Capabilities.DDP = false
			}),
		}},
		&fakeCarrier{code: "mm_consol", channels: []logistics.Channel{
			channel("mm_consol", "eu_ioss", 8, []string{"DE", "FR"}, func(c *logistics.Channel) {
				c.Origins = []string{"CN"}
				c.Capabilities.TaxIDsRequired = []string{"ioss"}
				c.Capabilities.LastMile = logistics.LastMilePartnerHandoff
				c.Capabilities.LastMilePartner = "aa_post"
			}),
			channel("mm_consol", "standard", 3, []string{"GB"}, func(c *logistics.Channel) {
				c.Origins = []string{"CN"}
			}),
		}},
	)
}

func TestRegistry(t *testing.T) {
	r := testRegistry()
	assert.Equal(t, []string{"zz_express", "aa_post", "mm_consol"}, r.Codes())
	c, ok := r.Get("aa_post")
	require.True(t, ok)
	assert.Equal(t, "aa_post", c.Code())
	_, ok = r.Get("nope")
	assert.False(t, ok)
	chs := r.Channels()
	require.Len(t, chs, 4)
	assert.Equal(t, "zz_express", chs[0].Carrier)
	assert.Equal(t, "standard", chs[3].Service)
}

func TestPlan(t *testing.T) {
	base := carriers.PlanRequest{Origin: "CN", Destination: "GB", WeightGrams: 500,
		ServiceLevel: logistics.ServiceStandard, Incoterm: logistics.IncotermDAP}
	tests := []struct {
		name     string
		mod      func(*carriers.PlanRequest)
		want     []string // carrier/service, best first
		rejected map[string]string
	}{
		{
			name: "all GB channels, fewer days then carrier code",
			want: []string{"mm_consol/standard", "zz_express/express", "aa_post/packet"},
			rejected: map[string]string{
				"mm_consol/eu_ioss": "does not serve lane CN-GB",
			},
		},
		{
			name: "express level prefers fewer days",
			mod:  func(r *carriers.PlanRequest) { r.ServiceLevel = logistics.ServiceExpress },
			want: []string{"mm_consol/standard", "zz_express/express", "aa_post/packet"},
		},
		{
			name: "lane served by nobody but the wildcard",
			mod:  func(r *carriers.PlanRequest) { r.Destination = "PH" },
			want: []string{"zz_express/express"},
			rejected: map[string]string{
				"aa_post/packet":     "does not serve lane CN-PH",
				"mm_consol/eu_ioss":  "does not serve lane CN-PH",
				"mm_consol/standard": "does not serve lane CN-PH",
			},
		},
		{
			name: "origin restriction",
			mod:  func(r *carriers.PlanRequest) { r.Origin = "NL" },
			want: []string{"zz_express/express", "aa_post/packet"},
			rejected: map[string]string{
				"mm_consol/standard": "does not serve lane NL-GB",
			},
		},
		{
			name: "too heavy for the post",
			mod:  func(r *carriers.PlanRequest) { r.WeightGrams = 2500 },
			want: []string{"mm_consol/standard", "zz_express/express"},
			rejected: map[string]string{
				"aa_post/packet": "weight 2500 g exceeds the channel maximum of 2000 g",
			},
		},
		{
			name: "battery in equipment only on express",
			mod: func(r *carriers.PlanRequest) {
				r.DangerousGoods = []logistics.DangerousGoods{logistics.DGNone, logistics.DGLithiumInEquipment}
			},
			want: []string{"zz_express/express"},
			rejected: map[string]string{
				"aa_post/packet":     "does not accept dangerous goods lithium_battery_in_equipment",
				"mm_consol/standard": "does not accept dangerous goods lithium_battery_in_equipment",
			},
		},
		{
			name: "standalone battery blocks everything",
			mod: func(r *carriers.PlanRequest) {
				r.DangerousGoods = []logistics.DangerousGoods{logistics.DGLithiumStandalone}
			},
			want: nil,
			rejected: map[string]string{
				"zz_express/express": "does not accept dangerous goods lithium_battery_standalone",
			},
		},
		{
			name: "DDP excludes the post",
			mod:  func(r *carriers.PlanRequest) { r.Incoterm = logistics.IncotermDDP },
			want: []string{"mm_consol/standard", "zz_express/express"},
			rejected: map[string]string{
				"aa_post/packet": "does not support DDP",
			},
		},
		{
			name: "EU consol needs an IOSS number",
			mod:  func(r *carriers.PlanRequest) { r.Destination = "DE" },
			want: []string{"zz_express/express", "aa_post/packet"},
			rejected: map[string]string{
				"mm_consol/eu_ioss": "requires tax ids ioss",
			},
		},
		{
			name: "EU consol with IOSS",
			mod: func(r *carriers.PlanRequest) {
				r.Destination = "DE"
				r.TaxIDs.IOSS = "IM2760000001"
			},
			want: []string{"zz_express/express", "aa_post/packet", "mm_consol/eu_ioss"},
		},
		{
			name: "partner must deliver at the destination",
			mod: func(r *carriers.PlanRequest) {
				r.Destination = "FR"
				r.TaxIDs.IOSS = "IM2760000001"
			},
			want: []string{"zz_express/express"},
			rejected: map[string]string{
				"mm_consol/eu_ioss": "last-mile partner aa_post does not deliver in FR",
				"aa_post/packet":    "does not serve lane CN-FR",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			if tt.mod != nil {
				tt.mod(&req)
			}
			options, rejected := testRegistry().Plan(req)
			var got []string
			for _, o := range options {
				got = append(got, o.Channel.Carrier+"/"+o.Channel.Service)
				assert.Equal(t, o.Channel.EstimatedDays, o.EstimatedDays)
			}
			assert.Equal(t, tt.want, got)
			reasons := map[string]string{}
			for _, r := range rejected {
				reasons[r.Carrier+"/"+r.Service] = r.Reason
				assert.NotEmpty(t, r.Reason, "every rejection is explained")
			}
			for key, reason := range tt.rejected {
				assert.Equal(t, reason, reasons[key], key)
			}
			assert.Len(t, rejected, 4-len(got), "every channel is either an option or a rejection")
		})
	}
}

func TestNormalise(t *testing.T) {
	table := carriers.MappingTable{
		"ARR": {Status: logistics.StatusInTransit, Substatus: "in_transit.arrived_at_destination", ResponsibleParty: logistics.PartyCarrier},
		"CUS": {Status: logistics.StatusInTransit, Substatus: "in_transit.customs_processing", ResponsibleParty: logistics.PartyCustoms},
		"HLD": {Status: logistics.StatusException, Substatus: "exception.customs_hold", ResponsibleParty: logistics.PartyCustoms,
			ActionRequired: true, Reason: "documents required"},
		"DLV": {Status: logistics.StatusDelivered, Substatus: "delivered.signed", ResponsibleParty: logistics.PartyCarrier},
	}
	require.NoError(t, table.Validate())
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	shenzhen := logistics.Location{City: "Shenzhen", Country: "CN"}
	london := logistics.Location{City: "London", Country: "GB"}
	tests := []struct {
		code      string
		loc       logistics.Location
		status    logistics.Status
		substatus string
		phase     logistics.Phase
		action    bool
		party     logistics.ResponsibleParty
	}{
		{"ARR", london, logistics.StatusInTransit, "in_transit.arrived_at_destination", logistics.PhaseImportCustoms, false, logistics.PartyCarrier},
		{"CUS", shenzhen, logistics.StatusInTransit, "in_transit.customs_processing", logistics.PhaseExportCustoms, false, logistics.PartyCustoms},
		{"CUS", london, logistics.StatusInTransit, "in_transit.customs_processing", logistics.PhaseImportCustoms, false, logistics.PartyCustoms},
		{"HLD", london, logistics.StatusException, "exception.customs_hold", logistics.PhaseImportCustoms, true, logistics.PartyCustoms},
		{"DLV", london, logistics.StatusDelivered, "delivered.signed", logistics.PhaseLastMile, false, logistics.PartyCarrier},
		{"??", london, "", carriers.SubstatusUnmapped, logistics.PhaseLastMile, false, logistics.PartyUnknown},
		{" DLV ", london, logistics.StatusDelivered, "delivered.signed", logistics.PhaseLastMile, false, logistics.PartyCarrier},
	}
	for _, tt := range tests {
		t.Run(tt.code+"@"+tt.loc.Country, func(t *testing.T) {
			raw := carriers.RawEvent{Carrier: "zz", TrackingNumber: "T1", Code: tt.code, Description: "d",
				OccurredAt: at, Location: tt.loc, Source: logistics.SourcePoll}
			ev := table.Normalise(raw, "CN", "GB")
			assert.Equal(t, tt.status, ev.Status)
			assert.Equal(t, tt.substatus, ev.Substatus)
			assert.Equal(t, tt.phase, ev.Phase)
			assert.Equal(t, tt.action, ev.ActionRequired)
			assert.Equal(t, tt.party, ev.ResponsibleParty)
			assert.Equal(t, tt.code, ev.RawCode, "the raw code is kept as received")
			assert.Equal(t, "d", ev.RawDescription)
			assert.Equal(t, "T1", ev.TrackingNumber)
			assert.Equal(t, "zz", ev.Carrier)
			assert.Equal(t, at, ev.OccurredAt)
			assert.Equal(t, logistics.SourcePoll, ev.Source)
		})
	}
}

func TestMappingTableValidate(t *testing.T) {
	tests := map[string]carriers.CodeMapping{
		"invalid status":  {Status: "lost", Substatus: "lost.somewhere"},
		"wrong namespace": {Status: logistics.StatusDelivered, Substatus: "in_transit.arrived"},
		"not snake case":  {Status: logistics.StatusDelivered, Substatus: "delivered.LeftAtDoor"},
		"bare substatus":  {Status: logistics.StatusDelivered, Substatus: "delivered."},
		"invalid party":   {Status: logistics.StatusDelivered, Substatus: "delivered.signed", ResponsibleParty: "postman"},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, carriers.MappingTable{"X": m}.Validate())
		})
	}
}
