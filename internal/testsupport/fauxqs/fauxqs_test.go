package fauxqs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

func sendAndReceive(t *testing.T, c *sqs.Client, q fauxqs.Queue, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
	if got := receiveBody(t, c, q); got != body {
		t.Fatalf("received %q, want %q", got, body)
	}
}

func receiveBody(t *testing.T, c *sqs.Client, q fauxqs.Queue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("received %d messages, want 1", len(out.Messages))
	}
	return aws.ToString(out.Messages[0].Body)
}

func TestStartAndProvision(t *testing.T) {
	s := fauxqs.Start(t, nil)
	if !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %q is not on 127.0.0.1", s.Endpoint)
	}
	q := s.CreateQueue(t, "provision", map[string]string{"VisibilityTimeout": "2"})
	if q.ARN != "arn:aws:sqs:"+fauxqs.Region+":"+fauxqs.Account+":provision" {
		t.Errorf("queue ARN %q", q.ARN)
	}
	if want := "awssqs://sqs." + fauxqs.Region + ".localhost:"; !strings.HasPrefix(s.QueueURL(q), want) {
		t.Errorf("QueueURL %q does not start with %q", s.QueueURL(q), want)
	}
	sendAndReceive(t, s.SQS(), q, "hello")

	arn := s.CreateTopic(t, "provision-topic", nil)
	if arn != fauxqs.TopicARN("provision-topic") {
		t.Errorf("topic ARN %q, want %q", arn, fauxqs.TopicARN("provision-topic"))
	}
	s.Subscribe(t, arn, q, true)
}

func TestRestartInMemoryLosesState(t *testing.T) {
	s := fauxqs.Start(t, nil)
	q := s.CreateQueue(t, "volatile", nil)
	endpoint := s.Endpoint
	s.Restart(t)
	if s.Endpoint != endpoint {
		t.Fatalf("endpoint changed over restart: %s, then %s", endpoint, s.Endpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := s.SQS().GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL)})
	var missing *sqstypes.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("after a restart without Persist: %v, want QueueDoesNotExist", err)
	}
	q = s.CreateQueue(t, "volatile", nil) // tests re-create what they need
	sendAndReceive(t, s.SQS(), q, "again")
}

func TestRestartPersistentKeepsQueuesAndMessages(t *testing.T) {
	s := fauxqs.Start(t, &fauxqs.Options{Persist: true})
	q := s.CreateQueue(t, "durable", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.SQS().SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("kept")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, err := s.SQS().ListQueues(ctx, &sqs.ListQueuesInput{}); err == nil {
		t.Fatal("ListQueues succeeded while fauxqs was stopped")
	}
	if err := s.StartAgain(); err != nil {
		t.Fatal(err)
	}
	if got := receiveBody(t, s.SQS(), q); got != "kept" {
		t.Fatalf("after restart received %q, want %q", got, "kept")
	}
}
