// Package sumservice is a tiny HTTP service used as a demo load-test target.
// It adds two integers:
//
//	GET /sum?a=7&b=9
//
// answers 200 OK with Content-Type "text/plain; charset=utf-8" and a body
// holding the decimal sum followed by a single newline, here "16\n". Both
// operands are base-10 signed 64-bit integers. A missing operand, one that is
// not an integer, one outside the int64 range, a sum that overflows int64 or
// a malformed query string gets 400 Bad Request with a one-line plain-text
// message, for example `parameter "b" is not an integer: "x"`.
//
//	GET /healthz
//
// answers 200 OK with the body "ok\n". Both routes accept only GET; any
// other method gets 405 Method Not Allowed with "Allow: GET". Unknown paths
// get 404.
package sumservice

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Handler returns the service's routes: /sum and /healthz. It holds no state
// and is safe for concurrent use.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/sum", getOnly(handleSum))
	mux.HandleFunc("/healthz", getOnly(handleHealthz))
	return mux
}

// getOnly rejects every method but GET with 405.
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, fmt.Sprintf("method %s not allowed, use GET", r.Method), http.StatusMethodNotAllowed)
			return
		}
		h(w, r)
	}
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, "ok\n")
}

func handleSum(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		http.Error(w, "malformed query string", http.StatusBadRequest)
		return
	}
	a, err := operand(q, "a")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b, err := operand(q, "b")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum, ok := add(a, b)
	if !ok {
		http.Error(w, fmt.Sprintf("sum of %d and %d overflows a 64-bit integer", a, b), http.StatusBadRequest)
		return
	}
	buf := make([]byte, 0, 24)
	buf = strconv.AppendInt(buf, sum, 10)
	buf = append(buf, '\n')
	writeText(w, string(buf))
}

// maxQuoted caps how much of a bad parameter value an error message repeats.
const maxQuoted = 64

// operand reads the integer query parameter name. When the parameter is
// repeated, the first value counts.
func operand(q url.Values, name string) (int64, error) {
	vals, ok := q[name]
	if !ok || len(vals) == 0 {
		return 0, fmt.Errorf("missing parameter %q", name)
	}
	v := vals[0]
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if len(v) > maxQuoted {
			v = v[:maxQuoted] + "..."
		}
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("parameter %q is out of the 64-bit integer range: %q", name, v)
		}
		return 0, fmt.Errorf("parameter %q is not an integer: %q", name, v)
	}
	return n, nil
}

// add returns a+b and whether it fits in an int64.
func add(a, b int64) (int64, bool) {
	s := a + b
	// Overflow happened exactly when both operands share a sign that the
	// result does not.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, false
	}
	return s, true
}

// writeText sends body as a 200 plain-text response.
func writeText(w http.ResponseWriter, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body)) // a failed write means the client went away
}
