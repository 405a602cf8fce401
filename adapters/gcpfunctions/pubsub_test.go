package gcpfunctions_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hookline/hookline/adapters/gcpfunctions"
)

func TestDecodePushRequest(t *testing.T) {
	// Pub/Sub's documented push body, with the snake_case duplicates and a delivery attempt.
	body := `{"message":{"attributes":{"key":"value"},"data":"SGVsbG8gQ2xvdWQgUHViL1N1YiEgSGVyZSBpcyBteSBtZXNzYWdlIQ==",
		"messageId":"2070443601311540","message_id":"2070443601311540","orderingKey":"cus_1",
		"publishTime":"2021-02-26T19:13:55.749Z","publish_time":"2021-02-26T19:13:55.749Z"},
		"subscription":"projects/myproject/subscriptions/mysubscription","deliveryAttempt":5}`
	req, err := gcpfunctions.DecodePushRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if string(req.Message.Data) != "Hello Cloud Pub/Sub! Here is my message!" {
		t.Errorf("data %q", req.Message.Data)
	}
	if req.Message.Attributes["key"] != "value" || req.Message.MessageID != "2070443601311540" ||
		req.Message.OrderingKey != "cus_1" || req.Message.PublishTime != "2021-02-26T19:13:55.749Z" {
		t.Errorf("message %+v", req.Message)
	}
	if req.Subscription != "projects/myproject/subscriptions/mysubscription" || req.DeliveryAttempt != 5 {
		t.Errorf("subscription %q attempt %d", req.Subscription, req.DeliveryAttempt)
	}
}

func TestDecodePushRequestData(t *testing.T) {
	raw := []byte{0xfb, 0xff, 0x00, 'h', 'i'}
	for name, data := range map[string]string{
		"standard": "+/8AaGk=", "standard unpadded": "+/8AaGk", "url-safe": "-_8AaGk=", "url-safe unpadded": "-_8AaGk",
	} {
		req, err := gcpfunctions.DecodePushRequest([]byte(`{"message":{"data":"` + data + `"}}`))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(req.Message.Data, raw) {
			t.Errorf("%s: data %x, want %x", name, req.Message.Data, raw)
		}
	}
	// No data (a message with attributes only) is an empty body, which the processor dead-letters.
	req, err := gcpfunctions.DecodePushRequest([]byte(`{"message":{"attributes":{"a":"b"}}}`))
	if err != nil || len(req.Message.Data) != 0 || req.DeliveryAttempt != 0 {
		t.Errorf("attributes only: %+v, %v", req, err)
	}
	// Round trip through MarshalJSON.
	b, err := json.Marshal(gcpfunctions.PushRequest{Message: gcpfunctions.Message{Data: raw}})
	if err != nil || !strings.Contains(string(b), `"data":"+/8AaGk="`) {
		t.Errorf("marshal: %s, %v", b, err)
	}
}

func TestDecodePushRequestRefuses(t *testing.T) {
	for _, body := range []string{``, `null`, `[]`, `{}`, `{"message":null}`, `{"message":"x"}`,
		`{"message":{"data":"%%%"}}`, `{"message":{"data":12}}`, `{"message":{}, "deliveryAttempt":"x"}`} {
		if _, err := gcpfunctions.DecodePushRequest([]byte(body)); !errors.Is(err, gcpfunctions.ErrNotPushRequest) {
			t.Errorf("%q: error %v, want ErrNotPushRequest", body, err)
		}
	}
}

func TestNewLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(gcpfunctions.NewLogHandler(&buf, slog.LevelDebug))
	log.Debug("d")
	log.Info("i", "message", "m1", "severity", "s1")
	log.Warn("w")
	log.Error("e")
	var got []string
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, rec["severity"].(string)+":"+rec["message"].(string))
		if _, ok := rec["level"]; ok {
			t.Errorf("%q still has level", line)
		}
		if strings.Count(line, `"message":`) != 1 || strings.Count(line, `"severity":`) != 1 {
			t.Errorf("%q: duplicate keys", line)
		}
		if rec["message"] == "i" && (rec["attr_message"] != "m1" || rec["attr_severity"] != "s1") {
			t.Errorf("%q: colliding attributes not renamed", line)
		}
	}
	if want := "DEBUG:d INFO:i WARNING:w ERROR:e"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s", got, want)
	}
}
