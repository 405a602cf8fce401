package console

import (
	"context"
	"net/http"
)

// operations are the console's actions: listing, replaying and discarding dead letters, and
// running a recovery.
type operations struct{}

func (o *operations) close(ctx context.Context) error { return nil }

// routeOperations adds the Dead letters and Recover pages and their API to m.
func (c *Console) routeOperations(m *http.ServeMux) {
	p := c.opts.Prefix
	m.HandleFunc("GET "+p+"deadletters", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "deadletters", page{Title: "Dead letters", Nav: "deadletters"})
	})
	m.HandleFunc("GET "+p+"recover", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "recover", page{Title: "Recover", Nav: "recover"})
	})
}
