package main

import (
	"context"
	"net/url"
	"os"
	"path"

	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit://

	_ "github.com/hookline/hookline/channel/amazonsqs" // awssqs:// and awssns://
	_ "github.com/hookline/hookline/channel/rabbitmq"  // rabbitmq://, and persistent messages on rabbit://
	"github.com/hookline/hookline/channel/rabbitsetup"
	_ "github.com/hookline/hookline/sink/sqlsink" // -sink sqlite:// and postgres://
)

// declareRabbit declares the exchange of a rabbit:// topic URL and the queue of a rabbit://
// subscription URL, bound together, so a load run needs no manual set-up. Other URLs are left
// alone.
func declareRabbit(ctx context.Context, topicURL, subURL string) error {
	t, err1 := url.Parse(topicURL)
	s, err2 := url.Parse(subURL)
	if err1 != nil || err2 != nil || t.Scheme != "rabbit" || s.Scheme != "rabbit" {
		return nil
	}
	server := os.Getenv("RABBIT_SERVER_URL")
	return rabbitsetup.Declare(ctx, server, path.Join(t.Host, t.Path), path.Join(s.Host, s.Path),
		&rabbitsetup.Options{QueueType: rabbitsetup.Quorum})
}
