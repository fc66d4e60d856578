package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/crossdock/crossdock/carriers"
	"github.com/crossdock/crossdock/logistics"
	"github.com/crossdock/crossdock/store"
)

// Limits of manual scans and CSV imports.
const (
	maxScans          = 500
	maxActorLength    = 200
	maxTrackingLength = 64
	maxCodeLength     = 64
	maxCityLength     = 100
	maxDescLength     = 500
	// scanClockSkew is how far in the future a scan's time may be.
	scanClockSkew = 5 * time.Minute
)

// opsTrackingSource keys manual and imported tracking submissions in the
// processed-webhooks table, so a double submit is answered once.
const opsTrackingSource = "ops:tracking"

// scanInput is one scan as ops enter it (JSON) or import it (a CSV row).
// Status and Phase are given only for carriers whose adapter has no
// mapping table (not a carriers.Normaliser).
type scanInput struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Code           string `json:"code"`
	OccurredAt     string `json:"occurred_at"`
	City           string `json:"city"`
	Country        string `json:"country"`
	Description    string `json:"description"`
	Status         string `json:"status"`
	Phase          string `json:"phase"`

	// at prefixes the scan's field paths: "scans[3]" or "line 4".
	at string
}

// scansAccepted answers a manual scan submission or a CSV import.
type scansAccepted struct {
	Accepted int `json:"accepted"`
}

// scanColumns are the CSV import's columns; the first seven are required.
var scanColumns = []string{"carrier", "tracking_number", "code", "occurred_at", "city", "country", "description", "status", "phase"}

const requiredScanColumns = 7

// postTrackingScans handles POST /v1/ops/tracking/scans: scans ops enter by
// hand for parcels whose carrier reports no tracking.
func (s *Server) postTrackingScans(c *gin.Context) {
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	// Scans are decoded one by one so that a value of the wrong type is
	// named with its index ("scans[3].city"), which json's own errors omit.
	var req struct {
		Actor string            `json:"actor"`
		Scans []json.RawMessage `json:"scans"`
	}
	if err := decodeJSON(body, &req, ""); err != nil {
		s.fail(c, err)
		return
	}
	scans := make([]scanInput, len(req.Scans))
	var problems []logistics.FieldProblem
	for i, raw := range req.Scans {
		at := fmt.Sprintf("scans[%d]", i)
		var le *logistics.Error
		if err := decodeJSON(raw, &scans[i], at); errors.As(err, &le) {
			problems = append(problems, le.Details...)
		}
		scans[i].at = at
	}
	if len(problems) > 0 {
		s.fail(c, s.conform(c, body, &logistics.Error{Code: logistics.CodeInvalid, Message: "the scans are invalid", Details: problems}))
		return
	}
	s.acceptScans(c, body, logistics.SourceManual, req.Actor, "actor", "scans", scans)
}

// importTracking handles POST /v1/ops/tracking/import: a CSV file of scans
// (text/csv, header row required), the actor in the X-Actor header.
func (s *Server) importTracking(c *gin.Context) {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "text/csv" {
		s.fail(c, invalid("the request is invalid", "Content-Type", "must be text/csv"))
		return
	}
	body, err := s.readBody(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	scans, problems := parseScanCSV(body)
	if len(problems) > 0 {
		s.fail(c, &logistics.Error{Code: logistics.CodeInvalid, Message: "the CSV file is invalid", Details: problems})
		return
	}
	s.acceptScans(c, body, logistics.SourceImport, c.GetHeader("X-Actor"), "X-Actor", "body", scans)
}

// acceptScans validates and normalises scans, resolves their tracking
// numbers and signals each shipment's workflow. Nothing is signalled unless
// every scan is valid and every number known. The submission's id is a hash
// of its scans, so the same scans submitted twice are answered once.
func (s *Server) acceptScans(c *gin.Context, body []byte, source logistics.EventSource, actor, actorField, scansField string, scans []scanInput) {
	ctx := c.Request.Context()
	var p []logistics.FieldProblem
	actor = strings.TrimSpace(actor)
	if n := utf8.RuneCountInString(actor); n == 0 || n > maxActorLength || !logistics.ValidText(actor) {
		p = append(p, logistics.FieldProblem{Field: actorField, Problem: fmt.Sprintf("is required: who enters the scans, 1-%d printable characters", maxActorLength)})
	}
	switch {
	case len(scans) == 0:
		p = append(p, logistics.FieldProblem{Field: scansField, Problem: "must hold at least one scan"})
	case len(scans) > maxScans:
		p = append(p, logistics.FieldProblem{Field: scansField, Problem: fmt.Sprintf("must hold at most %d scans", maxScans)})
	}
	events := make([]logistics.TrackingEvent, len(scans))
	explicitPhase := make([]bool, len(scans))
	if len(scans) <= maxScans {
		for i := range scans {
			events[i], explicitPhase[i] = s.scanEvent(&scans[i], source, actor, &p)
		}
	}
	var verdict error
	if len(p) > 0 {
		verdict = &logistics.Error{Code: logistics.CodeInvalid, Message: "the scans are invalid", Details: p}
	}
	if err := s.conform(c, body, verdict); err != nil {
		s.fail(c, err)
		return
	}
	submissionID := string(source) + ":" + scansDigest(scans)
	if s.findRecorded(c, opsTrackingSource, submissionID) {
		return
	}
	log := s.log(c).With("actor", actor, "source", string(source), "submission_id", submissionID)

	// Resolve every number before accepting any.
	var numbers []string
	byNumber := map[string][]int{}
	for i, sc := range scans {
		if _, seen := byNumber[sc.TrackingNumber]; !seen {
			numbers = append(numbers, sc.TrackingNumber)
		}
		byNumber[sc.TrackingNumber] = append(byNumber[sc.TrackingNumber], i)
	}
	refs, err := s.cfg.Store.ShipmentsByTrackingNumbers(ctx, numbers)
	if err != nil {
		s.fail(c, fromStore(err))
		return
	}
	for _, tn := range numbers {
		first := scans[byNumber[tn][0]]
		ref, ok := refs[tn]
		if !ok {
			p = append(p, logistics.FieldProblem{Field: first.at + ".tracking_number", Problem: "is not a tracking number Crossdock knows: " + tn})
			continue
		}
		for _, i := range byNumber[tn] {
			if ref.Carrier != "" && scans[i].Carrier != ref.Carrier {
				p = append(p, logistics.FieldProblem{Field: scans[i].at + ".carrier",
					Problem: fmt.Sprintf("tracking number %s was issued by %s, not %s", tn, ref.Carrier, scans[i].Carrier)})
			}
			// The phase needs the shipment's origin and destination, which
			// only the shipment knows.
			if e := &events[i]; !explicitPhase[i] {
				e.Phase = logistics.PhaseFor(e.Status, e.Substatus, e.Location, ref.Origin, ref.Destination)
			}
		}
	}
	if len(p) > 0 {
		s.fail(c, &logistics.Error{Code: logistics.CodeInvalid, Message: "the scans do not match known shipments", Details: p})
		return
	}
	for _, tn := range numbers {
		if ref := refs[tn]; ref.Status.Terminal() {
			log.Warn("manual scans for a finished shipment refused", "tracking_number", tn, "status", string(ref.Status))
			s.fail(c, &logistics.Error{Code: logistics.CodeConflict,
				Message: fmt.Sprintf("the shipment of tracking number %s has finished (%s); its tracking can no longer change", tn, ref.Status),
				Details: []logistics.FieldProblem{{Field: scans[byNumber[tn][0]].at + ".tracking_number", Problem: "shipment finished: " + tn}}})
			return
		}
	}

	// The scans are stored now and handed to each shipment's workflow by
	// the relay, which waits for a workflow that has not started yet.
	answer := scansAccepted{Accepted: len(events)}
	acceptance := store.TrackingAcceptance{Record: store.WebhookRecord{Source: opsTrackingSource, ID: submissionID, EventType: logistics.SignalTrackingEvent}}
	for _, tn := range numbers {
		sh := store.AcceptedShipment{Ref: refs[tn], TrackingNumber: tn}
		for _, i := range byNumber[tn] {
			sh.Events = append(sh.Events, events[i])
		}
		acceptance.Shipments = append(acceptance.Shipments, sh)
	}
	if s.acceptTracking(c, acceptance, answer) {
		log.Info("manual tracking accepted", "events", answer.Accepted, "tracking_numbers", len(numbers))
	}
}

// scanEvent checks one scan, trimming its fields in place, and builds its
// event. It reports whether the phase was given (else it is derived later).
func (s *Server) scanEvent(sc *scanInput, source logistics.EventSource, actor string, p *[]logistics.FieldProblem) (logistics.TrackingEvent, bool) {
	for _, f := range []*string{&sc.Carrier, &sc.TrackingNumber, &sc.Code, &sc.OccurredAt, &sc.City,
		&sc.Country, &sc.Description, &sc.Status, &sc.Phase} {
		*f = strings.TrimSpace(*f)
	}
	sc.Country = strings.ToUpper(sc.Country)
	add := func(field, problem string) {
		*p = append(*p, logistics.FieldProblem{Field: sc.at + "." + field, Problem: problem})
	}
	text := func(field, v string, required bool, limit int) {
		n := utf8.RuneCountInString(v)
		switch {
		case required && n == 0:
			add(field, "is required")
		case n > limit:
			add(field, fmt.Sprintf("must be at most %d characters", limit))
		case !logistics.ValidText(v):
			add(field, "must not contain control characters or invalid UTF-8")
		}
	}
	text("tracking_number", sc.TrackingNumber, true, maxTrackingLength)
	text("code", sc.Code, true, maxCodeLength)
	text("city", sc.City, false, maxCityLength)
	text("description", sc.Description, false, maxDescLength)
	if sc.Country != "" && !isCountryCode(sc.Country) {
		add("country", "must be an ISO 3166-1 alpha-2 code such as PH")
	}
	at, err := time.Parse(time.RFC3339, sc.OccurredAt)
	switch {
	case sc.OccurredAt == "":
		add("occurred_at", "is required: an RFC 3339 time such as 2026-11-25T06:00:00Z")
	case err != nil:
		add("occurred_at", "must be an RFC 3339 time such as 2026-11-25T06:00:00Z")
	case at.After(s.now().Add(scanClockSkew)):
		add("occurred_at", "must not be in the future")
	}
	raw := carriers.RawEvent{Carrier: sc.Carrier, TrackingNumber: sc.TrackingNumber, Code: sc.Code,
		Description: sc.Description, OccurredAt: at.UTC(), Location: logistics.Location{City: sc.City, Country: sc.Country},
		Source: source}
	var ev logistics.TrackingEvent
	explicitPhase := false
	carrier, ok := s.cfg.Carriers.Get(sc.Carrier)
	switch {
	case sc.Carrier == "":
		add("carrier", "is required")
	case !ok:
		add("carrier", "is not a configured carrier: "+strings.Join(s.cfg.Carriers.Codes(), ", "))
	}
	if n, isNormaliser := carrier.(carriers.Normaliser); ok && isNormaliser {
		if sc.Status != "" {
			add("status", "must be empty: "+sc.Carrier+" codes are read with its mapping table")
		}
		if sc.Phase != "" {
			add("phase", "must be empty: "+sc.Carrier+" codes are read with its mapping table")
		}
		ev = n.Normalise(raw)
		if sc.Code != "" && ev.Substatus == carriers.SubstatusUnmapped {
			add("code", "is not a known "+sc.Carrier+" tracking code")
		}
	} else if ok {
		status, phase := logistics.Status(sc.Status), logistics.Phase(sc.Phase)
		if !status.Valid() {
			add("status", sc.Carrier+" has no mapping table, so a contract status is required, one of "+joinWords(logistics.Statuses))
		}
		if phase != "" && !phase.Valid() {
			add("phase", "must be one of "+joinWords(logistics.Phases))
		}
		explicitPhase = phase != ""
		if !explicitPhase {
			phase = logistics.PhaseFor(status, "", raw.Location, "", "")
		}
		ev = logistics.TrackingEvent{Status: status, Phase: phase, ResponsibleParty: logistics.PartyUnknown,
			Location: raw.Location, RawCode: sc.Code, RawDescription: sc.Description}
	}
	ev.Carrier, ev.TrackingNumber, ev.OccurredAt = sc.Carrier, sc.TrackingNumber, raw.OccurredAt
	ev.Source, ev.RecordedBy = source, actor
	return ev, explicitPhase
}

// scansDigest is the hex SHA-256 of the scans' canonical form (trimmed
// fields, times in UTC), the same whatever JSON or CSV layout carried them.
func scansDigest(scans []scanInput) string {
	canon := make([][]string, len(scans))
	for i, sc := range scans {
		at := sc.OccurredAt
		if t, err := time.Parse(time.RFC3339, at); err == nil {
			at = t.UTC().Format(time.RFC3339Nano)
		}
		canon[i] = []string{sc.Carrier, sc.TrackingNumber, sc.Code, at, sc.City, sc.Country, sc.Description, sc.Status, sc.Phase}
	}
	sum := sha256.Sum256(mustJSON(canon))
	return hex.EncodeToString(sum[:])
}

// parseScanCSV reads a CSV import: a header row naming the columns (any
// order; status and phase optional), then one scan per row. Problems name
// the line ("line 4.occurred_at").
func parseScanCSV(body []byte) ([]scanInput, []logistics.FieldProblem) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, []logistics.FieldProblem{{Field: "body", Problem: "is empty; a header row is required: " + strings.Join(scanColumns[:requiredScanColumns], ",")}}
	}
	if err != nil {
		return nil, []logistics.FieldProblem{csvProblem(err)}
	}
	var p []logistics.FieldProblem
	index := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		_, seen := index[name]
		switch {
		case !slices.Contains(scanColumns, name):
			p = append(p, logistics.FieldProblem{Field: "line 1", Problem: fmt.Sprintf("unknown column %q; columns are %s", name, strings.Join(scanColumns, ","))})
		case seen:
			p = append(p, logistics.FieldProblem{Field: "line 1", Problem: fmt.Sprintf("column %q appears twice", name)})
		default:
			index[name] = i
		}
	}
	for _, name := range scanColumns[:requiredScanColumns] {
		if _, ok := index[name]; !ok {
			p = append(p, logistics.FieldProblem{Field: "line 1", Problem: fmt.Sprintf("column %q is missing", name)})
		}
	}
	if len(p) > 0 {
		return nil, p
	}
	var scans []scanInput
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, []logistics.FieldProblem{csvProblem(err)}
		}
		if len(scans) == maxScans {
			return nil, []logistics.FieldProblem{{Field: "body", Problem: fmt.Sprintf("must hold at most %d scans", maxScans)}}
		}
		line, _ := r.FieldPos(0)
		col := func(name string) string {
			if i, ok := index[name]; ok {
				return rec[i]
			}
			return ""
		}
		scans = append(scans, scanInput{Carrier: col("carrier"), TrackingNumber: col("tracking_number"), Code: col("code"),
			OccurredAt: col("occurred_at"), City: col("city"), Country: col("country"), Description: col("description"),
			Status: col("status"), Phase: col("phase"), at: fmt.Sprintf("line %d", line)})
	}
	return scans, nil
}

// csvProblem names the line of a CSV syntax error.
func csvProblem(err error) logistics.FieldProblem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return logistics.FieldProblem{Field: fmt.Sprintf("line %d", pe.StartLine), Problem: "is not valid CSV: " + pe.Err.Error()}
	}
	return logistics.FieldProblem{Field: "body", Problem: "is not valid CSV"}
}

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
