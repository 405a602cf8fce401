package azurefunctions_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/hookline/hookline/adapters/azurefunctions"
)

// The value of the http output binding "res" for a refused delivery, as the webhook writes it
// in invocation mode.
func ExampleNewHTTPResponse() {
	res := azurefunctions.NewHTTPResponse(http.StatusBadRequest,
		http.Header{"Content-Type": {"application/json"}}, []byte(`{"error":"invalid signature"}`))
	b, _ := json.Marshal(azurefunctions.InvokeResponse{Outputs: map[string]any{"res": res}, Logs: []string{}})
	fmt.Println(string(b))
	// Output:
	// {"Outputs":{"res":{"statusCode":"400","status":"400","body":"{\"error\":\"invalid signature\"}","headers":{"Content-Type":"application/json"}}},"Logs":[],"ReturnValue":null}
}
