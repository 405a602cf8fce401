package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// page is what every template gets.
type page struct {
	Title    string
	Nav      string // the active entry of the navigation
	Error    string
	Notice   string
	Prefix   string
	ReadOnly bool
	LoggedIn bool
	Live     bool // the page refreshes itself (static/console.js)
	Data     any  // the page's own
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return ago(time.Since(t))
	},
	"pretty": prettyJSON,
	"q":      url.QueryEscape,
	"join":   strings.Join,
	"add":    func(a, b int) int { return a + b },
	"short":  short,
	// readOnlyEnv names the variable that made the console read-only.
	"readOnlyEnv": func() string { return EnvReadOnly },
}

// maxListReason is how much of a delivery's reason a list shows; the event's page shows all.
const maxListReason = 160

// short cuts s to maxListReason characters, at a character's boundary, ending in "…".
func short(s string) string {
	if len(s) <= maxListReason {
		return s
	}
	cut := maxListReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + "…"
}

func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// prettyJSON indents data for reading; data that does not parse (cut off at MaxData) is shown
// as it is. html/template escapes the result: it is text, never markup.
func prettyJSON(data []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return string(data)
	}
	return b.String()
}

// parseTemplates parses each page with the layout into a set of its own.
func (c *Console) parseTemplates() error {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return err
	}
	c.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("console: template %s: %w", n, err)
		}
		c.pages[base] = t
	}
	return nil
}

// render writes the page name with data, inside the layout.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := c.pages[name]
	if t == nil {
		http.Error(w, "console: no page "+name, http.StatusInternalServerError)
		return
	}
	p.Prefix, p.ReadOnly, p.LoggedIn = c.opts.Prefix, c.opts.ReadOnly, c.authorized(r)
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.Error("console: rendering a page failed", "page", name, "error", err)
		http.Error(w, "console: rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// filterOf reads the Events filter from a query.
func filterOf(q url.Values) Filter {
	f := Filter{Source: strings.TrimSpace(q.Get("source")), Type: strings.TrimSpace(q.Get("type")), Subject: strings.TrimSpace(q.Get("object")),
		ID: strings.TrimSpace(q.Get("id")), Status: q.Get("status")}
	f.Limit, _ = strconv.Atoi(q.Get("limit"))
	f.Before, _ = strconv.ParseUint(q.Get("before"), 10, 64)
	return f
}

// eventsView is the Events page's data.
type eventsView struct {
	Filter   Filter
	Events   []Event
	More     bool
	Next     string // the query of the next page
	Held     int
	Capacity int
	Statuses []string
}

func (c *Console) eventsView(r *http.Request) eventsView {
	f := filterOf(r.URL.Query())
	evs, more := c.events.list(f)
	v := eventsView{Filter: f, Events: evs, More: more, Held: c.events.len(), Capacity: c.opts.Recent,
		Statuses: []string{StatusAccepted, StatusStored, StatusIgnored, StatusReturned, StatusDeadLettered}}
	if more && len(evs) > 0 {
		q := r.URL.Query()
		q.Set("before", strconv.FormatUint(evs[len(evs)-1].Seq, 10))
		v.Next = q.Encode()
	}
	return v
}

func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "events", page{Title: "Events", Nav: "events", Live: true, Data: c.eventsView(r)})
}

// eventsJSON is the API's answer for a list of events.
type eventsJSON struct {
	Events []Event `json:"events"`
	More   bool    `json:"more"`
	Next   string  `json:"next,omitempty"` // the query of the next page
}

func (c *Console) eventsAPI(w http.ResponseWriter, r *http.Request) {
	v := c.eventsView(r)
	if v.Events == nil {
		v.Events = []Event{}
	}
	writeJSON(w, http.StatusOK, eventsJSON{Events: v.Events, More: v.More, Next: v.Next})
}

// eventJSON is the API's answer for one event: the record, with its data as JSON when it is
// whole, else as the text kept.
type eventJSON struct {
	Event
	Data          json.RawMessage `json:"data,omitempty"`
	DataText      string          `json:"data_text,omitempty"`
	DataTruncated bool            `json:"data_truncated"`
}

func (c *Console) eventAPI(w http.ResponseWriter, r *http.Request) {
	e, ok := c.events.find(r.PathValue("id"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, "no event "+strconv.Quote(r.PathValue("id"))+" among the recent ones this instance handled")
		return
	}
	out := eventJSON{Event: e, DataTruncated: e.DataTruncated()}
	if !out.DataTruncated && json.Valid(e.Data) {
		out.Data = e.Data
	} else {
		out.DataText = string(e.Data)
	}
	writeJSON(w, http.StatusOK, out)
}

func (c *Console) eventPage(w http.ResponseWriter, r *http.Request) {
	e, ok := c.events.find(r.PathValue("id"))
	if !ok {
		c.fail(w, r, http.StatusNotFound, "No event "+strconv.Quote(r.PathValue("id"))+" among the recent ones this instance handled.")
		return
	}
	c.render(w, r, http.StatusOK, "event", page{Title: "Event " + e.ID, Nav: "events", Data: e})
}
