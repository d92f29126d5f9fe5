package script_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/PeladoCollado/imager/script"
)

// loadScenario writes a scenario file into a new temporary folder, which
// becomes its scenario folder, and loads it. The caller removes the folder.
func loadScenario(source string) (*script.Scenario, string, error) {
	dir, err := os.MkdirTemp("", "imager-scenario")
	if err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, "scenario.lua")
	if err := os.WriteFile(path, []byte(source), 0o600); err != nil {
		return nil, dir, err
	}
	s, err := script.Load(path)
	return s, dir, err
}

// shopScenario is a request source in Lua: it walks the items in order,
// picks a user at random and names the requests for per-name results.
const shopScenario = `
local items = {"apple", "pear", "plum"}
local n = 0

function request()
  n = n + 1
  local item = items[(n - 1) % #items + 1]
  return {
    method = "GET",
    path = "/items/" .. item,
    query = "user=" .. math.random(1, 1000),
    headers = {["X-Request"] = tostring(n)},
    name = "item",
  }
end

function reset()
  n = 0
end
`

// A scenario's request() backs a types.RequestSource. The VM's random
// generator is seeded from VMConfig.Seed, so a seed gives the same
// requests every run.
func ExampleNewRequestSource() {
	s, dir, err := loadScenario(shopScenario)
	defer os.RemoveAll(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := script.NewRequestSource(s, script.VMConfig{Seed: 42}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	for range 4 {
		spec, err := src.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(spec.Method, spec.Path+"?"+spec.QueryString, spec.Headers["X-Request"], spec.Name)
	}
	if err := src.Reset(); err != nil {
		fmt.Println(err)
		return
	}
	spec, _ := src.Next()
	fmt.Println("after Reset:", spec.Path, spec.Headers["X-Request"])
	// Output:
	// GET /items/apple?user=356 [1] item
	// GET /items/pear?user=763 [2] item
	// GET /items/plum?user=294 [3] item
	// GET /items/apple?user=951 [4] item
	// after Reset: /items/apple [1]
}

// rampScenario is a load calculator in Lua: setup reads the step from the
// scenario options and rps(round) climbs by it, ending the test by
// returning nil after four rounds. thresholds judge the run.
const rampScenario = `
thresholds = {"p99 < 250ms", "error_rate <= 1%"}

local step

function setup(options)
  step = tonumber(options.step or "10")
end

function rps(round)
  if round.index >= 4 then
    return nil
  end
  return step * (round.index + 1)
end
`

// A scenario's rps(round) backs a manager.LoadCalculator: Next returns -1,
// the end of the test, once rps returns nil. Validate reports the roles a
// scenario can play and its thresholds.
func ExampleNewLoadCalculator() {
	s, dir, err := loadScenario(rampScenario)
	defer os.RemoveAll(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := script.VMConfig{Options: map[string]string{"step": "25"}}
	roles, err := s.Validate(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("request=%v rps=%v thresholds=%q\n", roles.Request, roles.RPS, roles.Thresholds)

	calc, err := script.NewLoadCalculator(s, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer calc.Close()
	var rates []int
	for range 6 {
		rates = append(rates, calc.Next())
	}
	fmt.Println(rates, "err:", calc.Err())
	// Output:
	// request=false rps=true thresholds=["p99 < 250ms" "error_rate <= 1%"]
	// [25 50 75 100 -1 -1] err: <nil>
}

// Load compiles the scenario and reports a syntax error with the file
// name and line.
func ExampleLoad() {
	s, dir, err := loadScenario("function request()\n  return {method = \"GET\", path = \"/\"\nend\n")
	defer os.RemoveAll(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("loaded", s.Name())
	// Output:
	// scenario.lua:3: syntax error near 'end': syntax error
}
