package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/crossdock/crossdock/activities"
)

var lanePattern = regexp.MustCompile(`^[A-Z]{2}-[A-Z]{2}$`)

// parseSLALanes reads CROSSDOCK_SLA_LANES:
// "CN-GB=no_movement:48h,import_customs:72h;CN-US=pickup_wait:72h".
func parseSLALanes(s string) (map[string]activities.SLA, error) {
	out := map[string]activities.SLA{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		lane, values, ok := strings.Cut(entry, "=")
		lane = strings.TrimSpace(lane)
		if !ok || !lanePattern.MatchString(lane) {
			return nil, fmt.Errorf("%q: want LANE=check:duration,... with a lane such as CN-GB", entry)
		}
		var sla activities.SLA
		for _, kv := range strings.Split(values, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(kv), ":")
			d, err := time.ParseDuration(strings.TrimSpace(value))
			if !ok || err != nil || d <= 0 {
				return nil, fmt.Errorf("%s: %q: want check:duration such as no_movement:48h", lane, kv)
			}
			switch strings.TrimSpace(name) {
			case "no_movement":
				sla.NoMovement = d
			case "import_customs":
				sla.ImportCustoms = d
			case "pickup_wait":
				sla.PickupWait = d
			case "hold_reminder":
				sla.HoldReminder = d
			case "hold_escalation":
				sla.HoldEscalation = d
			default:
				return nil, fmt.Errorf("%s: unknown check %q (no_movement, import_customs, pickup_wait, hold_reminder, hold_escalation)", lane, name)
			}
		}
		out[lane] = sla
	}
	return out, nil
}
