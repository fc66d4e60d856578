package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/logistics"
)

// heartbeatTimeout bounds how long an activity of a dead worker (killed,
// its machine lost) keeps its order waiting: the worker's activities
// heartbeat (activities.Heartbeats), so Temporal retries the attempt
// elsewhere this long after the last beat instead of after the whole
// start-to-close timeout. Changing it needs no workflow version: timeouts
// are not part of the replayed commands.
const heartbeatTimeout = 10 * time.Second

// Retry policies per integration. Store writes retry until the database is
// back (a projection must never be dropped); outside integrations retry a
// bounded number of times, after which the order is marked stuck for ops.
var (
	storeOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute},
	}
	carrierOptions = workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Minute, MaximumAttempts: 8},
	}
	warehouseOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Minute, MaximumAttempts: 8},
	}
	pollOptions = workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 4},
	}
	localOptions = workflow.LocalActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	}
)

// changeParallelProjection is the workflow version that writes projections
// and events side by side (see orderWorkflow.projectAndEmit).
const changeParallelProjection = "parallel-projection"

// changeStoredHandoffs is the workflow version that does not store again
// the tracking events the API stored when it accepted them
// (TrackingUpdate.Stored). It is asked for only when such an update
// arrives, so runs that never get one record no marker for it.
const changeStoredHandoffs = "stored-handoffs"

// sinceVersion reports whether the run takes version 1 of changeID, the
// newest of every change before "parallel-projection". A run on version 1
// of "parallel-projection" (implied) started after all of them, so it
// takes them without a marker and a TemporalChangeVersion upsert each (two
// history events per change): its TemporalChangeVersion lists
// parallel-projection-1 alone, which implies them. Runs from before it
// record and replay their markers as they always did.
func sinceVersion(ctx workflow.Context, implied bool, changeID string) bool {
	return implied || workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) == 1
}

// Search attribute keys (registered by the dev server and docker-compose).
var (
	saMerchant       = temporal.NewSearchAttributeKeyKeyword(logistics.SearchMerchant)
	saStage          = temporal.NewSearchAttributeKeyKeyword(logistics.SearchStage)
	saCarrier        = temporal.NewSearchAttributeKeyKeyword(logistics.SearchCarrier)
	saLane           = temporal.NewSearchAttributeKeyKeyword(logistics.SearchLane)
	saStuck          = temporal.NewSearchAttributeKeyBool(logistics.SearchStuck)
	saStuckReason    = temporal.NewSearchAttributeKeyString(logistics.SearchStuckReason)
	saActionRequired = temporal.NewSearchAttributeKeyBool(logistics.SearchActionRequired)
)

// SearchAttributes lists every search attribute the workflows set, so the
// dev server and tests register exactly these.
func SearchAttributes() temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		saMerchant.ValueSet(""), saStage.ValueSet(""), saCarrier.ValueSet(""), saLane.ValueSet(""),
		saStuck.ValueSet(false), saStuckReason.ValueSet(""), saActionRequired.ValueSet(false),
	)
}
