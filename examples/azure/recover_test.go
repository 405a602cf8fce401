package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/hookline/hookline/internal/testsupport/sbdouble"
	"github.com/hookline/hookline/internal/testsupport/stripeapi"
)

// TestRecoverDeploymentFile checks recover/function.json against what the handler reads: a
// timerTrigger named as the adapter's default binding, on a six-field NCRONTAB schedule, with
// schedule monitoring; and that the example settings name the recover function's key.
func TestRecoverDeploymentFile(t *testing.T) {
	var fn struct {
		Bindings []struct {
			Type, Direction, Name, Schedule string
			RunOnStartup                    bool
			UseMonitor                      bool
		}
	}
	readJSON(t, filepath.Join("recover", "function.json"), &fn)
	if len(fn.Bindings) != 1 {
		t.Fatalf("recover bindings = %+v", fn.Bindings)
	}
	b := fn.Bindings[0]
	if b.Type != "timerTrigger" || b.Direction != "in" || b.Name != "timer" || len(strings.Fields(b.Schedule)) != 6 ||
		b.RunOnStartup || !b.UseMonitor {
		t.Errorf("recover binding = %+v", b)
	}
	var local struct{ Values map[string]string }
	readJSON(t, "local.settings.json.example", &local)
	if k, ok := local.Values["STRIPE_API_KEY"]; !ok || !strings.HasPrefix(k, "rk_test_...") {
		t.Errorf("local.settings.json.example STRIPE_API_KEY = %q, want a placeholder rk_test_...", k)
	}
}

// timerInvocation is the host's invocation request for the recover function's timer trigger:
// the timer object of "Timer trigger for Azure Functions" (section Usage) as Data.timer, and the
// sys metadata of the custom handler documentation's request payload.
func timerInvocation(now time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"Data": map[string]any{"timer": map[string]any{
			"Schedule": map[string]bool{"AdjustForDST": true},
			"ScheduleStatus": map[string]string{"Last": now.Add(-30 * time.Minute).Format(time.RFC3339),
				"LastUpdated": now.Add(-30 * time.Minute).Format(time.RFC3339), "Next": now.Add(30 * time.Minute).Format(time.RFC3339)},
			"IsPastDue": false,
		}},
		"Metadata": map[string]any{"sys": map[string]string{"MethodName": "recover",
			"UtcNow": now.UTC().Format(time.RFC3339Nano), "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9"}},
	})
	return b
}

// TestRecoverEndToEnd runs the example against the Service Bus double and the Stripe API
// double: a timer invocation of the recover function puts the undelivered events of its window
// on the queue, without any webhook call; the stand-in for the Service Bus trigger hands them to
// the processor, and they land in SQLite; the delivered event does not.
func TestRecoverEndToEnd(t *testing.T) {
	d := sbdouble.Shared(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := fmt.Sprintf("stripe-events-recover-%d", time.Now().UnixNano())
	if err := d.CreateQueue(ctx, q, &sbdouble.EntityOptions{MaxDeliveryCount: 20}); err != nil {
		t.Fatal(err)
	}
	api := stripeapi.Start(t, nil)
	now := time.Now().Truncate(time.Second)
	missed := []stripeapi.Event{
		stripeapi.NewEvent("customer.created", "cus_az_missed1", now.Add(-60*time.Hour)),
		stripeapi.NewEvent("customer.updated", "cus_az_missed2", now.Add(-2*time.Minute)),
	}
	delivered := stripeapi.NewEvent("customer.created", "cus_az_delivered", now.Add(-time.Hour))
	delivered.Delivered = true
	for _, ev := range append(missed, delivered) {
		api.AddEvent(ev)
	}
	db := filepath.Join(t.TempDir(), "hookline.db")
	base, logs := startAppLogging(t, map[string]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT": freePort(t), "HOOKLINE_CHANNEL": "azuresbqueue://" + q,
		"HOOKLINE_SINK": "sqlite://" + db, "STRIPE_API_KEY": api.Key(), "STRIPE_API_BASE": api.URL(),
	})

	status, body := postJSON(t, base+"/recover", http.Header{"Content-Type": {"application/json"}}, timerInvocation(now))
	var out struct {
		Outputs map[string]any
		Logs    []string
	}
	if err := json.Unmarshal(body, &out); err != nil || status != http.StatusOK || len(out.Logs) != 1 ||
		!strings.HasPrefix(out.Logs[0], "hookline: recovery: 2 listed, 2 sent") {
		t.Fatalf("timer invocation: %d %s", status, body)
	}
	if !strings.Contains(logs.String(), "azurefunctions: recovery run") {
		t.Errorf("the app does not log the run:\n%s", logs.String())
	}

	client, err := azservicebus.NewClientFromConnectionString(d.ConnectionString, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	trigger(t, ctx, client, base, q, 2, http.StatusOK)
	rows := readSubjects(t, db)
	for _, ev := range missed {
		var id struct {
			Data struct{ Object struct{ ID string } }
		}
		json.Unmarshal(ev.JSON, &id)
		if rows[id.Data.Object.ID] != ev.ID() {
			t.Errorf("SQLite holds %q for %s, want %s", rows[id.Data.Object.ID], id.Data.Object.ID, ev.ID())
		}
	}
	if len(rows) != 2 {
		t.Errorf("SQLite holds %v, want the two missed customers only", rows)
	}
}
