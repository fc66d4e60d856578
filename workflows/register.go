// Package workflows holds Crossdock's deterministic orchestration: one order
// workflow per order and one shipment workflow per parcel. Workflows only
// decide; everything that touches the world is an activity.
package workflows

import (
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/crossdock/crossdock/activities"
	"github.com/crossdock/crossdock/logistics"
)

// Register registers every workflow and activity under its stable name for
// the worker and the tests.
func Register(r worker.Registry, a *activities.Activities) {
	RegisterWorkflows(r)
	a.Register(r)
}

// RegisterWorkflows registers the workflows alone: the replayer registers
// no activities, which is why workflows call activities by their stable
// names (activities.Name*) rather than by method reference, whose alias
// only a registry holding the activities could resolve.
func RegisterWorkflows(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(OrderWorkflow, workflow.RegisterOptions{Name: logistics.OrderWorkflowType})
	r.RegisterWorkflowWithOptions(ShipmentWorkflow, workflow.RegisterOptions{Name: logistics.ShipmentWorkflowType})
}
