package fauxqs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// SetTestCredentials makes the AWS SDK use static test credentials and [Region], read no shared
// config or credentials file, and never probe the EC2 instance-metadata address, for the rest
// of t.
func SetTestCredentials(t testing.TB) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "hookline-test",
		"AWS_SECRET_ACCESS_KEY":       "hookline-test",
		"AWS_REGION":                  Region,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SNS"} {
		t.Setenv(k, "") // restored when t ends
		os.Unsetenv(k)
	}
}

func (s *Server) config() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("hookline-test", "hookline-test", ""),
		BaseEndpoint: aws.String(s.Endpoint),
	}
}

// SQS returns an SQS client for the emulator.
func (s *Server) SQS() *sqs.Client { return sqs.NewFromConfig(s.config()) }

// SNS returns an SNS client for the emulator.
func (s *Server) SNS() *sns.Client { return sns.NewFromConfig(s.config()) }

// Queue is an SQS queue.
type Queue struct {
	Name string
	URL  string // the queue URL, http://sqs.REGION.localhost:PORT/ACCOUNT/NAME
	ARN  string
}

// query returns the URL parameters that point gocloud at the emulator, in the readable form
// the documentation shows (the endpoint's ":" and "/" need no escaping in a query).
func (s *Server) query() string {
	return "region=" + Region + "&endpoint=" + s.Endpoint
}

// QueueURL returns the awssqs:// URL of q, for sending to it and receiving from it.
func (s *Server) QueueURL(q Queue) string {
	return "awssqs://" + strings.TrimPrefix(strings.TrimPrefix(q.URL, "http://"), "https://") + "?" + s.query()
}

// TopicURL returns the awssns:// URL of the SNS topic topicARN.
func (s *Server) TopicURL(topicARN string) string {
	return "awssns:///" + topicARN + "?" + s.query()
}

// QueueNamed returns the queue that CreateQueue(t, name, ...) would create, without creating it.
func (s *Server) QueueNamed(name string) Queue {
	host := "sqs." + Region + ".localhost:" + strconv.Itoa(s.port)
	return Queue{Name: name, URL: "http://" + host + "/" + Account + "/" + name, ARN: "arn:aws:sqs:" + Region + ":" + Account + ":" + name}
}

// TopicARN returns the ARN that a topic named name has in the emulator.
func TopicARN(name string) string { return "arn:aws:sns:" + Region + ":" + Account + ":" + name }

func ctx10s() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// CreateQueue creates the queue name with attributes attrs (for example VisibilityTimeout, or
// FifoQueue for a name ending in .fifo) and deletes it when t ends.
func (s *Server) CreateQueue(t testing.TB, name string, attrs map[string]string) Queue {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	c := s.SQS()
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("fauxqs: create queue %s: %v", name, err)
	}
	q := Queue{Name: name, URL: aws.ToString(out.QueueUrl)}
	attrOut, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("fauxqs: queue %s attributes: %v", name, err)
	}
	q.ARN = attrOut.Attributes["QueueArn"]
	t.Cleanup(func() { s.quietly(t, "delete queue "+name, s.DeleteQueue(q)) })
	return q
}

// DeleteQueue deletes q.
func (s *Server) DeleteQueue(q Queue) error {
	ctx, cancel := ctx10s()
	defer cancel()
	_, err := s.SQS().DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(q.URL)})
	return err
}

// CreateTopic creates the SNS topic name with attributes attrs (FifoTopic for a name ending in
// .fifo), deletes it when t ends, and returns its ARN.
func (s *Server) CreateTopic(t testing.TB, name string, attrs map[string]string) string {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	out, err := s.SNS().CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("fauxqs: create topic %s: %v", name, err)
	}
	arn := aws.ToString(out.TopicArn)
	t.Cleanup(func() { s.quietly(t, "delete topic "+name, s.DeleteTopic(arn)) })
	return arn
}

// DeleteTopic deletes the SNS topic topicARN.
func (s *Server) DeleteTopic(topicARN string) error {
	ctx, cancel := ctx10s()
	defer cancel()
	_, err := s.SNS().DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(topicARN)})
	return err
}

// Subscribe subscribes q to the SNS topic topicARN, with raw message delivery when raw is set
// (the SQS message is the published message with its attributes, not an SNS JSON envelope), and
// returns the subscription ARN. Deleting the topic deletes the subscription.
func (s *Server) Subscribe(t testing.TB, topicARN string, q Queue, raw bool) string {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	attrs := map[string]string{}
	if raw {
		attrs["RawMessageDelivery"] = "true"
	}
	out, err := s.SNS().Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(q.ARN),
		Attributes: attrs, ReturnSubscriptionArn: true,
	})
	if err != nil {
		t.Fatalf("fauxqs: subscribe %s to %s: %v", q.Name, topicARN, err)
	}
	return aws.ToString(out.SubscriptionArn)
}

// quietly logs err from a cleanup step, unless the entity is already gone (a restarted
// in-memory server has lost it) or the server is down.
func (s *Server) quietly(t testing.TB, what string, err error) {
	var api smithy.APIError
	if err == nil {
		return
	}
	if errors.As(err, &api) && (strings.Contains(api.ErrorCode(), "NonExistent") || strings.Contains(api.ErrorCode(), "NotFound")) {
		return
	}
	s.mu.Lock()
	down := s.proc == nil
	s.mu.Unlock()
	if !down {
		t.Logf("fauxqs: cleanup: %s: %v", what, err)
	}
}
