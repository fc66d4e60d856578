package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingWrite is an acceptGroup write that records each group's ids
// (as it starts), blocks while gate is held, and reports every record new
// unless one of the ids is in refuse: then the whole group fails, as a
// statement would.
type recordingWrite struct {
	gate   sync.RWMutex
	refuse map[string]bool

	mu     sync.Mutex
	groups [][]string
}

func (w *recordingWrite) write(_ context.Context, calls []*acceptCall) ([]bool, error) {
	ids := make([]string, len(calls))
	var err error
	for i, c := range calls {
		ids[i] = c.rec.WebhookID
		if w.refuse[c.rec.WebhookID] {
			err = errors.New("refused " + c.rec.WebhookID)
		}
	}
	w.mu.Lock()
	w.groups = append(w.groups, ids)
	w.mu.Unlock()
	w.gate.RLock()
	defer w.gate.RUnlock()
	if err != nil {
		return nil, err
	}
	inserted := make([]bool, len(calls))
	for i := range inserted {
		inserted[i] = true
	}
	return inserted, nil
}

func (w *recordingWrite) recorded() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([][]string(nil), w.groups...)
}

func testCall(ctx context.Context, id string, events int) *acceptCall {
	return &acceptCall{ctx: ctx, rec: webhookRow{Source: "carrier:test", WebhookID: id}, events: make([]trackingEventRow, events)}
}

type acceptOutcome struct {
	inserted bool
	err      error
}

// acceptAll accepts calls concurrently and returns their outcomes by id.
func acceptAll(g *acceptGroup, calls []*acceptCall) map[string]acceptOutcome {
	var mu sync.Mutex
	out := map[string]acceptOutcome{}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			inserted, err := g.accept(c)
			mu.Lock()
			out[c.rec.WebhookID] = acceptOutcome{inserted, err}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// queued waits until n callers wait in g's queue.
func queued(t *testing.T, g *acceptGroup, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.queue) == n
	}, 5*time.Second, time.Millisecond)
}

// occupyWriters starts one submission per writer, one after another, and
// returns once each is in w.write (blocked at its gate, which the caller
// holds).
func occupyWriters(t *testing.T, g *acceptGroup, w *recordingWrite) *sync.WaitGroup {
	t.Helper()
	var wg sync.WaitGroup
	for i := range acceptGroupWriters {
		wg.Go(func() { _, _ = g.accept(testCall(t.Context(), fmt.Sprintf("first-%d", i), 1)) })
		require.Eventually(t, func() bool { return len(w.recorded()) == i+1 }, 5*time.Second, time.Millisecond)
	}
	return &wg
}

// acceptWhileWritersBusy accepts calls while every writer is busy with a
// first submission of its own (blocked at w's gate), and returns their
// outcomes once all of them, the first ones included, are written.
func acceptWhileWritersBusy(t *testing.T, g *acceptGroup, w *recordingWrite, calls []*acceptCall) map[string]acceptOutcome {
	t.Helper()
	w.gate.Lock()
	wg := occupyWriters(t, g, w)
	done := make(chan map[string]acceptOutcome)
	go func() { done <- acceptAll(g, calls) }()
	queued(t, g, len(calls))
	w.gate.Unlock()
	outcomes := <-done
	wg.Wait()
	return outcomes
}

// assertIdle checks that g has no writer and no caller left.
func assertIdle(t *testing.T, g *acceptGroup) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	assert.Zero(t, g.writers, "no writer left behind")
	assert.Empty(t, g.queue)
}

func TestAcceptGroupWritesWhatQueuedMeanwhileTogether(t *testing.T) {
	w := &recordingWrite{}
	g := &acceptGroup{write: w.write}
	// Every writer is busy with a first submission each, so the next ten
	// queue, and go in one group once a writer is free.
	var later []*acceptCall
	for i := range 10 {
		later = append(later, testCall(t.Context(), fmt.Sprintf("later-%d", i), 1))
	}
	outcomes := acceptWhileWritersBusy(t, g, w, later)

	for id, o := range outcomes {
		require.NoError(t, o.err, id)
		assert.True(t, o.inserted, id)
	}
	groups := w.recorded()
	assert.Len(t, groups, acceptGroupWriters+1, "the queued ten in one group: %v", groups)
	assert.Len(t, groups[len(groups)-1], 10)
	assertIdle(t, g)
}

func TestAcceptGroupHandsAPlaceOnOnce(t *testing.T) {
	// Both writers finish while one caller waits in the queue, before it
	// wakes: the first hands it its place, the second must give its own
	// up rather than pick the same caller (it would block holding the
	// lock, and the caller could never take its turn).
	g := &acceptGroup{writers: 2}
	waiting := testCall(t.Context(), "waiting", 1)
	waiting.done, waiting.promote = make(chan struct{}), make(chan struct{}, 1)
	g.queue = []*acceptCall{waiting}
	finished := make(chan struct{})
	go func() {
		for range 2 {
			g.mu.Lock()
			g.handOnLocked()
			g.mu.Unlock()
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("the second writer blocked handing on its place")
	}
	assert.Len(t, waiting.promote, 1, "handed one place")
	assert.Equal(t, 1, g.writers, "the other given up")
}

func TestAcceptGroupHandsAPlaceBackToAWriterLeftOut(t *testing.T) {
	// A promoted caller whose group could not include its own call (an
	// earlier delivery of the same record went first) is handed the place
	// again, rather than left in the queue with no writer.
	w := &recordingWrite{}
	g := &acceptGroup{write: w.write, writers: 1}
	first, second := testCall(t.Context(), "x", 1), testCall(t.Context(), "x", 1)
	for _, c := range []*acceptCall{first, second} {
		c.done, c.promote = make(chan struct{}), make(chan struct{}, 1)
	}
	second.promoted = true // it holds the place
	second.promote <- struct{}{}
	g.queue = []*acceptCall{first, second}
	<-second.promote // as accept does
	g.writeNext(second, true)
	<-first.done
	assert.Equal(t, [][]string{{"x"}}, w.recorded(), "the first delivery alone")
	assert.Len(t, second.promote, 1, "the place handed back")
	assert.Equal(t, 1, g.writers)
	assert.Equal(t, []*acceptCall{second}, g.queue)
}

func TestAcceptGroupFailsOnlyTheSubmissionRefused(t *testing.T) {
	w := &recordingWrite{refuse: map[string]bool{"bad": true}}
	g := &acceptGroup{write: w.write}
	calls := []*acceptCall{testCall(t.Context(), "a", 1), testCall(t.Context(), "bad", 1), testCall(t.Context(), "b", 1)}
	outcomes := acceptWhileWritersBusy(t, g, w, calls)

	require.Error(t, outcomes["bad"].err)
	for _, id := range []string{"a", "b"} {
		require.NoError(t, outcomes[id].err, id)
		assert.True(t, outcomes[id].inserted, id)
	}
	groups := w.recorded()
	assert.Len(t, groups[len(groups)-4], 3, "written together first: %v", groups)
	assert.ElementsMatch(t, [][]string{{"a"}, {"bad"}, {"b"}}, groups[len(groups)-3:], "then each alone")
}

func TestAcceptGroupWritesALargeSubmissionAtOnce(t *testing.T) {
	w := &recordingWrite{}
	g := &acceptGroup{write: w.write}
	w.gate.Lock()
	wg := occupyWriters(t, g, w)
	// Every writer is busy (blocked), yet an import neither queues nor
	// waits for them: it is written alone, in parallel.
	large := testCall(t.Context(), "import", acceptGroupMaxEvents+1)
	done := make(chan acceptOutcome)
	go func() {
		inserted, err := g.accept(large)
		done <- acceptOutcome{inserted, err}
	}()
	require.Eventually(t, func() bool { return len(w.recorded()) == acceptGroupWriters+1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"import"}, w.recorded()[acceptGroupWriters])
	w.gate.Unlock()
	o := <-done
	require.NoError(t, o.err)
	assert.True(t, o.inserted)
	wg.Wait()
}

func TestAcceptGroupTakes(t *testing.T) {
	ctx := t.Context()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	ids := func(calls []*acceptCall) []string {
		var out []string
		for _, c := range calls {
			out = append(out, c.rec.WebhookID)
		}
		return out
	}
	t.Run("a second submission of a record waits for the next group", func(t *testing.T) {
		g := &acceptGroup{queue: []*acceptCall{testCall(ctx, "a", 1), testCall(ctx, "b", 1), testCall(ctx, "a", 1), testCall(ctx, "c", 1)}}
		assert.Equal(t, []string{"a", "b", "c"}, ids(g.takeLocked()))
		assert.Equal(t, []string{"a"}, ids(g.takeLocked()))
	})
	t.Run("at most acceptGroupMaxSubmissions", func(t *testing.T) {
		g := &acceptGroup{}
		for i := range acceptGroupMaxSubmissions + 1 {
			g.queue = append(g.queue, testCall(ctx, fmt.Sprint(i), 1))
		}
		assert.Len(t, g.takeLocked(), acceptGroupMaxSubmissions)
		assert.Len(t, g.takeLocked(), 1)
	})
	t.Run("callers that gave up get their context's error", func(t *testing.T) {
		gaveUp := testCall(cancelled, "gone", 1)
		gaveUp.done = make(chan struct{})
		g := &acceptGroup{queue: []*acceptCall{gaveUp, testCall(ctx, "a", 1)}}
		assert.Equal(t, []string{"a"}, ids(g.takeLocked()))
		<-gaveUp.done
		assert.ErrorIs(t, gaveUp.err, context.Canceled)
	})
}

func TestAcceptGroupUnderConcurrency(t *testing.T) {
	// Many callers, writes of varying length, a quarter of the submissions
	// delivered twice: every caller returns, every delivery is written
	// once, and each record is new to exactly one of its deliveries
	// (run with -race).
	var mu sync.Mutex
	written := map[string]int{}
	g := &acceptGroup{write: func(_ context.Context, calls []*acceptCall) ([]bool, error) {
		time.Sleep(time.Duration(len(calls)) * 50 * time.Microsecond)
		mu.Lock()
		defer mu.Unlock()
		inserted := make([]bool, len(calls))
		for i, c := range calls {
			written[c.rec.WebhookID]++
			inserted[i] = written[c.rec.WebhookID] == 1
		}
		return inserted, nil
	}}
	const distinct, twice = 1500, 500
	var wg sync.WaitGroup
	var newTo sync.Map
	for i := range distinct + twice {
		id := fmt.Sprint(i % distinct)
		wg.Go(func() {
			inserted, err := g.accept(testCall(t.Context(), id, 1))
			assert.NoError(t, err)
			if inserted {
				_, again := newTo.LoadOrStore(id, true)
				assert.False(t, again, "%s new to two deliveries", id)
			}
		})
	}
	wg.Wait()
	assert.Len(t, written, distinct)
	deliveries := 0
	for _, n := range written {
		deliveries += n
	}
	assert.Equal(t, distinct+twice, deliveries)
	assertIdle(t, g)
}
