// Package eventsource receives messages from the broker doubles as a platform's trigger does before
// it invokes a function (Lambda's SQS event source mapping, the Azure Functions host's Service
// Bus trigger), for the trace tests that then hand them to the functions themselves.
package eventsource

import (
	"context"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/internal/testsupport/fauxqs"
)

// SQSKept receives the next message of q with all its attributes and message attributes, as
// Lambda's event source mapping does, and leaves it on the queue (the mapping deletes it only
// when the function succeeds for it). It waits up to 15 seconds for one.
func SQSKept(t testing.TB, srv *fauxqs.Server, q fauxqs.Queue) sqstypes.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		out, err := srv.SQS().ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL),
			MaxNumberOfMessages: 1, WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatalf("receive from %s: %v", q.Name, err)
		}
		if len(out.Messages) == 1 {
			return out.Messages[0]
		}
	}
	t.Fatalf("no message on %s", q.Name)
	return sqstypes.Message{}
}

// ServiceBusReceiver returns a receiver (peek-lock) of queue q of the Service Bus namespace at
// connectionString, closed with its client when the test ends.
func ServiceBusReceiver(t testing.TB, connectionString, q string) *azservicebus.Receiver {
	t.Helper()
	client, err := azservicebus.NewClientFromConnectionString(connectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(context.Background()) })
	recv, err := client.NewReceiverForQueue(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { recv.Close(context.Background()) })
	return recv
}
