package workflows

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/logistics"
)

// reorderedUnversioned is what a careless change looks like: someone moves
// picking before screening (pick while customs is being decided) and ships
// it as is. Running orders replay their history through this code.
func reorderedUnversioned(ctx workflow.Context, in logistics.OrderWorkflowInput) error {
	w := newOrderWorkflow(ctx, in)
	if err := w.setup(ctx); err != nil {
		return err
	}
	started, err := w.begin(ctx)
	if err != nil || !started {
		return err
	}
	return w.walk(ctx, []func(workflow.Context) error{w.picking, w.screening, w.booking, w.following})
}

// reorderedVersioned is the same change made properly: orders that started
// before it keep the old order of stages, new ones take the new order.
func reorderedVersioned(ctx workflow.Context, in logistics.OrderWorkflowInput) error {
	w := newOrderWorkflow(ctx, in)
	if err := w.setup(ctx); err != nil {
		return err
	}
	started, err := w.begin(ctx)
	if err != nil || !started {
		return err
	}
	stages := []func(workflow.Context) error{w.screening, w.picking, w.booking, w.following}
	if workflow.GetVersion(ctx, "test-pick-before-screening", workflow.DefaultVersion, 1) == 1 {
		stages = []func(workflow.Context) error{w.picking, w.screening, w.booking, w.following}
	}
	return w.walk(ctx, stages)
}

// TestReplayCatchesUnversionedReorder shows why TestReplayCommittedHistories
// exists: every committed order history fails to replay through a workflow
// whose stages were reordered without workflow.GetVersion, with the SDK's
// nondeterminism error, and replays cleanly once the change is versioned.
func TestReplayCatchesUnversionedReorder(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "order_*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no committed order histories")
	logger := tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	replay := func(wf func(workflow.Context, logistics.OrderWorkflowInput) error, file string) error {
		r := worker.NewWorkflowReplayer()
		// The changed order workflow under its stable name, as a worker
		// running the new code would register it.
		r.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: logistics.OrderWorkflowType})
		r.RegisterWorkflowWithOptions(ShipmentWorkflow, workflow.RegisterOptions{Name: logistics.ShipmentWorkflowType})
		return r.ReplayWorkflowHistoryFromJSONFile(logger, file)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			err := replay(reorderedUnversioned, f)
			require.Error(t, err, "a reorder without GetVersion must fail replay")
			// TMPRL1100 is the SDK's code for a history that the code no
			// longer reproduces (a nondeterministic change), whatever the
			// first mismatching command is.
			assert.Contains(t, err.Error(), "[TMPRL1100]", "the failure is the SDK's nondeterminism check, not something else")

			assert.NoError(t, replay(reorderedVersioned, f), "the versioned reorder replays old histories")
			assert.NoError(t, replay(OrderWorkflow, f), "today's workflow replays it (control)")
		})
	}
}
