package azurefunctions

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// readInvocation reads and decodes the host's invocation request, answering it itself (and
// reporting false) when it cannot: 405 for a method other than POST, 413 past limit, 400 for a
// body that is not an invocation request.
func readInvocation(rw http.ResponseWriter, r *http.Request, limit int64) (InvokeRequest, bool) {
	var inv InvokeRequest
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		writeInvocationError(rw, http.StatusMethodNotAllowed, "invocation requests are POSTed")
		return inv, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeInvocationError(rw, http.StatusRequestEntityTooLarge, "invocation request too large")
			return inv, false
		}
		writeInvocationError(rw, http.StatusBadRequest, "unreadable invocation request")
		return inv, false
	}
	if err := json.Unmarshal(body, &inv); err != nil || inv.Data == nil {
		writeInvocationError(rw, http.StatusBadRequest, "not an invocation request: want {\"Data\":{...},\"Metadata\":{...}}")
		return inv, false
	}
	return inv, true
}

// writeInvocationError answers the host with a non-2xx status, which makes it fail the
// invocation. The body is an InvokeResponse with the reason in Logs; the host does not read it
// (it checks the status first), so the reason is logged by the caller as well.
func writeInvocationError(rw http.ResponseWriter, status int, msg string) {
	writeJSON(rw, status, InvokeResponse{Outputs: map[string]any{}, Logs: []string{"hookline: " + msg}})
}

func writeJSON(rw http.ResponseWriter, status int, v InvokeResponse) {
	if v.Outputs == nil {
		v.Outputs = map[string]any{}
	}
	if v.Logs == nil {
		v.Logs = []string{}
	}
	b, err := json.Marshal(v)
	if err != nil { // only the handler's own values are marshaled; this cannot happen
		http.Error(rw, "azurefunctions: cannot encode response", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(b)
}
