package dataverse_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
	"github.com/hookline/hookline/sink/dataverse/dataversetest"
	"github.com/hookline/hookline/sink/sinktest"
)

// TestConformance runs the sink suite against the double, with the event-id column configured
// (without it, same-second ties cannot follow sink.Version exactly).
func TestConformance(t *testing.T) {
	var servers sync.Map // *dataverse.Sink -> *dataversetest.Server
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) sink.Sink {
			srv := newDouble(t)
			s := openSink(t, srv, nil)
			servers.Store(s, srv)
			return s
		},
		Lookup: func(t *testing.T, s sink.Sink, subject string) (sinktest.State, bool) {
			srv, _ := servers.Load(s)
			r, ok := srv.(*dataversetest.Server).Row(contacts, subject)
			if !ok {
				return sinktest.State{}, false
			}
			id, _, _ := strings.Cut(r.Columns[idCol].(string), " ")
			return sinktest.State{EventID: id, Deleted: r.Inactive()}, true
		},
		Unavailable: func(t *testing.T) sink.Sink {
			srv := newDouble(t)
			s := openSink(t, srv, nil)
			srv.Close()
			return s
		},
		Invalid: []hookline.Event{
			sinktest.Event("cus_badjson", "customer.created", "evt_badjson", sinktest.T0, `not json`),
			sinktest.Event("cus_array", "customer.created", "evt_array", sinktest.T0, `["a"]`),
			sinktest.Event("cus_type", "customer.updated", "evt_type", sinktest.T0, `{"email":42}`),
		},
	})
}

var _ sink.Applier = (*dataverse.Sink)(nil)
