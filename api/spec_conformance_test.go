package api

// The conformance test: requests built from openapi.json by walking its
// schemas, never listed by hand, against the real handlers. Every request
// the spec allows (its examples and their valid variants: an optional field
// left out, each enum value, each bound) must be accepted; every request it
// forbids (a required field missing, a wrong type, a value outside an enum,
// a const or a pattern, a bound crossed, a bad date, too many items, ...)
// must be refused with 400 or 422 in contract.md's error shape, naming the
// field, and must change nothing. kin-openapi's own validator (not the
// server's compiled schemas) decides what the spec allows, so a spec change
// that a handler does not follow fails here.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/store/storetest"
)

// specFixture says how to send a request to one operation: a fresh server
// for each request, the URL path, headers for a body, and a check that a
// refused request changed nothing.
type specFixture struct {
	setup func(t *testing.T) (h *harness, path string, header func(body []byte) http.Header, unchanged func(t *testing.T))
	// csv: the body is the media type's text/csv example, sent as is.
	csv bool
	// own are header parameters the fixture sets itself (a signature):
	// without them the answer is 401, tested with the signatures.
	own []string
}

// fakeUnchanged checks that the fake store saw no write and Temporal no call.
func fakeUnchanged(h *harness) func(t *testing.T) {
	return func(t *testing.T) {
		writes, _ := h.store.changes()
		assert.Empty(t, writes, "a refused request wrote to the store")
		assert.Empty(t, h.temporal.recorded(), "a refused request reached Temporal")
	}
}

func withHeader(base http.Header) func([]byte) http.Header {
	return func([]byte) http.Header { return base.Clone() }
}

// endpointsFixture serves the webhook-endpoint routes over a fresh SQLite
// store; pathFor builds the URL from an endpoint created beforehand.
func endpointsFixture(pathFor func(endpointID string) string) specFixture {
	return specFixture{setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		st := storetest.SQLite(t)
		h, _ := newEndpointHarness(t, st)
		rec := h.createEndpoint(merchantKeyDemo, "https://hooks.example.com/existing", "order.stage_changed")
		require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		existing := decodeInto[endpointJSON](t, rec)
		header := bearer(merchantKeyDemo)
		header.Set("Content-Type", "application/json")
		unchanged := func(t *testing.T) {
			list, _, err := st.ListWebhookEndpoints(context.Background(), "m_demo", 200, "")
			require.NoError(t, err)
			assert.Len(t, list, 1, "a refused request created an endpoint")
		}
		return h, pathFor(existing.ID), withHeader(header), unchanged
	}}
}

// specFixtures covers every operation whose parameters or JSON body the
// spec constrains; the test fails for one it does not know.
var specFixtures = map[string]specFixture{
	"orderWebhook": {own: []string{"webhook-id", "webhook-timestamp", "webhook-signature"}, setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := newHarness(t)
		return h, "/v1/webhooks/orders", func(body []byte) http.Header { return signed(t, secretOld, "wh-spec", h.now, body) }, fakeUnchanged(h)
	}},
	"landedCost": {setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := newHarness(t, func(c *Config) { c.Quoter = &fakeQuoter{quote: sampleQuote()} })
		header := bearer(merchantKeyDemo)
		header.Set("Content-Type", "application/json")
		return h, "/v1/landed-cost", withHeader(header), fakeUnchanged(h)
	}},
	"listShipments": {setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := newHarness(t)
		return h, "/v1/shipments", withHeader(bearer(merchantKeyDemo)), fakeUnchanged(h)
	}},
	"listOpsOrders": {setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := newHarness(t)
		return h, "/v1/ops/orders", withHeader(bearer(opsTokenTest)), fakeUnchanged(h)
	}},
	"opsAction": {setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := newHarness(t)
		return h, "/v1/ops/orders/m_demo/TT-1/switch-carrier", withHeader(opsJSON(nil)), fakeUnchanged(h)
	}},
	"postTrackingScans": {setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := sandboxHarness(t)
		return h, "/v1/ops/tracking/scans", withHeader(opsJSON(nil)), fakeUnchanged(h)
	}},
	"importTracking": {csv: true, setup: func(t *testing.T) (*harness, string, func([]byte) http.Header, func(*testing.T)) {
		h := sandboxHarness(t)
		header := bearer(opsTokenTest)
		header.Set("Content-Type", "text/csv")
		return h, "/v1/ops/tracking/import", withHeader(header), fakeUnchanged(h)
	}},
	"createWebhookEndpoint": endpointsFixture(func(string) string { return "/v1/webhook-endpoints" }),
	"listWebhookEndpoints":  endpointsFixture(func(string) string { return "/v1/webhook-endpoints" }),
	"listWebhookDeliveries": endpointsFixture(func(id string) string { return "/v1/webhook-endpoints/" + id + "/deliveries" }),
}

// specRequest is one generated request: query and header parameters and a
// JSON body (nil: none), what it changed from a valid request, and whether
// the spec allows it.
type specRequest struct {
	name   string
	query  url.Values
	header map[string]string
	body   any
	// field is the parameter or body field the change is about.
	field string
	valid bool
}

func TestRequestsFollowTheSpec(t *testing.T) {
	doc := loadSpec(t)
	covered := map[string]bool{}
	total, refused := 0, 0
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			reqs := specRequests(t, op, specFixtures[op.OperationID].own)
			if len(reqs) == 0 {
				continue
			}
			fx, ok := specFixtures[op.OperationID]
			require.True(t, ok, "%s %s: the spec constrains its request; add a fixture to specFixtures", method, path)
			covered[op.OperationID] = true
			var csvBody []byte
			if fx.csv {
				csvBody = []byte(op.RequestBody.Value.Content.Get("text/csv").Example.(string))
			}
			for _, r := range reqs {
				total++
				if !r.valid {
					refused++
				}
				t.Run(op.OperationID+"/"+r.name, func(t *testing.T) {
					h, target, header, unchanged := fx.setup(t)
					body := csvBody
					if r.body != nil {
						var err error
						body, err = json.Marshal(r.body)
						require.NoError(t, err)
					}
					hdr := header(body)
					for k, v := range r.header {
						hdr.Set(k, v)
					}
					if len(r.query) > 0 {
						target += "?" + r.query.Encode()
					}
					rec := h.do(method, target, body, hdr)
					if r.valid {
						assert.Less(t, rec.Code, 300, "the spec allows this request: %s", rec.Body.String())
						return
					}
					require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, rec.Code,
						"the spec forbids this request: %s", rec.Body.String())
					e := decodeError(t, rec)
					assert.Equal(t, "invalid_request", e.Error.Code)
					named := false
					for _, d := range e.Error.Details {
						assert.NotEmpty(t, d.Problem, d.Field)
						named = named || related(d.Field, r.field)
					}
					assert.True(t, named, "no details entry about %s: %s", r.field, rec.Body.String())
					unchanged(t)
					if strings.Contains(h.logs.String(), "request refused by the API spec only") {
						// Not a failure: the spec is the first line. It does
						// show where a handler has no check (and no message
						// of its own) for a rule of the spec.
						t.Logf("refused by the spec only: %s", rec.Body.String())
					}
				})
			}
		}
	}
	for id := range specFixtures {
		assert.True(t, covered[id], "fixture %s matches no operation that the spec constrains", id)
	}
	// The walk must have found something to refuse; a spec whose examples
	// went missing would otherwise pass with nothing tested.
	assert.Greater(t, refused, 100, "only %d of %d generated requests are ones the spec forbids", refused, total)
	t.Logf("%d requests generated from the spec, %d of them forbidden", total, refused)
}

// related reports whether a details field is the changed field, inside it
// or around it ("data.ship_to" missing may be named "data.ship_to.name").
func related(got, want string) bool {
	in := func(child, parent string) bool {
		return child == parent || strings.HasPrefix(child, parent+".") || strings.HasPrefix(child, parent+"[")
	}
	return in(got, want) || in(want, got)
}

// specRequests generates the requests of one operation from its spec:
// the examples, then one change at a time to each example and to the
// parameters, each judged by kin-openapi against the spec.
func specRequests(t *testing.T, op *openapi3.Operation, own []string) []specRequest {
	var params []*openapi3.Parameter
	for _, ref := range op.Parameters {
		if p := ref.Value; (p.In == openapi3.ParameterInQuery || p.In == openapi3.ParameterInHeader) && !slices.Contains(own, p.Name) && paramConstrained(p) {
			params = append(params, p)
		}
	}
	var schema *openapi3.Schema
	var examples []string
	var exampleValues = map[string]any{}
	if rb := op.RequestBody; rb != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil && constrains(mt.Schema.Value) {
			schema = mt.Schema.Value
			for name, ex := range mt.Examples {
				examples = append(examples, name)
				exampleValues[name] = ex.Value.Value
			}
			sort.Strings(examples)
			require.NotEmpty(t, examples, "%s: a request body the spec constrains needs an example", op.OperationID)
		}
	}
	if schema == nil && len(params) == 0 {
		return nil
	}

	// The base request: every required parameter with a valid value.
	baseQuery, baseHeader := url.Values{}, map[string]string{}
	for _, p := range params {
		if !p.Required {
			continue
		}
		v, ok := validParamValue(p)
		require.True(t, ok, "%s: required parameter %s needs an example, a const or an enum", op.OperationID, p.Name)
		setParam(p, baseQuery, baseHeader, v)
	}
	var body any
	if schema != nil {
		body = exampleValues[examples[0]]
	}
	var out []specRequest
	add := func(r specRequest) {
		if r.query == nil {
			r.query = baseQuery
		}
		if r.header == nil {
			r.header = baseHeader
		}
		out = append(out, r)
	}
	for _, name := range examples {
		require.NoError(t, visit(schema, exampleValues[name]), "%s: example %s does not follow the spec", op.OperationID, name)
		add(specRequest{name: "example " + name, body: exampleValues[name], valid: true})
	}
	for _, name := range examples {
		example := exampleValues[name]
		for _, m := range mutations(schema, example, nil) {
			changed := m.apply(example)
			add(specRequest{name: fmt.Sprintf("%s %s %s", name, jsonPointer(m.loc), m.what), body: changed,
				field: dotted(m.loc), valid: visit(schema, changed) == nil})
		}
	}
	for _, p := range params {
		for _, pm := range paramMutations(p) {
			q := cloneValues(baseQuery)
			hd := map[string]string{}
			for k, v := range baseHeader {
				hd[k] = v
			}
			delete(q, p.Name)
			delete(hd, p.Name)
			valid := !p.Required
			if pm.present {
				setParam(p, q, hd, pm.raw)
				valid = paramValid(p, pm.raw)
			}
			add(specRequest{name: fmt.Sprintf("%s %s %s", p.In, p.Name, pm.what), query: q, header: hd, body: body,
				field: p.Name, valid: valid})
		}
	}
	return out
}

// constrains reports whether a schema says anything a value can break.
func constrains(s *openapi3.Schema) bool {
	return s.Type != nil || len(s.OneOf) > 0 || len(s.AnyOf) > 0 || len(s.AllOf) > 0 || len(s.Properties) > 0
}

func visit(s *openapi3.Schema, v any) error {
	return s.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.MultiErrors())
}

// mutation changes one value of a JSON document: deletes it or sets it.
type mutation struct {
	loc  []string
	what string
	del  bool
	val  any
}

func (m mutation) apply(doc any) any {
	b, _ := json.Marshal(doc)
	var root any
	_ = json.Unmarshal(b, &root)
	if len(m.loc) == 0 {
		return m.val
	}
	parent := root
	for _, tok := range m.loc[:len(m.loc)-1] {
		parent = child(parent, tok)
	}
	last := m.loc[len(m.loc)-1]
	switch p := parent.(type) {
	case map[string]any:
		if m.del {
			delete(p, last)
		} else {
			p[last] = m.val
		}
	case []any:
		i, _ := strconv.Atoi(last)
		p[i] = m.val
	}
	return root
}

func child(v any, tok string) any {
	switch v := v.(type) {
	case map[string]any:
		return v[tok]
	case []any:
		i, _ := strconv.Atoi(tok)
		return v[i]
	}
	return nil
}

// mutations walks schema and value together and proposes changes, valid
// or not: kin-openapi decides which afterwards.
func mutations(s *openapi3.Schema, v any, loc []string) []mutation {
	at := func(what string, val any) mutation { return mutation{loc: loc, what: what, val: val} }
	var out []mutation
	if len(s.OneOf) > 0 || len(s.AnyOf) > 0 {
		// Follow the alternative the value is.
		for _, alt := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
			if visit(alt.Value, v) == nil {
				out = append(out, mutations(alt.Value, v, loc)...)
				break
			}
		}
	}
	for _, part := range s.AllOf {
		out = append(out, mutations(part.Value, v, loc)...)
	}
	if s.Type != nil {
		out = append(out, at("of another type", wrongType(s.Type.Slice())))
	}
	for _, e := range s.Enum {
		out = append(out, at(fmt.Sprintf("= %v", e), e))
	}
	if len(s.Enum) > 0 {
		out = append(out, at("outside the enum", "not_a_listed_value"))
	}
	if s.Const != nil {
		out = append(out, at("other than the const", "not_the_const"))
	}
	if s.Pattern != "" {
		if bad, ok := notMatching(s.Pattern); ok {
			out = append(out, at("not matching the pattern", bad))
		}
	}
	if s.Min != nil {
		out = append(out, at("at the minimum", *s.Min), at("under the minimum", *s.Min-1))
	}
	if s.Max != nil {
		out = append(out, at("at the maximum", *s.Max), at("over the maximum", *s.Max+1))
	}
	if s.MinLength > 0 {
		out = append(out, at("shorter than minLength", strings.Repeat("a", int(s.MinLength)-1)))
	}
	if s.MaxLength != nil {
		out = append(out, at("longer than maxLength", strings.Repeat("a", int(*s.MaxLength)+1)))
	}
	// Formats kin-openapi asserts (it takes any text for uri: the URL
	// rules of webhook endpoints are the handler's, in the description).
	switch s.Format {
	case "date-time", "date":
		out = append(out, at("not a "+s.Format, "not a "+s.Format))
	}
	switch v := v.(type) {
	case map[string]any:
		names := make([]string, 0, len(s.Properties))
		for name := range s.Properties {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			pv, present := v[name]
			if !present {
				continue
			}
			ploc := append(append([]string{}, loc...), name)
			out = append(out, mutation{loc: ploc, what: "left out", del: true})
			out = append(out, mutations(s.Properties[name].Value, pv, ploc)...)
		}
	case []any:
		if s.MinItems > 0 {
			out = append(out, at("with fewer than minItems", []any{}))
		}
		if s.MaxItems != nil && len(v) > 0 && *s.MaxItems <= 1000 {
			many := make([]any, *s.MaxItems+1)
			for i := range many {
				many[i] = v[0]
			}
			out = append(out, at("with more than maxItems", many))
		}
		if len(v) > 0 && s.Items != nil {
			out = append(out, mutations(s.Items.Value, v[0], append(append([]string{}, loc...), "0"))...)
		}
	}
	return out
}

// wrongType is a value of none of the given types.
func wrongType(types []string) any {
	for _, candidate := range []any{"text", 12345.0, true, map[string]any{}, []any{}} {
		ok := true
		for _, t := range types {
			switch candidate.(type) {
			case string:
				ok = ok && t != "string"
			case float64:
				ok = ok && t != "number" && t != "integer"
			case bool:
				ok = ok && t != "boolean"
			case map[string]any:
				ok = ok && t != "object"
			case []any:
				ok = ok && t != "array"
			}
		}
		if ok {
			return candidate
		}
	}
	return nil
}

// notMatching is a short string the pattern refuses.
func notMatching(pattern string) (string, bool) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "", false
	}
	for _, candidate := range []string{"", "!", "a b", "zz", "ZZZZ", "0", "-x"} {
		if !re.MatchString(candidate) {
			return candidate, true
		}
	}
	return "", false
}

// paramMutation is one way to send a parameter: absent, or this raw text.
type paramMutation struct {
	what    string
	present bool
	raw     string
}

// paramConstrained reports whether the spec says anything about p that a
// request can break.
func paramConstrained(p *openapi3.Parameter) bool {
	s := p.Schema.Value
	return p.Required || len(s.Enum) > 0 || s.Const != nil || s.Pattern != "" || s.Min != nil || s.Max != nil ||
		s.MinLength > 0 || s.MaxLength != nil || s.Format != "" || (s.Type != nil && !s.Type.Is("string"))
}

func paramMutations(p *openapi3.Parameter) []paramMutation {
	out := []paramMutation{{what: "absent"}}
	s := p.Schema.Value
	if v, ok := validParamValue(p); ok {
		out = append(out, paramMutation{what: "= " + v, present: true, raw: v})
	}
	for _, e := range s.Enum {
		out = append(out, paramMutation{what: fmt.Sprintf("= %v", e), present: true, raw: fmt.Sprint(e)})
	}
	if len(s.Enum) > 0 || s.Const != nil {
		out = append(out, paramMutation{what: "outside the enum", present: true, raw: "not_a_listed_value"})
	}
	out = append(out, paramMutation{what: "empty", present: true, raw: ""})
	if s.Type != nil && s.Type.Is("integer") {
		out = append(out, paramMutation{what: "not an integer", present: true, raw: "ten"})
	}
	if s.Pattern != "" {
		if bad, ok := notMatching(s.Pattern); ok {
			out = append(out, paramMutation{what: "not matching the pattern", present: true, raw: bad})
		}
	}
	for _, bound := range []*float64{s.Min, s.Max} {
		if bound != nil {
			out = append(out, paramMutation{what: "at a bound", present: true, raw: strconv.Itoa(int(*bound))})
		}
	}
	if s.Min != nil {
		out = append(out, paramMutation{what: "under the minimum", present: true, raw: strconv.Itoa(int(*s.Min) - 1)})
	}
	if s.Max != nil {
		out = append(out, paramMutation{what: "over the maximum", present: true, raw: strconv.Itoa(int(*s.Max) + 1)})
	}
	if s.MinLength > 0 {
		out = append(out, paramMutation{what: "shorter than minLength", present: true, raw: strings.Repeat("a", int(s.MinLength)-1)})
	}
	if s.MaxLength != nil {
		out = append(out, paramMutation{what: "longer than maxLength", present: true, raw: strings.Repeat("a", int(*s.MaxLength)+1)})
	}
	if s.Format == "date-time" {
		out = append(out, paramMutation{what: "not a date-time", present: true, raw: "yesterday"})
	}
	return out
}

// validParamValue is a value the spec gives for p: its example, const,
// first enum value or default.
func validParamValue(p *openapi3.Parameter) (string, bool) {
	s := p.Schema.Value
	switch {
	case p.Example != nil:
		return fmt.Sprint(p.Example), true
	case s.Const != nil:
		return fmt.Sprint(s.Const), true
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[0]), true
	case s.Default != nil:
		return fmt.Sprint(s.Default), true
	}
	return "", false
}

// paramValid asks kin-openapi whether raw is a valid value of p.
func paramValid(p *openapi3.Parameter, raw string) bool {
	s := p.Schema.Value
	if raw == "" && p.AllowEmptyValue {
		return true
	}
	var v any = raw
	if s.Type != nil && s.Type.Is("integer") {
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil || n != math.Trunc(n) {
			return false
		}
		v = n
	}
	return visit(s, v) == nil
}

func setParam(p *openapi3.Parameter, q url.Values, h map[string]string, v string) {
	if p.In == openapi3.ParameterInQuery {
		q.Set(p.Name, v)
		return
	}
	h[p.Name] = v
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func jsonPointer(loc []string) string { return "/" + strings.Join(loc, "/") }

// dotted is the API's field path of a location: data.items[0].hs_code.
func dotted(loc []string) string {
	var b strings.Builder
	for _, tok := range loc {
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

func TestSpecChecksKeepHandlerMessagesAndComeAfterTheSignature(t *testing.T) {
	body := orderCreatedBody(t, func(d map[string]any) {
		it := d["items"].([]any)[0].(map[string]any)
		it["hs_code"] = "12"                                               // both refuse it: the handler's words stay
		it["description"] = "gift"                                         // only the handler can say this
		it["unit_price"] = map[string]any{"amount": "", "currency": "GBP"} // only the spec refuses it
	})
	h := newHarness(t)
	rec := h.postOrder("wh-merge", body)
	require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	problems := map[string]string{}
	for _, d := range decodeError(t, rec).Error.Details {
		problems[d.Field] = d.Problem
	}
	assert.Equal(t, map[string]string{
		"data.items[0].hs_code":           "must be 6 to 10 digits",
		"data.items[0].description":       `is too vague for customs; say what the item is, e.g. "cotton T-shirt"`,
		"data.items[0].unit_price.amount": `must match the pattern ^-?[0-9]+(\.[0-9]+)?$`,
	}, problems)

	// A body the spec refuses under a bad signature is a 401, and nothing
	// about the body is told.
	header := signed(t, secretOld, "wh-bad-sig", h.now, body)
	header.Set("webhook-signature", "v1,"+strings.Repeat("A", 44))
	rec = h.do(http.MethodPost, "/v1/webhooks/orders", body, header)
	require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
	assert.Empty(t, decodeError(t, rec).Error.Details)
	fakeUnchanged(h)(t)
}
