package scenarios_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/app"
)

// headerMap turns "Name: value" lines into name -> values.
func headerMap(t *testing.T, lines []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("header line %q is not \"Name: value\"", l)
		}
		out[name] = append(out[name], value)
	}
	return out
}

// parseURL parses a sample's URL and checks it points at the dry run's
// target.
func parseURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("sample URL %q: %v", raw, err)
	}
	if got := u.Scheme + "://" + u.Host; got != target {
		t.Errorf("sample URL %q goes to %s, want %s", raw, got, target)
	}
	return u
}

// checkSum checks a GET /sum?a=..&b=.. request with integer operands in
// [lo, hi] and returns the operands.
func checkSum(t *testing.T, r app.DryRunRequest, lo, hi int) (a, b int) {
	t.Helper()
	u := parseURL(t, r.URL)
	if r.Method != "GET" || u.Path != "/sum" {
		t.Errorf("request %s %s, want GET /sum", r.Method, r.URL)
	}
	q := u.Query()
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(keys, []string{"a", "b"}) {
		t.Errorf("%s: query keys %v, want [a b]", r.URL, keys)
	}
	var ops [2]int
	for i, k := range []string{"a", "b"} {
		n, err := strconv.Atoi(q.Get(k))
		if err != nil || n < lo || n > hi {
			t.Errorf("%s: %s=%q, want an integer in [%d, %d]", r.URL, k, q.Get(k), lo, hi)
		}
		ops[i] = n
	}
	return ops[0], ops[1]
}

// sumRequests checks that every sample is a random sum in [lo, hi] and
// that the operands vary.
func sumRequests(lo, hi int) func(*testing.T, []app.DryRunRequest) {
	return func(t *testing.T, reqs []app.DryRunRequest) {
		seen := map[[2]int]bool{}
		for _, r := range reqs {
			a, b := checkSum(t, r, lo, hi)
			seen[[2]int{a, b}] = true
			if r.Body != "" {
				t.Errorf("%s: body %q, want none", r.URL, r.Body)
			}
		}
		if len(reqs) > 1 && hi > lo && len(seen) == 1 {
			t.Errorf("%d samples all have the operands %v, want random ones", len(reqs), seen)
		}
	}
}

// exactURLs checks the samples' URLs (and that they are GETs).
func exactURLs(want ...string) func(*testing.T, []app.DryRunRequest) {
	return func(t *testing.T, reqs []app.DryRunRequest) {
		var got []string
		for _, r := range reqs {
			got = append(got, r.URL)
			if r.Method != "GET" {
				t.Errorf("%s: method %s, want GET", r.URL, r.Method)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("sample URLs\n got %q\nwant %q", got, want)
		}
	}
}

// replayRequests checks the replay of requests.csv: its rows in order,
// wrapping around after the last.
func replayRequests(t *testing.T, reqs []app.DryRunRequest) {
	want := []struct {
		url     string
		headers []string
		body    string
	}{
		{url: target + "/sum?a=1&b=2"},
		{url: target + "/sum?a=-7&b=9", headers: []string{"Accept: text/plain"}},
		{url: target + "/healthz"},
		{url: target + "/sum?a=100&b=250", headers: []string{"Accept: text/plain", "X-Replay-Source: access-log"}},
		{url: target + "/sum?a=40&b=2", headers: []string{"Content-Type: application/json"},
			body: `{"note": "the sumservice ignores bodies; a JSON API would read this one"}`},
		{url: target + "/sum?a=3&b=4"},
		{url: target + "/sum?a=9223372036854775806&b=1", headers: []string{"X-Case: largest-sum"}},
		{url: target + "/sum?a=1&b=2"}, // the file starts over
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d samples, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != "GET" || r.URL != w.url || r.Body != w.body || !slices.Equal(r.Headers, w.headers) {
			t.Errorf("sample %d:\n got %s %s headers %q body %q\nwant GET %s headers %q body %q",
				i+1, r.Method, r.URL, r.Headers, r.Body, w.url, w.headers, w.body)
		}
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// mixRequests checks weighted-mix samples: only the endpoints in want,
// each of them at least once, with their shape and headers.
func mixRequests(want map[string]bool) func(*testing.T, []app.DryRunRequest) {
	return func(t *testing.T, reqs []app.DryRunRequest) {
		count := map[string]int{}
		ids := map[string]bool{}
		for _, r := range reqs {
			h := headerMap(t, r.Headers)
			name := strings.Join(h["X-Endpoint"], ",")
			count[name]++
			if !want[name] {
				t.Errorf("%s %s: X-Endpoint %q, want one of %v", r.Method, r.URL, name, want)
				continue
			}
			id := strings.Join(h["X-Request-Id"], ",")
			if !uuidPattern.MatchString(id) || ids[id] {
				t.Errorf("%s: X-Request-Id %q, want a fresh version 4 UUID", r.URL, id)
			}
			ids[id] = true
			if got := h["Accept"]; !slices.Equal(got, []string{"text/plain, application/json"}) {
				t.Errorf("%s: Accept %q", r.URL, got)
			}
			checkEndpoint(t, name, r, h)
		}
		for name := range want {
			if count[name] == 0 {
				t.Errorf("no %s request among %d samples (counts %v)", name, len(reqs), count)
			}
		}
		// With the default weights 70:20:10, 300 samples put "sum" well
		// ahead of the others.
		if want["sum"] && want["health"] && !(count["sum"] > count["sum_json"] && count["sum_json"] > count["health"]) {
			t.Errorf("endpoint counts %v, want sum > sum_json > health for weights 70:20:10", count)
		}
	}
}

// checkEndpoint checks the method, path, body and content type of one
// weighted-mix request.
func checkEndpoint(t *testing.T, name string, r app.DryRunRequest, h map[string][]string) {
	t.Helper()
	isJSON := slices.Equal(h["Content-Type"], []string{"application/json"})
	switch name {
	case "sum":
		checkSum(t, r, -1000, 1000)
		if r.Body != "" || isJSON {
			t.Errorf("%s: sum request with body %q / Content-Type %q", r.URL, r.Body, h["Content-Type"])
		}
	case "sum_json":
		a, b := checkSum(t, r, -1000, 1000)
		var body struct {
			Operation string `json:"operation"`
			Operands  []int  `json:"operands"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || !isJSON ||
			body.Operation != "add" || !slices.Equal(body.Operands, []int{a, b}) {
			t.Errorf("%s: body %q Content-Type %q, want JSON {operation=add, operands=[%d,%d]} (%v)", r.URL, r.Body, h["Content-Type"], a, b, err)
		}
	case "health":
		if u := parseURL(t, r.URL); r.Method != "GET" || u.Path != "/healthz" || u.RawQuery != "" || r.Body != "" {
			t.Errorf("health request %s %s body %q, want GET /healthz", r.Method, r.URL, r.Body)
		}
	case "orders":
		u := parseURL(t, r.URL)
		var body struct {
			OrderID string `json:"order_id"`
			Items   []struct {
				SKU      string `json:"sku"`
				Quantity int    `json:"quantity"`
			} `json:"items"`
		}
		err := json.Unmarshal([]byte(r.Body), &body)
		if r.Method != "POST" || u.Path != "/api/orders" || err != nil || !isJSON ||
			!uuidPattern.MatchString(body.OrderID) || len(body.Items) < 1 || len(body.Items) > 3 {
			t.Errorf("orders request %s %s body %q Content-Type %q, want POST /api/orders with a JSON order (%v)",
				r.Method, r.URL, r.Body, h["Content-Type"], err)
		}
		for _, it := range body.Items {
			if !strings.HasPrefix(it.SKU, "sku-") || it.Quantity < 1 || it.Quantity > 5 {
				t.Errorf("order item %+v, want sku-N with quantity 1..5", it)
			}
		}
	}
}
