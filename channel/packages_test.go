package channel

import (
	"context"
	"strings"
	"testing"
)

// A scheme that no linked driver serves: the error names the package to import when this module
// knows one, and otherwise lists the schemes there are, those of registered brokers included.
func TestDriverHints(t *testing.T) {
	registerTestBroker(t, Broker{Name: "test-listed", Schemes: []string{"test-listed"}})
	ctx := context.Background()
	for _, c := range []struct{ url, want string }{
		{"KAFKA://orders", `import _ "gocloud.dev/pubsub/kafkapubsub" in your main package to enable kafka://`},
		{"gcppubsub://projects/p/topics/t", `import _ "github.com/hookline/hookline/channel/googlepubsub" in your main package to enable gcppubsub://`},
		{"azuresbqueue://q", `import _ "github.com/hookline/hookline/channel/azureservicebus"`},
		{"nosuch://q", "(supported schemes: awssns, awssqs, azuresb, azuresbqueue, gcppubsub, inproc, mem, rabbit, rabbitmq, test-listed)"},
	} {
		_, err := OpenSender(ctx, c.url, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenSender(%s): err = %v; want it to say %s", c.url, err, c.want)
		}
		if err := CheckTopicURL(c.url); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckTopicURL(%s): err = %v; want it to say %s", c.url, err, c.want)
		}
	}
}

// gocloud's driver linked without the module's package: a sender of SNS needs the package (SQS's
// and SNS's attribute limit is known from its broker), one of Service Bus does not.
func TestSendersThatNeedTheirPackage(t *testing.T) {
	aliasMem("awssns")  // in place of gocloud's awssnssqs, which these tests do not link
	aliasMem("azuresb") // and of gocloud's azuresb
	ctx := context.Background()
	want := `awssns:// needs package github.com/hookline/hookline/channel/amazonsqs, which keeps its messages within the 10 message attributes SQS and SNS allow: import _ "github.com/hookline/hookline/channel/amazonsqs" in your main package`
	if _, err := OpenSender(ctx, "awssns://needs-package", nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("OpenSender(awssns://...): err = %v; want %s", err, want)
	}
	if err := CheckTopicURL("awssns://needs-package"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("CheckTopicURL(awssns://...): err = %v; want %s", err, want)
	}
	s, err := OpenSender(ctx, "azuresb://needs-no-package", nil)
	if err != nil {
		t.Fatalf("OpenSender(azuresb://...): %v", err)
	}
	s.Shutdown(ctx)
}
