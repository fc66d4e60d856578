package store

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// Group commit of accepted tracking submissions (Postgres).
//
// Each submission is a few rows in three tables, and what a statement
// costs Postgres is mostly fixed: parse and bind, executor start, commit
// and its WAL flush. Measured with pgbench (32 clients, prepared), one
// submission per statement ran at about 0.47 ms of statement time, sixteen
// per statement at 0.58 ms. So concurrent submissions share a statement:
// the first caller to find no write in progress writes everything queued
// (leader), callers that arrive meanwhile queue, and when the write ends
// the leader hands the queue to one of them. A lone submission is written
// at once; there is no timer and no goroutine to stop. A large submission
// (an import) gains nothing from company, its rows cost more than the
// statement, so it is written on its own at once, in parallel with others.

const (
	// acceptGroupWriters is how many group writes may run at once.
	acceptGroupWriters = 2
	// acceptGroupMaxSubmissions bounds one group write.
	acceptGroupMaxSubmissions = 128
	// acceptGroupMaxEvents is the most events a submission may have to
	// join a group; larger ones are written on their own.
	acceptGroupMaxEvents = 64
	// acceptGroupTimeout bounds a group write, which runs without its
	// callers' cancellation: it may carry other callers' submissions.
	acceptGroupTimeout = 30 * time.Second
)

// acceptCall is one submission waiting for a group write.
type acceptCall struct {
	ctx      context.Context
	rec      webhookRow
	events   []trackingEventRow
	handoffs []trackingHandoffRow

	inserted bool
	err      error
	done     chan struct{} // closed once inserted and err are set
	promote  chan struct{} // receives when this caller must lead the next write
	promoted bool          // promote was sent (at most once; guarded by acceptGroup.mu)
}

// acceptGroup queues submissions and writes them in groups with write,
// which reports for each call whether its record was new.
type acceptGroup struct {
	write func(ctx context.Context, calls []*acceptCall) (inserted []bool, err error)

	mu      sync.Mutex
	queue   []*acceptCall
	writers int
}

// accept writes c, alone or with other queued submissions, and returns
// once its outcome is known.
func (g *acceptGroup) accept(c *acceptCall) (inserted bool, err error) {
	if len(c.events) > acceptGroupMaxEvents {
		won, err := g.write(c.ctx, []*acceptCall{c})
		if err != nil {
			return false, err
		}
		return won[0], nil
	}
	c.done = make(chan struct{})
	c.promote = make(chan struct{}, 1)
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := g.writers < acceptGroupWriters
	if lead {
		g.writers++
	}
	g.mu.Unlock()
	if lead {
		g.writeNext(c, false)
	}
	for {
		select {
		case <-c.done:
			// A promotion is only ever sent while c is queued, so before
			// done closes: one sent meanwhile is here now, and must be
			// honoured or the queue would have no writer.
			select {
			case <-c.promote:
				g.writeNext(c, true)
			default:
			}
			return c.inserted, c.err
		case <-c.promote:
			g.writeNext(c, true)
		}
	}
}

// writeNext writes, for the caller of c holding a writer's place (it
// found one free, or it was handed one: promoted, and it has received
// that promotion), one group taken from the queue, then hands the place to
// a queued caller, or gives it up if none is waiting. The group need not
// include c (a second delivery of a record waits for the next group): c
// may then be handed the place again.
func (g *acceptGroup) writeNext(c *acceptCall, promoted bool) {
	g.mu.Lock()
	if promoted {
		c.promoted = false // received, so it may be handed a place again
	}
	calls := g.takeLocked()
	g.mu.Unlock()
	if len(calls) > 0 {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), acceptGroupTimeout)
		g.writeGroup(wctx, calls)
		cancel()
	}
	g.mu.Lock()
	g.handOnLocked()
	g.mu.Unlock()
}

// handOnLocked passes a finished writer's place to the first queued
// caller that has not been handed one yet, or gives it up. A caller is
// handed a place once at most: two writers finishing together must not
// both pick the same caller, the second would wait for it holding g.mu.
func (g *acceptGroup) handOnLocked() {
	for _, c := range g.queue {
		if !c.promoted {
			c.promoted = true
			c.promote <- struct{}{}
			return
		}
	}
	g.writers--
}

// takeLocked removes the next group from the queue: in arrival order, at
// most acceptGroupMaxSubmissions, skipping callers that have given up
// (they get their context's error) and leaving a second submission of the
// same record for a later group, where it finds the first one's record.
func (g *acceptGroup) takeLocked() []*acceptCall {
	var (
		calls []*acceptCall
		rest  []*acceptCall
		keys  = map[[2]string]bool{}
	)
	for _, c := range g.queue {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		key := [2]string{c.rec.Source, c.rec.WebhookID}
		if keys[key] || len(calls) == acceptGroupMaxSubmissions {
			rest = append(rest, c)
			continue
		}
		keys[key] = true
		calls = append(calls, c)
	}
	g.queue = rest
	return calls
}

// writeGroup writes calls and completes each. If a group of several
// fails, each is written again alone, so that one submission the database
// refuses (or a deadlock with another process) fails only itself.
func (g *acceptGroup) writeGroup(ctx context.Context, calls []*acceptCall) {
	inserted, err := g.write(ctx, calls)
	if err != nil && len(calls) > 1 {
		for _, c := range calls {
			g.writeGroup(ctx, []*acceptCall{c})
		}
		return
	}
	for i, c := range calls {
		c.err = err
		if err == nil {
			c.inserted = inserted[i]
		}
		close(c.done)
	}
}

// acceptGroupSQL writes a group of accepted submissions in one statement,
// so in one round trip and one implicit transaction. The answers' rows go
// first; a submission's events and hand-offs are written only if its row
// was new (data-modifying CTEs see each other's RETURNING). Rows travel as
// one array per column (unnest), which Postgres binds once whatever their
// number; events and hand-offs name their submission by its position.
const acceptGroupSQL = `WITH rec AS (
  INSERT INTO processed_webhooks (source, webhook_id, event_type, merchant_id, order_id, status_code, response, created_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::bytea[], $8::timestamptz[])
  ON CONFLICT DO NOTHING
  RETURNING source, webhook_id
), won AS (
  SELECT k.i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(source, webhook_id, i)
  JOIN rec USING (source, webhook_id)
), ev AS (
  INSERT INTO tracking_events (merchant_id, order_id, shipment_number, dedup_key, status, phase, substatus, reason,
    responsible_party, action_required, occurred_at, location_city, location_country, carrier, tracking_number,
    raw_code, raw_description, source, recorded_by, created_at)
  SELECT u.merchant_id, u.order_id, u.shipment_number, u.dedup_key, u.status, u.phase, u.substatus, u.reason,
    u.responsible_party, u.action_required, u.occurred_at, u.location_city, u.location_country, u.carrier,
    u.tracking_number, u.raw_code, u.raw_description, u.source, u.recorded_by, u.created_at
  FROM unnest($9::bigint[], $10::text[], $11::text[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[],
    $17::text[], $18::text[], $19::bool[], $20::timestamptz[], $21::text[], $22::text[], $23::text[], $24::text[],
    $25::text[], $26::text[], $27::text[], $28::text[], $29::timestamptz[])
    AS u(i, merchant_id, order_id, shipment_number, dedup_key, status, phase, substatus, reason, responsible_party,
      action_required, occurred_at, location_city, location_country, carrier, tracking_number, raw_code,
      raw_description, source, recorded_by, created_at)
  WHERE u.i IN (SELECT i FROM won)
  ON CONFLICT (dedup_key) DO NOTHING
), ho AS (
  INSERT INTO tracking_handoffs (workflow_id, tracking_number, webhook_id, events, next_attempt_at, created_at)
  SELECT h.workflow_id, h.tracking_number, h.webhook_id, h.events, h.created_at, h.created_at
  FROM unnest($30::bigint[], $31::text[], $32::text[], $33::text[], $34::text[], $35::timestamptz[])
    AS h(i, workflow_id, tracking_number, webhook_id, events, created_at)
  WHERE h.i IN (SELECT i FROM won)
)
SELECT i FROM won`

// writeAcceptGroup is the Postgres acceptGroup's write: acceptGroupSQL
// with the calls' rows as arrays.
func (s *Store) writeAcceptGroup(ctx context.Context, calls []*acceptCall) ([]bool, error) {
	// Records are written in key order by every writer, so two concurrent
	// groups cannot each wait for a record the other holds. Events keep
	// their submission's order: it orders the timeline's scans that share a
	// time (a carrier's, an import file's). Two groups sharing two scans in
	// opposite orders (a scan resent under new ids at that very moment)
	// could deadlock; Postgres then fails one, which writeGroup writes
	// again one submission at a time.
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(calls[a].rec.Source, calls[b].rec.Source), cmp.Compare(calls[a].rec.WebhookID, calls[b].rec.WebhookID))
	})
	pos := make([]int64, len(calls)) // the 1-based position of each call's record in the arrays
	var recs recordColumns
	for p, ci := range order {
		pos[ci] = int64(p + 1)
		recs.add(calls[ci].rec)
	}
	var evs eventColumns
	var hos handoffColumns
	for ci, c := range calls {
		for _, e := range c.events {
			evs.add(pos[ci], e)
		}
		for _, h := range c.handoffs {
			hos.add(pos[ci], h)
		}
	}
	args := slices.Concat(recs.args(), evs.args(), hos.args())
	rows, err := s.sqlDB.QueryContext(ctx, acceptGroupSQL, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	won := map[int64]bool{}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		won[p] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	inserted := make([]bool, len(calls))
	for ci := range calls {
		inserted[ci] = won[pos[ci]]
	}
	return inserted, nil
}

// recordColumns, eventColumns and handoffColumns hold acceptGroupSQL's
// arrays, one slice per column, in the order of its parameters.
type recordColumns struct {
	source, webhookID, eventType, merchantID, orderID []string
	statusCode                                        []int32
	response                                          [][]byte
	createdAt                                         []time.Time
}

func (c *recordColumns) add(r webhookRow) {
	c.source, c.webhookID, c.eventType = append(c.source, r.Source), append(c.webhookID, r.WebhookID), append(c.eventType, r.EventType)
	c.merchantID, c.orderID = append(c.merchantID, r.MerchantID), append(c.orderID, r.OrderID)
	c.statusCode, c.response, c.createdAt = append(c.statusCode, int32(r.StatusCode)), append(c.response, r.Response), append(c.createdAt, r.CreatedAt)
}

func (c *recordColumns) args() []any {
	return []any{c.source, c.webhookID, c.eventType, c.merchantID, c.orderID, c.statusCode, c.response, c.createdAt}
}

type eventColumns struct {
	pos                                                                     []int64
	merchantID, orderID                                                     []string
	shipmentNumber                                                          []int32
	dedupKey, status, phase, substatus, reason, responsibleParty            []string
	actionRequired                                                          []bool
	occurredAt                                                              []time.Time
	city, country, carrier, trackingNumber, rawCode, rawDescription, source []string
	recordedBy                                                              []string
	createdAt                                                               []time.Time
}

func (c *eventColumns) add(pos int64, e trackingEventRow) {
	c.pos, c.merchantID, c.orderID = append(c.pos, pos), append(c.merchantID, e.MerchantID), append(c.orderID, e.OrderID)
	c.shipmentNumber, c.dedupKey = append(c.shipmentNumber, int32(e.ShipmentNumber)), append(c.dedupKey, e.DedupKey)
	c.status, c.phase, c.substatus = append(c.status, e.Status), append(c.phase, e.Phase), append(c.substatus, e.Substatus)
	c.reason, c.responsibleParty = append(c.reason, e.Reason), append(c.responsibleParty, e.ResponsibleParty)
	c.actionRequired, c.occurredAt = append(c.actionRequired, e.ActionRequired), append(c.occurredAt, e.OccurredAt)
	c.city, c.country, c.carrier = append(c.city, e.LocationCity), append(c.country, e.LocationCountry), append(c.carrier, e.Carrier)
	c.trackingNumber, c.rawCode = append(c.trackingNumber, e.TrackingNumber), append(c.rawCode, e.RawCode)
	c.rawDescription, c.source = append(c.rawDescription, e.RawDescription), append(c.source, e.Source)
	c.recordedBy, c.createdAt = append(c.recordedBy, e.RecordedBy), append(c.createdAt, e.CreatedAt)
}

func (c *eventColumns) args() []any {
	return []any{c.pos, c.merchantID, c.orderID, c.shipmentNumber, c.dedupKey, c.status, c.phase, c.substatus, c.reason,
		c.responsibleParty, c.actionRequired, c.occurredAt, c.city, c.country, c.carrier, c.trackingNumber, c.rawCode,
		c.rawDescription, c.source, c.recordedBy, c.createdAt}
}

type handoffColumns struct {
	pos                                           []int64
	workflowID, trackingNumber, webhookID, events []string
	createdAt                                     []time.Time
}

func (c *handoffColumns) add(pos int64, h trackingHandoffRow) {
	c.pos, c.workflowID, c.trackingNumber = append(c.pos, pos), append(c.workflowID, h.WorkflowID), append(c.trackingNumber, h.TrackingNumber)
	c.webhookID, c.events, c.createdAt = append(c.webhookID, h.WebhookID), append(c.events, h.Events), append(c.createdAt, h.CreatedAt)
}

func (c *handoffColumns) args() []any {
	return []any{c.pos, c.workflowID, c.trackingNumber, c.webhookID, c.events, c.createdAt}
}
