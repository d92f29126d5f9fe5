package types_test

import (
	"fmt"
	"strconv"

	"github.com/PeladoCollado/imager/types"
)

// catalogSource is a custom request source: it walks a list of product
// IDs in order, asking for each product page, and starts over at the end.
// The orchestrator calls Next once per planned request and Reset to start
// the sequence again, never from two goroutines at once, so it needs no
// lock.
type catalogSource struct {
	ids []int
	pos int
}

var _ types.RequestSource = (*catalogSource)(nil)

// Next returns the request for the next product, wrapping around.
func (c *catalogSource) Next() (types.RequestSpec, error) {
	id := c.ids[c.pos%len(c.ids)]
	c.pos++
	return types.RequestSpec{
		Method:      "GET",
		Path:        "/products/" + strconv.Itoa(id),
		QueryString: "view=full",
		Headers:     map[string][]string{"Accept": {"application/json"}},
		Name:        "product",
	}, nil
}

// Reset starts again from the first product.
func (c *catalogSource) Reset() error {
	c.pos = 0
	return nil
}

// A RequestSource implements Next and Reset. Plug one into the
// orchestrator with app.RunOptions.RequestSourceFactory.
func ExampleRequestSource() {
	var src types.RequestSource = &catalogSource{ids: []int{7, 8}}
	for range 3 {
		spec, err := src.Next()
		if err != nil {
			fmt.Println("next:", err)
			return
		}
		fmt.Println(spec.Method, spec.Path+"?"+spec.QueryString, spec.Name)
	}
	if err := src.Reset(); err != nil {
		fmt.Println("reset:", err)
		return
	}
	spec, _ := src.Next()
	fmt.Println("after Reset:", spec.Path)
	// Output:
	// GET /products/7?view=full product
	// GET /products/8?view=full product
	// GET /products/7?view=full product
	// after Reset: /products/7
}

// Validate says whether a request can be sent exactly as written; a
// source can check what it builds before handing it out.
func ExampleRequestSpec_Validate() {
	specs := []types.RequestSpec{
		{Method: "POST", Path: "/orders", Body: `{"qty":2}`},
		{Method: "GET", Path: "orders"},
		{Method: "GET", Path: "/orders", Headers: map[string][]string{"Content-Length": {"9"}}},
	}
	for _, spec := range specs {
		if err := spec.Validate(); err != nil {
			fmt.Printf("%s %s: %v\n", spec.Method, spec.Path, err)
			continue
		}
		fmt.Printf("%s %s: ok\n", spec.Method, spec.Path)
	}
	// Output:
	// POST /orders: ok
	// GET orders: path "orders" must start with '/'
	// GET /orders: header Content-Length is set from the body when the request is sent: remove it
}

// burst runs three rounds at rising rates, then ends the test. It uses the
// Calculator contract directly: stop says the test is over, and an error
// would end it as failed.
type burst struct{}

var _ types.Calculator = burst{}

func (burst) NextRate(round int64) (int, bool, error) {
	if round >= 3 {
		return 0, true, nil
	}
	return int(round+1) * 100, false, nil
}

// fiftyTwice is a calculator in the older LoadCalculator form: a negative
// rate ends the test.
type fiftyTwice struct{ left int }

func (c *fiftyTwice) Next() int {
	c.left--
	if c.left < 0 {
		return -1
	}
	return 50
}

func ExampleCalculatorOf() {
	for _, calc := range []types.Calculator{burst{}, types.CalculatorOf(&fiftyTwice{left: 2})} {
		for round := int64(0); ; round++ {
			rps, stop, err := calc.NextRate(round)
			if err != nil || stop {
				fmt.Println("ended before round", round, "error:", err)
				break
			}
			fmt.Println("round", round, "at", rps, "rps")
		}
	}
	// Output:
	// round 0 at 100 rps
	// round 1 at 200 rps
	// round 2 at 300 rps
	// ended before round 3 error: <nil>
	// round 0 at 50 rps
	// round 1 at 50 rps
	// ended before round 2 error: <nil>
}
