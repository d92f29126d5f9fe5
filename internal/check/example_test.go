package check_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/PeladoCollado/imager/internal/check"
	"github.com/PeladoCollado/imager/types"
)

// A request's expect object is read with the request, compiled once per
// job, and every response is judged against it.
func Example() {
	var e types.Expect
	spec := `{"status":"200-299","json":{"status":"ok"},"max_latency":"250ms"}`
	if err := json.Unmarshal([]byte(spec), &e); err != nil {
		fmt.Println(err)
		return
	}
	set, err := check.Compile("search", e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(set.Names(), set.NeedsBody(), set.BodyLimit())

	body := []byte(`{"error":"overloaded"}`)
	failed := set.Judge(check.Response{Status: 200, Body: body, BodyLen: int64(len(body)), Latency: 20 * time.Millisecond})
	fmt.Println("failed:", set.Name(failed))
	// Output:
	// [search:status search:max_latency search:json:status] true 1048576
	// failed: search:json:status
}
