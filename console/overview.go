package console

import (
	"net/http"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// overview keeps the Overview page's per-minute series, read from the console's metric reader.
type overview struct {
	reader *sdkmetric.ManualReader
}

func newOverview(r *sdkmetric.ManualReader) *overview { return &overview{reader: r} }

func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Live: true})
}

func (c *Console) overviewAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct{}{})
}
