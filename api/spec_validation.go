package api

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/crossdock/crossdock/logistics"
)

// Request validation follows openapi.json. Every handler validates its
// input by hand first, with messages written for people ("must be 6 to 10
// digits") and the rules no schema can say (a vague customs description, an
// unknown warehouse); then conform checks the same request against the
// operation's parameters and JSON request body in the spec and adds a
// problem for every field the spec refuses that the handler did not already
// name. A request the handler would let through but the spec forbids is
// therefore refused too, in the same 422 and with one details entry per
// field, so handler and spec cannot silently drift apart.
//
// The spec is loaded with kin-openapi (the document model: operations,
// parameters, references) and its schemas are compiled once, at first use,
// by santhosh-tekuri/jsonschema, the JSON Schema 2020-12 validator that
// kin-openapi itself uses for OpenAPI 3.1. Compiling once matters: kin's
// openapi3filter recompiles a 3.1 schema on every request (about 5 ms for
// the order webhook) and falls back to its 3.0 validator for schemas
// without 2020-12 keywords, which reports problems in another shape.

// specOperation is what conform needs of one operation of the spec.
type specOperation struct {
	params []specParam
	// body is the compiled application/json request body schema; nil when
	// the operation takes no JSON body.
	body         *jsonschema.Schema
	bodyRequired bool
}

// specParam is one query or header parameter. Path parameters are left to
// the handlers: a path that names nothing is a 404, not a field problem.
type specParam struct {
	name     string
	in       string
	required bool
	// allowEmpty: an empty query value counts as absent, as the handlers
	// (gin's c.Query) have always read it.
	allowEmpty bool
	// integer and boolean values are converted from their text first, as
	// the spec's default (form, simple) styles serialise them.
	typ    string
	schema *jsonschema.Schema
}

// specOperations maps "METHOD /gin/:path" to its operation, built once from
// the embedded spec.
var specOperations = sync.OnceValues(func() (map[string]*specOperation, error) {
	return compileSpec(openAPISpec)
})

// compileSpec loads an OpenAPI 3.1 document and compiles the request
// schemas of every operation, keyed by method and gin route.
func compileSpec(spec []byte) (map[string]*specOperation, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec))
	if err != nil {
		return nil, fmt.Errorf("read openapi.json: %w", err)
	}
	const base = "urn:crossdock:openapi.json"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(base, raw); err != nil {
		return nil, fmt.Errorf("openapi.json as a schema resource: %w", err)
	}
	compile := func(pointer string) (*jsonschema.Schema, error) {
		s, err := c.Compile(base + pointer)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", pointer, err)
		}
		return s, nil
	}
	ops := map[string]*specOperation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			at := "#/paths/" + pointerToken(path) + "/" + strings.ToLower(method)
			so := &specOperation{}
			params := []struct {
				refs openapi3.Parameters
				at   string
			}{{item.Parameters, "#/paths/" + pointerToken(path) + "/parameters"}, {op.Parameters, at + "/parameters"}}
			for _, group := range params {
				for i, ref := range group.refs {
					p := ref.Value
					if p == nil || (p.In != openapi3.ParameterInQuery && p.In != openapi3.ParameterInHeader) || p.Schema == nil {
						continue
					}
					loc := fmt.Sprintf("%s/%d/schema", group.at, i)
					if ref.Ref != "" {
						loc = ref.Ref + "/schema"
					}
					s, err := compile(loc)
					if err != nil {
						return nil, err
					}
					typ := ""
					if t := p.Schema.Value.Type; t != nil && len(t.Slice()) == 1 {
						typ = t.Slice()[0]
					}
					so.params = append(so.params, specParam{name: p.Name, in: p.In, required: p.Required,
						allowEmpty: p.AllowEmptyValue, typ: typ, schema: s})
				}
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					loc := at + "/requestBody/content/application~1json/schema"
					if rb.Ref != "" {
						loc = rb.Ref + "/content/application~1json/schema"
					}
					if so.body, err = compile(loc); err != nil {
						return nil, err
					}
					so.bodyRequired = rb.Value.Required
				}
			}
			ops[method+" "+ginPath(path)] = so
		}
	}
	return ops, nil
}

// pointerToken escapes a JSON Pointer reference token (RFC 6901).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

var specPathParam = regexp.MustCompile(`\{([A-Za-z_]+)\}`)

// ginPath turns "/v1/orders/{order_id}" into gin's "/v1/orders/:order_id".
func ginPath(path string) string { return specPathParam.ReplaceAllString(path, ":$1") }

// conform checks the request against its operation in the spec and folds
// the spec's problems into err, the handler's own verdict: a 422 with field
// problems gains the fields the spec refuses that it does not already name;
// nil becomes a 422 when the spec refuses something. Any other error (a
// 400 for malformed JSON, a 404, a 503) is returned as is. body is the JSON
// body the handler read (nil for none).
func (s *Server) conform(c *gin.Context, body []byte, err error) error {
	var handler *logistics.Error
	if err != nil {
		var ae *apiError
		if !errors.As(err, &handler) || handler.Code != logistics.CodeInvalid || len(handler.Details) == 0 ||
			(errors.As(err, &ae) && ae.status != 0) {
			return err
		}
	}
	problems := s.spec[c.Request.Method+" "+c.FullPath()].check(c.Request, body)
	problems = slices.DeleteFunc(problems, func(p logistics.FieldProblem) bool {
		return handler != nil && relatedToAny(p.Field, handler.Details)
	})
	if len(problems) == 0 {
		return err
	}
	if handler == nil {
		// The handler let it through: worth knowing, as it means the
		// handler is missing a check the spec has.
		s.log(c).Info("request refused by the API spec only", "route", c.FullPath(), "fields", fieldsOf(problems))
		return &logistics.Error{Code: logistics.CodeInvalid, Message: "the request is invalid", Details: problems}
	}
	merged := *handler
	merged.Details = append(slices.Clip(handler.Details), problems...)
	return &merged
}

func fieldsOf(problems []logistics.FieldProblem) []string {
	out := make([]string, len(problems))
	for i, p := range problems {
		out[i] = p.Field
	}
	return out
}

// relatedToAny reports whether field is, contains or lies inside a field
// the handler already named: the handler's words about that part of the
// request are kept and the spec's are not added.
func relatedToAny(field string, named []logistics.FieldProblem) bool {
	inside := func(child, parent string) bool {
		return child == parent || strings.HasPrefix(child, parent+".") || strings.HasPrefix(child, parent+"[")
	}
	for _, n := range named {
		if inside(field, n.Field) || inside(n.Field, field) || n.Field == "body" {
			return true
		}
	}
	return false
}

// check validates the request's query and header parameters and its JSON
// body; nil op (an operation with nothing to check) finds nothing.
func (op *specOperation) check(r *http.Request, body []byte) []logistics.FieldProblem {
	if op == nil {
		return nil
	}
	var problems []logistics.FieldProblem
	query := r.URL.Query()
	for _, p := range op.params {
		var raw string
		var present bool
		if p.in == openapi3.ParameterInQuery {
			var vs []string
			vs, present = query[p.name]
			if present && len(vs) > 0 {
				raw = vs[0]
			}
			present = present && !(raw == "" && p.allowEmpty)
		} else {
			vs := r.Header.Values(p.name)
			present = len(vs) > 0
			if present {
				raw = vs[0]
			}
		}
		if !present {
			if p.required {
				problems = append(problems, logistics.FieldProblem{Field: p.name, Problem: "is required"})
			}
			continue
		}
		var v any = raw
		switch p.typ {
		case openapi3.TypeInteger:
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				problems = append(problems, logistics.FieldProblem{Field: p.name, Problem: "must be an integer"})
				continue
			}
			v = n
		case openapi3.TypeBoolean:
			b, err := strconv.ParseBool(raw)
			if err != nil {
				problems = append(problems, logistics.FieldProblem{Field: p.name, Problem: "must be true or false"})
				continue
			}
			v = b
		}
		problems = append(problems, schemaProblems(p.schema, v, p.name)...)
	}
	if op.body == nil {
		return problems
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if op.bodyRequired {
			problems = append(problems, logistics.FieldProblem{Field: "body", Problem: "is required"})
		}
		return problems
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return append(problems, logistics.FieldProblem{Field: "body", Problem: "is not valid JSON"})
	}
	return append(problems, schemaProblems(op.body, v, "")...)
}

// schemaProblems validates v against s and names one problem per failing
// value, its field a dotted path under prefix ("data.items[0].hs_code").
func schemaProblems(s *jsonschema.Schema, v any, prefix string) []logistics.FieldProblem {
	err := s.Validate(v)
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return nil
	}
	var out []logistics.FieldProblem
	collectProblems(verr, prefix, &out)
	// A field refused by several keywords (type and pattern) is named once,
	// with its first problem.
	seen := map[string]bool{}
	return slices.DeleteFunc(out, func(p logistics.FieldProblem) bool {
		dup := seen[p.Field]
		seen[p.Field] = true
		return dup
	})
}

var englishPrinter = message.NewPrinter(language.English)

// collectProblems walks a validation error down to the keywords that
// failed. Of a oneOf or anyOf it follows the one alternative the request
// meant: the only one not refused by a const (the spec's discriminator,
// e.g. an order event's type).
func collectProblems(e *jsonschema.ValidationError, prefix string, out *[]logistics.FieldProblem) {
	field := jsonPath(prefix, e.InstanceLocation)
	add := func(problem string) { *out = append(*out, logistics.FieldProblem{Field: field, Problem: problem}) }
	switch k := e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		if len(e.Causes) == 0 {
			add("must match exactly one of the documented forms")
			return
		}
		var meant []*jsonschema.ValidationError
		var discriminators []*jsonschema.ValidationError
		for _, alt := range e.Causes {
			if c := firstConst(alt); c != nil {
				discriminators = append(discriminators, c)
			} else {
				meant = append(meant, alt)
			}
		}
		switch {
		case len(meant) == 1:
			collectProblems(meant[0], prefix, out)
		case len(meant) == 0 && sameLocation(discriminators):
			var wants []string
			for _, d := range discriminators {
				wants = append(wants, fmt.Sprint(d.ErrorKind.(*kind.Const).Want))
			}
			*out = append(*out, logistics.FieldProblem{Field: jsonPath(prefix, discriminators[0].InstanceLocation),
				Problem: "must be one of " + strings.Join(wants, ", ")})
		default:
			add("must match exactly one of the documented forms")
		}
	case *kind.Required:
		for _, m := range k.Missing {
			*out = append(*out, logistics.FieldProblem{Field: jsonPath(prefix, append(slices.Clip(e.InstanceLocation), m)), Problem: "is required"})
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*out = append(*out, logistics.FieldProblem{Field: jsonPath(prefix, append(slices.Clip(e.InstanceLocation), p)), Problem: "is not a field of this request"})
		}
	case *kind.Type:
		words := make([]string, len(k.Want))
		for i, w := range k.Want {
			words[i] = typeWord(w)
		}
		add("must be " + strings.Join(words, " or ") + ", not " + k.Got)
	case *kind.Enum:
		wants := make([]string, len(k.Want))
		for i, w := range k.Want {
			wants[i] = fmt.Sprint(w)
		}
		add("must be one of " + strings.Join(wants, ", "))
	case *kind.Const:
		add(fmt.Sprintf("must be %v", k.Want))
	case *kind.Pattern:
		add("must match the pattern " + k.Want)
	case *kind.Format:
		add(formatProblem(k.Want))
	case *kind.Minimum:
		add("must be at least " + ratString(k.Want))
	case *kind.Maximum:
		add("must be at most " + ratString(k.Want))
	case *kind.MinLength:
		add(fmt.Sprintf("must be at least %d characters", k.Want))
	case *kind.MaxLength:
		add(fmt.Sprintf("must be at most %d characters", k.Want))
	case *kind.MinItems:
		add(fmt.Sprintf("must hold at least %d items", k.Want))
	case *kind.MaxItems:
		add(fmt.Sprintf("must hold at most %d items", k.Want))
	default:
		if len(e.Causes) == 0 {
			add(e.ErrorKind.LocalizedString(englishPrinter))
			return
		}
		for _, cause := range e.Causes {
			collectProblems(cause, prefix, out)
		}
	}
}

// firstConst finds a failing const in an alternative, if any.
func firstConst(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if _, ok := e.ErrorKind.(*kind.Const); ok {
		return e
	}
	for _, c := range e.Causes {
		if found := firstConst(c); found != nil {
			return found
		}
	}
	return nil
}

func sameLocation(errs []*jsonschema.ValidationError) bool {
	for _, e := range errs[1:] {
		if !slices.Equal(e.InstanceLocation, errs[0].InstanceLocation) {
			return false
		}
	}
	return len(errs) > 0
}

// jsonPath renders an instance location as the API's field paths:
// "data.items[0].hs_code", or "body" for the whole body.
func jsonPath(prefix string, location []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, token := range location {
		if _, err := strconv.Atoi(token); err == nil {
			b.WriteString("[" + token + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(token)
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

func typeWord(t string) string {
	switch t {
	case "integer", "object", "array":
		return "an " + t
	case "null":
		return "null"
	}
	return "a " + t
}

func formatProblem(format string) string {
	switch format {
	case "date-time":
		return "must be an RFC 3339 timestamp with offset"
	case "date":
		return "must be a date such as 2026-11-25 (YYYY-MM-DD)"
	case "uri":
		return "must be an absolute URL"
	}
	return "must be a valid " + format
}

func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.FloatString(6)
}
