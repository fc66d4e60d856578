package carriers

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bojanz/currency"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/shopspring/decimal"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"gopkg.in/yaml.v3"

	"github.com/crossdock/crossdock/logistics"
)

// ChannelsSchema is the JSON Schema (draft 2020-12) of a channels file. It is
// published so that editors and CI can check a file before it is deployed.
//
//go:embed channels.schema.json
var ChannelsSchema []byte

// ConfigError lists every problem of a channels file, each naming where it
// is ("channels[2].capabilities.label: ..."), so ops can fix a file in one go.
type ConfigError struct {
	Problems []string
}

func (e *ConfigError) Error() string {
	return "invalid channels file: " + strings.Join(e.Problems, "; ")
}

// channelFile is a channels file as written: durations and amounts are
// strings so that a file reads as people write it ("24h", "9.50").
type channelFile struct {
	Channels []channelDoc `json:"channels"`
}

type channelDoc struct {
	Carrier       string        `json:"carrier"`
	Service       string        `json:"service"`
	Type          string        `json:"type"`
	Origins       []string      `json:"origins"`
	Destinations  []string      `json:"destinations"`
	EstimatedDays int           `json:"estimated_days"`
	Tariff        *tariffDoc    `json:"tariff"`
	Capabilities  capabilityDoc `json:"capabilities"`
}

type tariffDoc struct {
	Currency string `json:"currency"`
	Base     string `json:"base"`
	PerKg    string `json:"per_kg"`
}

type capabilityDoc struct {
	Label              string   `json:"label"`
	Tracking           string   `json:"tracking"`
	Customs            string   `json:"customs"`
	LastMile           string   `json:"last_mile"`
	LastMilePartner    string   `json:"last_mile_partner"`
	VoidWindow         string   `json:"void_window"`
	AddressChange      bool     `json:"address_change"`
	Intercept          bool     `json:"intercept"`
	Pickup             bool     `json:"pickup"`
	DDP                bool     `json:"ddp"`
	DangerousGoods     []string `json:"dangerous_goods"`
	TaxIDsRequired     []string `json:"tax_ids_required"`
	RateLimitPerMinute int      `json:"rate_limit_per_minute"`
	MaxWeightGrams     int      `json:"max_weight_grams"`
	Cutoff             string   `json:"cutoff"`
	CutoffZone         string   `json:"cutoff_zone"`
}

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(ChannelsSchema))
	if err != nil {
		return nil, fmt.Errorf("channels schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("channels.schema.json", doc); err != nil {
		return nil, fmt.Errorf("channels schema: %w", err)
	}
	return c.Compile("channels.schema.json")
})

// LoadChannels reads a channels file (YAML, or JSON, which is YAML too),
// checks it against ChannelsSchema and then against the rules a schema
// cannot say (durations, currencies, time zones, no two channels of one
// carrier and service on the same lane), and returns the channels in file
// order. Every problem is reported at once in a *ConfigError.
func LoadChannels(data []byte) ([]logistics.Channel, error) {
	var raw any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, &ConfigError{Problems: []string{"not YAML: " + err.Error()}}
	}
	// Through JSON, so the validator and the decoder see JSON's types only
	// (YAML's timestamps, binary and non-string keys are refused here).
	asJSON, err := json.Marshal(normaliseYAML(raw))
	if err != nil {
		return nil, &ConfigError{Problems: []string{"not representable as JSON: " + err.Error()}}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(asJSON))
	if err != nil {
		return nil, &ConfigError{Problems: []string{err.Error()}}
	}
	schema, err := compiledSchema()
	if err != nil {
		return nil, err
	}
	if err := schema.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return nil, &ConfigError{Problems: schemaProblems(ve)}
		}
		return nil, &ConfigError{Problems: []string{err.Error()}}
	}
	var file channelFile
	dec := json.NewDecoder(bytes.NewReader(asJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, &ConfigError{Problems: []string{err.Error()}}
	}
	var problems []string
	out := make([]logistics.Channel, 0, len(file.Channels))
	for i, doc := range file.Channels {
		ch, errs := doc.channel()
		for _, e := range errs {
			problems = append(problems, fmt.Sprintf("channels[%d] (%s/%s).%s", i, doc.Carrier, doc.Service, e))
		}
		out = append(out, ch)
	}
	problems = append(problems, overlaps(out)...)
	if len(problems) > 0 {
		return nil, &ConfigError{Problems: problems}
	}
	return out, nil
}

func (d channelDoc) channel() (logistics.Channel, []string) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	c := d.Capabilities
	caps := logistics.Capabilities{
		Label: logistics.LabelMode(c.Label), Tracking: logistics.TrackingMode(c.Tracking),
		Customs: logistics.CustomsPath(c.Customs), LastMile: logistics.LastMile(c.LastMile),
		LastMilePartner: c.LastMilePartner, AddressChange: c.AddressChange, Intercept: c.Intercept,
		Pickup: c.Pickup, DDP: c.DDP, TaxIDsRequired: c.TaxIDsRequired,
		RateLimitPerMinute: c.RateLimitPerMinute, MaxWeightGrams: c.MaxWeightGrams,
		Cutoff: c.Cutoff, CutoffZone: c.CutoffZone,
	}
	for _, dg := range c.DangerousGoods {
		caps.DangerousGoods = append(caps.DangerousGoods, logistics.DangerousGoods(dg))
	}
	if c.VoidWindow != "" {
		v, err := time.ParseDuration(c.VoidWindow)
		if err != nil || v <= 0 {
			bad("capabilities.void_window: %q is not a positive duration such as 24h", c.VoidWindow)
		}
		caps.VoidWindow = v
	}
	if c.CutoffZone != "" {
		if _, err := time.LoadLocation(c.CutoffZone); err != nil {
			bad("capabilities.cutoff_zone: %q is not an IANA time zone", c.CutoffZone)
		}
	}
	if c.LastMilePartner != "" && c.LastMilePartner == d.Carrier {
		bad("capabilities.last_mile_partner: a carrier cannot hand over to itself")
	}
	ch := logistics.Channel{
		Carrier: d.Carrier, Service: d.Service, Type: logistics.ChannelType(d.Type),
		Origins: d.Origins, Destinations: d.Destinations, EstimatedDays: d.EstimatedDays, Capabilities: caps,
	}
	if t := d.Tariff; t != nil {
		if !currency.IsValid(t.Currency) {
			bad("tariff.currency: %q is not an ISO 4217 currency", t.Currency)
		}
		ch.Tariff.Currency = t.Currency
		for _, f := range []struct {
			name, text string
			into       *decimal.Decimal
		}{{"base", t.Base, &ch.Tariff.Base}, {"per_kg", t.PerKg, &ch.Tariff.PerKg}} {
			v, err := decimal.NewFromString(f.text)
			if err != nil {
				bad("tariff.%s: %q is not a decimal amount", f.name, f.text)
			}
			*f.into = v
		}
	}
	return ch, problems
}

// overlaps reports two channels of the same carrier and service that could
// both carry one lane: the planner and the carrier's own booking would not
// know which one is meant.
func overlaps(chs []logistics.Channel) []string {
	var problems []string
	for i := range chs {
		for j := i + 1; j < len(chs); j++ {
			a, b := chs[i], chs[j]
			if a.Carrier != b.Carrier || a.Service != b.Service {
				continue
			}
			if lane, ok := sharedLane(a, b); ok {
				problems = append(problems, fmt.Sprintf("channels[%d] and channels[%d]: %s/%s is published twice for %s",
					i, j, a.Carrier, a.Service, lane))
			}
		}
	}
	return problems
}

func sharedLane(a, b logistics.Channel) (string, bool) {
	origin := "any origin"
	if len(a.Origins) > 0 && len(b.Origins) > 0 {
		i := slices.IndexFunc(a.Origins, func(o string) bool { return slices.Contains(b.Origins, o) })
		if i < 0 {
			return "", false
		}
		origin = a.Origins[i]
	}
	for _, d := range a.Destinations {
		if d == "*" || slices.Contains(b.Destinations, d) || slices.Contains(b.Destinations, "*") {
			return origin + " to " + d, true
		}
	}
	return "", false
}

// schemaProblems flattens the validator's tree into one line per failed
// leaf, located like "channels[2].capabilities.label".
func schemaProblems(ve *jsonschema.ValidationError) []string {
	printer := message.NewPrinter(language.English)
	seen := map[string]bool{}
	var problems []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			p := location(e.InstanceLocation) + ": " + e.ErrorKind.LocalizedString(printer)
			if !seen[p] {
				seen[p] = true
				problems = append(problems, p)
			}
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(problems)
	return problems
}

// location turns an instance location (["channels", "2", "capabilities"])
// into the dotted form people read ("channels[2].capabilities"); the root
// is "file".
func location(parts []string) string {
	if len(parts) == 0 {
		return "file"
	}
	var b strings.Builder
	for _, part := range parts {
		if _, err := strconv.Atoi(part); err == nil {
			b.WriteString("[" + part + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteString(".")
		}
		b.WriteString(part)
	}
	return b.String()
}

// normaliseYAML turns yaml.v3's generic values into JSON's: maps keyed by
// strings only (a non-string key is kept as its text, so the schema's
// additionalProperties refuses it by name).
func normaliseYAML(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normaliseYAML(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normaliseYAML(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normaliseYAML(e)
		}
		return t
	}
	return v
}
