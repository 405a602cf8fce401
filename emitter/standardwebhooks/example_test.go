package standardwebhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter/standardwebhooks"
)

// printSender stands in for a channel: it prints each event it is given.
type printSender struct{}

func (printSender) Send(_ context.Context, ev hookline.Event) error {
	fmt.Println("sent:", ev.ID, ev.Source, ev.Type, ev.Subject, ev.Object, ev.Action, ev.Time.Format(time.RFC3339Nano))
	fmt.Println("data:", string(ev.Data))
	return nil
}

func ExampleNewHandler() {
	// In a real deployment: standardwebhooks.ParseSecrets(os.Getenv(standardwebhooks.EnvSecret)).
	secrets := standardwebhooks.ParseSecrets("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	h, err := standardwebhooks.NewHandler(secrets, printSender{}, nil, nil)
	if err != nil {
		log.Fatal(err)
	}

	// What a sender would POST: a signed user.deleted event.
	body := standardwebhooks.SampleEvent("user.deleted", "user_29w83sxmDNGwOuEthce5gg56FcC",
		time.Date(2024, 3, 1, 12, 0, 0, 344522000, time.UTC))
	post := func(secret string) {
		req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
		for k, v := range standardwebhooks.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", time.Now(), body, secret) {
			req.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}
	post(secrets[0])

	// The same delivery signed with another secret is refused, and nothing is sent.
	post(standardwebhooks.GenerateSecret())
	// Output:
	// sent: msg_2KWPBgLlAfxdpx2AI54pPJ85f4W standardwebhooks user.deleted user_29w83sxmDNGwOuEthce5gg56FcC user deleted 2024-03-01T12:00:00.344522Z
	// data: {"id":"user_29w83sxmDNGwOuEthce5gg56FcC","object":"user","deleted":true}
	// 200 {"received":true,"id":"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"}
	// 400 {"error":"invalid signature"}
}

func ExampleOptionsFromURL() {
	u, err := url.Parse("standardwebhooks://?subject=/data/object/id&types=invoice.*")
	if err != nil {
		log.Fatal(err)
	}
	opts, err := standardwebhooks.OptionsFromURL(u)
	if err != nil {
		log.Fatal(err)
	}
	h, err := standardwebhooks.NewHandler([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, printSender{}, &opts, nil)
	if err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"type":"invoice.paid","timestamp":"2024-03-01T12:00:00.5Z","data":{"object":{"id":"in_1","total":4200}}}`)
	req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(body))
	for k, v := range standardwebhooks.Sign("msg_1", time.Now(), body, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// sent: msg_1 standardwebhooks invoice.paid in_1 invoice updated 2024-03-01T12:00:00.5Z
	// data: {"object":{"id":"in_1","total":4200}}
	// 200 {"received":true,"id":"msg_1"}
}
