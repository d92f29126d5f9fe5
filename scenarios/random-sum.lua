-- random-sum.lua: random additions against the sumservice.
--
-- The simplest useful scenario: it defines only request(), so it is a
-- request source and the rate comes from a built-in load calculator (step
-- unless -load-calculator says otherwise):
--
--   imager run -scenario=scenarios/random-sum.lua -target-url=http://127.0.0.1:8080 \
--     -min-rps=10 -max-rps=100 -step-rps=10 -duration=30s
--
-- Every request is GET /sum?a=<int>&b=<int>, which the sumservice answers
-- with 200 and the sum.
--
-- Options (-scenario-options=min=1,max=100):
--   min, max  operand range; default -random-sum-min and -random-sum-max
--   path      request path; default -random-sum-path (/sum)

local sum = require("lib.sum")

-- Defaults for the top level; setup() replaces them with the options.
local path, lo, hi = "/sum", 1, 1000

-- setup runs once per VM, after the top level, with -scenario-options as
-- strings and the built-in flags under options.flags.
function setup(options)
  path = options.path or options.flags.random_sum_path
  lo, hi = sum.operands(options)
end

-- request runs once per request and returns the request table.
function request()
  return sum.request(path, lo, hi)
end
