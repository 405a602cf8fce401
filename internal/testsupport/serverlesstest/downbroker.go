package serverlesstest

import (
	"context"
	"errors"
	"net/url"

	"gocloud.dev/pubsub"
)

// DownBroker is a URL scheme whose driver is linked (importing this package registers it with
// gocloud) but whose broker cannot be reached: opening a topic fails as a dial to a stopped
// broker does. A function given DownBroker + "://topic" must answer 503 (try again), not 500.
const DownBroker = "hooklinetestdown"

type downOpener struct{}

func (downOpener) OpenTopicURL(context.Context, *url.URL) (*pubsub.Topic, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
}

func init() { pubsub.DefaultURLMux().RegisterTopic(DownBroker, downOpener{}) }
