package channel

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/pubsub"

	"github.com/hookline/hookline/internal/redact"
)

// CheckTopicURL reports, without connecting to anything, whether [OpenSender] could ever open
// urlstr: it must be a URL with a scheme that a driver linked into this program serves, and
// whose broker package is linked where OpenSender requires it (rabbit://, awssqs://, awssns://).
// A program calls it when it starts, so that a configuration that can never work is said at
// once, and not as a broker outage on the first event. The error says what to fix (for a scheme
// whose driver is not linked, which package to import).
func CheckTopicURL(urlstr string) error {
	if err := checkURL(urlstr, "topic", pubsub.DefaultURLMux().ValidTopicScheme); err != nil {
		return err
	}
	scheme := schemeOf(urlstr)
	if err := checkBroker(brokerFor(nil, scheme), scheme); err != nil {
		return fmt.Errorf("channel: %s: %w", redact.String(urlstr), err)
	}
	return nil
}

// CheckSubscriptionURL is [CheckTopicURL] for [OpenReceiver].
func CheckSubscriptionURL(urlstr string) error {
	return checkURL(urlstr, "subscription", pubsub.DefaultURLMux().ValidSubscriptionScheme)
}

func checkURL(urlstr, what string, valid func(string) bool) error {
	u, err := url.Parse(urlstr)
	if err != nil || u.Scheme == "" || !strings.Contains(urlstr, "://") {
		return fmt.Errorf("channel: %q is not a %s URL: want scheme://name, e.g. mem://stripe-events or awssqs://...",
			redact.String(urlstr), what)
	}
	if !valid(strings.ToLower(u.Scheme)) {
		return fmt.Errorf("channel: %s: no driver linked into this program serves %s:// URLs%s", redact.String(urlstr),
			u.Scheme, driverHint(urlstr, errors.New("no driver registered")))
	}
	return nil
}
