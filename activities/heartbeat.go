package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// Heartbeats returns a worker interceptor that heartbeats every activity
// scheduled with a HeartbeatTimeout while it runs, a third of the timeout
// apart. A worker that dies (SIGKILL, a lost machine) stops heartbeating,
// so Temporal retries its activities elsewhere after the heartbeat timeout
// instead of the far longer start-to-close timeout. Activities need no code
// of their own for it: their one call (a carrier, a warehouse, the store) is
// bounded by its client's timeout, and the heartbeat says only that the
// worker is alive. Local activities are left alone.
func Heartbeats() interceptor.WorkerInterceptor { return &heartbeats{} }

type heartbeats struct {
	interceptor.WorkerInterceptorBase
}

func (h *heartbeats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &heartbeatActivity{}
	i.Next = next
	return i
}

type heartbeatActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (h *heartbeatActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	if info.IsLocalActivity || info.HeartbeatTimeout <= 0 {
		return h.Next.ExecuteActivity(ctx, in)
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(info.HeartbeatTimeout / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	defer func() {
		close(done)
		<-stopped
	}()
	return h.Next.ExecuteActivity(ctx, in)
}
