package dataverse_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
	"github.com/hookline/hookline/sink/sinktest"
)

const (
	keyCol   = "new_stripecustomerid"
	timeCol  = "new_stripeeventcreated"
	idCol    = "new_stripeeventid"
	testTok  = "tok-secret-0123456789"
	orgHost  = "org.crm.dynamics.com"
	contacts = "contacts"
)

// newDouble starts a double that accepts testTok and checks the OData headers.
func newDouble(t testing.TB) *dataversetest.Server {
	t.Helper()
	srv := dataversetest.New(&dataversetest.Options{Tokens: []string{testTok}, RequireHeaders: true})
	t.Cleanup(srv.Close)
	return srv
}

// openSink opens a sink on srv with the event-id column and a static token; change adjusts
// the options first.
func openSink(t testing.TB, srv *dataversetest.Server, change func(*dataverse.Options)) *dataverse.Sink {
	t.Helper()
	o := &dataverse.Options{
		KeyColumn:       keyCol,
		EventTimeColumn: timeCol,
		EventIDColumn:   idCol,
		Endpoint:        srv.URL(),
		Token:           testTok,
	}
	if change != nil {
		change(o)
	}
	s, err := dataverse.Open(context.Background(), "dataverse://"+orgHost, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// customer returns a customer event about subject at T0 + sec seconds.
func customer(subject, typ, id string, sec int, data string) hookline.Event {
	return sinktest.Event(subject, typ, id, sinktest.T0.Add(time.Duration(sec)*time.Second), data)
}

func mustWrite(t testing.TB, s *dataverse.Sink, ev hookline.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Write(ctx, ev); err != nil {
		t.Fatalf("Write(%s %s): %v (code %v)", ev.Type, ev.ID, err, hookline.Code(err))
	}
}

// mustApply writes ev with Apply and fails t unless it returns want.
func mustApply(t testing.TB, s *dataverse.Sink, ev hookline.Event, want sink.Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := s.Apply(ctx, ev)
	if err != nil {
		t.Fatalf("Apply(%s %s): %v (code %v)", ev.Type, ev.ID, err, hookline.Code(err))
	}
	if got != want {
		t.Fatalf("Apply(%s %s) = %v, want %v", ev.Type, ev.ID, got, want)
	}
}

// row returns the stored contact of subject, failing t if there is none.
func row(t testing.TB, srv *dataversetest.Server, subject string) dataversetest.Row {
	t.Helper()
	r, ok := srv.Row(contacts, subject)
	if !ok {
		t.Fatalf("no contact with %s=%s", keyCol, subject)
	}
	return r
}

// eventOf returns the event id stored in r's event-id column.
func eventOf(r dataversetest.Row) string {
	v, _ := r.Columns[idCol].(string)
	var id string
	fmt.Sscan(v, &id)
	return id
}

// fakeCredential hands out tokens from a list (the last one repeatedly) and counts calls.
type fakeCredential struct {
	mu     sync.Mutex
	tokens []string
	calls  int
	scopes []string
	expiry time.Duration
}

func (c *fakeCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := min(c.calls, len(c.tokens)-1)
	c.calls++
	c.scopes = append(c.scopes, o.Scopes...)
	exp := c.expiry
	if exp == 0 {
		exp = time.Hour
	}
	return azcore.AccessToken{Token: c.tokens[i], ExpiresOn: time.Now().Add(exp)}, nil
}

func (c *fakeCredential) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}
