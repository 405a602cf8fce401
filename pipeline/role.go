package pipeline

import (
	"fmt"
	"strings"
)

// Role is what one process of a deployment runs (Config.Role, HOOKLINE_ROLE; package doc,
// # Roles), so that the webhook and the consumer scale on their own signals.
type Role string

// The roles, the values of HOOKLINE_ROLE.
const (
	// RoleAll runs the webhook and the consumer in one process: the default.
	RoleAll Role = "all"
	// RoleWebhook runs only the webhook: it verifies deliveries and sends them to the channel.
	// It opens no subscription and no sink, and needs no HOOKLINE_SINK.
	RoleWebhook Role = "webhook"
	// RoleConsumer runs only the consumer: it receives from the subscription and writes to the
	// sinks. It opens no source and needs no webhook secret; its webhook path answers 404.
	RoleConsumer Role = "consumer"
)

// roles lists the roles in the order the documentation gives them.
var roles = []Role{RoleAll, RoleWebhook, RoleConsumer}

// ParseRole returns the role that s names ("" is RoleAll), or an error naming HOOKLINE_ROLE and
// the roles there are.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if r == "" {
		return RoleAll, nil
	}
	for _, known := range roles {
		if r == known {
			return r, nil
		}
	}
	return "", fmt.Errorf("pipeline: %s=%q is not a role: use %s, %s or %s", EnvRole, s, RoleAll, RoleWebhook, RoleConsumer)
}

// webhook reports whether the role runs the webhook ("" counts as RoleAll).
func (r Role) webhook() bool { return r != RoleConsumer }

// consumer reports whether the role runs the consumer ("" counts as RoleAll).
func (r Role) consumer() bool { return r != RoleWebhook }
