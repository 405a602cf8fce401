package main

import (
	"database/sql"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/internal/testsupport/swsign"
)

// hookline serve with HOOKLINE_SOURCE=standardwebhooks:// carries a Standard Webhooks event,
// signed here per the specification, into standardwebhooks_objects; a source whose package the
// command does not link is refused at start with the import to add.
func TestServeStandardWebhooks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "serve.db")
	secret := swsign.Secret()
	env := map[string]string{"HOOKLINE_SOURCE": "standardwebhooks://?subject=/data/id", "HOOKLINE_WEBHOOK_SECRET": secret,
		"HOOKLINE_CHANNEL": "inproc://serve-sw", "HOOKLINE_SINK": "sqlite://" + db}
	addr, stop := serveUntilListening(t, env)
	at := time.Now().Add(-time.Second).Truncate(time.Millisecond)
	code, err := swsign.Post(http.DefaultClient, "http://"+addr+"/webhook", secret, "msg_serve_1", time.Now(),
		swsign.Payload("contact.updated", "contact_1", "Grace", at))
	if err != nil || code != http.StatusOK {
		t.Fatalf("webhook answered %d, %v", code, err)
	}
	if code, _ := swsign.Post(http.DefaultClient, "http://"+addr+"/webhook", swsign.Secret(), "msg_forged", time.Now(),
		swsign.Payload("contact.updated", "contact_1", "Mallory", at.Add(time.Second))); code != http.StatusBadRequest {
		t.Errorf("a forged delivery was answered %d, want 400", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var id, object, data string
	var nanos int64
	err = conn.QueryRow(`SELECT event_id, object, data, event_nanos FROM standardwebhooks_objects WHERE id = 'contact_1'`).
		Scan(&id, &object, &data, &nanos)
	if err != nil || id != "msg_serve_1" || object != "contact" || !strings.Contains(data, "Grace") || nanos != int64(at.Nanosecond()) {
		t.Errorf("row: %s %s %s nanos %d (want %d), %v", id, object, data, nanos, at.Nanosecond(), err)
	}
}

func TestServeRefusesASourceNotLinked(t *testing.T) {
	_, _, err := runCmd(t, map[string]string{"HOOKLINE_SOURCE": "github://"}, "serve", "-addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_SOURCE") || !strings.Contains(err.Error(), "github://") {
		t.Errorf("serve with an unknown source: %v", err)
	}
}
