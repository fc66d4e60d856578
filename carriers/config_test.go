package carriers_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
)

const validChannels = `
channels:
  - carrier: zz_express
    service: express
    type: courier
    destinations: ["*"]
    estimated_days: 3
    tariff: {currency: USD, base: "18.00", per_kg: "9.5"}
    capabilities:
      label: api
      tracking: push
      customs: electronic_preclearance
      last_mile: own
      void_window: 24h
      intercept: true
      dangerous_goods: [lithium_battery_in_equipment]
      ddp: true
      max_weight_grams: 30000
  - carrier: mm_consol
    service: standard
    type: courier
    origins: [CN]
    destinations: [GB]
    estimated_days: 9
    capabilities:
      label: batch_manifest
      tracking: none
      customs: broker
      last_mile: partner_handoff
      last_mile_partner: zz_express
      tax_ids_required: [ioss]
      cutoff: "17:30"
      cutoff_zone: Asia/Shanghai
`

func TestLoadChannels(t *testing.T) {
	chs, err := carriers.LoadChannels([]byte(validChannels))
	require.NoError(t, err)
	require.Len(t, chs, 2)
	x := chs[0]
	assert.Equal(t, "zz_express", x.Carrier)
	assert.Equal(t, []string{"*"}, x.Destinations)
	assert.Equal(t, 24*time.Hour, x.Capabilities.VoidWindow)
	assert.True(t, x.Capabilities.Intercept)
	assert.Equal(t, []logistics.DangerousGoods{logistics.DGLithiumInEquipment}, x.Capabilities.DangerousGoods)
	assert.Equal(t, tariff("USD", "18.00", "9.5"), x.Tariff)
	c := chs[1]
	assert.Equal(t, logistics.LabelBatchManifest, c.Capabilities.Label)
	assert.Equal(t, logistics.LastMilePartnerHandoff, c.Capabilities.LastMile)
	assert.Equal(t, "17:30", c.Capabilities.Cutoff)
	assert.Equal(t, "", c.Tariff.Currency, "no tariff, no price")

	asJSON := `{"channels": [{"carrier": "zz_express", "service": "xp", "type": "postal", "destinations": ["GB"],
		"estimated_days": 5, "capabilities": {"label": "template", "tracking": "poll", "customs": "postal_paper", "last_mile": "own"}}]}`
	chs, err = carriers.LoadChannels([]byte(asJSON))
	require.NoError(t, err, "JSON is YAML too")
	assert.Equal(t, logistics.LabelTemplate, chs[0].Capabilities.Label)
}

func TestLoadChannelsRefusesWithEveryProblemLocated(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"not YAML", func(string) string { return "channels: [" }, []string{"not YAML"}},
		{"empty file", func(string) string { return "" }, []string{"file"}},
		{"unknown field", func(s string) string { return strings.Replace(s, "ddp: true", "ddp: true\n      colour: red", 1) },
			[]string{"channels[0].capabilities", "colour"}},
		{"bad enum", func(s string) string { return strings.Replace(s, "label: api", "label: fax", 1) },
			[]string{"channels[0].capabilities.label"}},
		{"lower-case country", func(s string) string { return strings.Replace(s, "origins: [CN]", "origins: [cn]", 1) },
			[]string{"channels[1].origins[0]"}},
		{"missing required", func(s string) string { return strings.Replace(s, "    estimated_days: 9\n", "", 1) },
			[]string{"channels[1]", "estimated_days"}},
		{"float amount", func(s string) string { return strings.Replace(s, `base: "18.00"`, "base: 18.0", 1) },
			[]string{"channels[0].tariff.base"}},
		{"partner without hand-off", func(s string) string {
			return strings.Replace(s, "last_mile: partner_handoff", "last_mile: own", 1)
		}, []string{"channels[1].capabilities"}},
		{"manifest without cut-off", func(s string) string { return strings.Replace(s, `      cutoff: "17:30"`+"\n", "", 1) },
			[]string{"channels[1].capabilities", "cutoff"}},
		{"bad cut-off time", func(s string) string { return strings.Replace(s, `"17:30"`, `"25:00"`, 1) },
			[]string{"channels[1].capabilities.cutoff"}},
		{"unknown time zone", func(s string) string { return strings.Replace(s, "Asia/Shanghai", "Mars/Olympus", 1) },
			[]string{"channels[1] (mm_consol/standard).capabilities.cutoff_zone"}},
		{"unknown currency", func(s string) string { return strings.Replace(s, "currency: USD", "currency: XYZ", 1) },
			[]string{"channels[0] (zz_express/express).tariff.currency"}},
		{"bad duration", func(s string) string { return strings.Replace(s, "void_window: 24h", "void_window: 1d", 1) },
			[]string{"channels[0].capabilities.void_window"}},
		{"hand-off to itself", func(s string) string {
			return strings.Replace(s, "last_mile_partner: zz_express", "last_mile_partner: mm_consol", 1)
		},
			[]string{"cannot hand over to itself"}},
		{"a lane published twice", func(s string) string { return strings.Replace(s, "service: standard", "service: express", 1) + "" },
			[]string{}},
		{"two problems at once", func(s string) string {
			return strings.Replace(strings.Replace(s, "label: api", "label: fax", 1), "tracking: none", "tracking: carrier-pigeon", 1)
		}, []string{"channels[0].capabilities.label", "channels[1].capabilities.tracking"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := carriers.LoadChannels([]byte(tt.edit(validChannels)))
			if len(tt.want) == 0 {
				require.NoError(t, err, "different carriers may share a service name")
				return
			}
			var ce *carriers.ConfigError
			require.ErrorAs(t, err, &ce)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	dup := validChannels + `
  - carrier: zz_express
    service: express
    type: courier
    destinations: [FR]
    estimated_days: 3
    capabilities: {label: api, tracking: push, customs: broker, last_mile: own}
`
	_, err := carriers.LoadChannels([]byte(dup))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "channels[0] and channels[2]: zz_express/express is published twice for any origin to *")
}

func TestChannelsSchemaIsPublished(t *testing.T) {
	on, err := os.ReadFile("channels.schema.json")
	require.NoError(t, err)
	assert.Equal(t, on, carriers.ChannelsSchema)
	assert.Contains(t, string(carriers.ChannelsSchema), `"$schema": "https://json-schema.org/draft/2020-12/schema"`)
}

func TestConfiguredRegistry(t *testing.T) {
	chs, err := carriers.LoadChannels([]byte(validChannels))
	require.NoError(t, err)
	express := &fakeCarrier{code: "zz_express", channels: []logistics.Channel{channel("zz_express", "other", 1, []string{"US"}, nil)}}
	consol := &fakeCarrier{code: "mm_consol"}

	r, err := carriers.NewConfiguredRegistry(chs, express, consol)
	require.NoError(t, err)
	got := r.Channels()
	assert.Equal(t, chs, got, "the file's channels replace what adapters publish")
	got[0].Destinations[0] = "XX"
	assert.Equal(t, "*", r.Channels()[0].Destinations[0], "callers get copies")

	_, err = carriers.NewConfiguredRegistry(chs, express)
	var ce *carriers.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Contains(t, err.Error(), `channels[1]: carrier "mm_consol" has no adapter (known: zz_express)`)
}
