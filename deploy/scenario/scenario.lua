-- scenario.lua: random additions against the built-in target, shipped to
-- the orchestrator in the ConfigMap imager-scenario (see README.md here).
--
-- It defines only request(), so it is the request source and the rate
-- comes from the built-in step calculator (-min-rps, -max-rps, -step-rps).
-- It needs nothing beside itself: a ConfigMap key cannot hold a folder, so
-- a self-contained file is the easiest thing to ship.
--
-- Options (-scenario-options=min=1,max=100,negative=10):
--   min, max   operand range; default -random-sum-min and -random-sum-max
--   negative   percent of requests whose first operand is negated; default 0
--
-- Check it without a cluster:
--   go run ./cmd/imager dry-run -scenario=deploy/scenario/scenario.lua

local random = require("imager.random")
local log = require("imager.log")

-- Bump this when you edit the file: the orchestrator logs it when the new
-- version is loaded, so you can see a ConfigMap update arrive.
local VERSION = "1"

local path, lo, hi, negative = "/sum", 1, 1000, 0

-- setup runs once per Lua VM with -scenario-options (strings) and the
-- built-in flags under options.flags.
function setup(options)
  path = options.flags.random_sum_path
  lo = tonumber(options.min) or options.flags.random_sum_min
  hi = tonumber(options.max) or options.flags.random_sum_max
  negative = tonumber(options.negative) or 0
  if lo > hi then
    error(string.format("option min (%d) is greater than max (%d)", lo, hi))
  end
  if negative < 0 or negative > 100 then
    error(string.format("option negative (%s) must be a percentage, 0 to 100", options.negative))
  end
  log.info("scenario ready", {version = VERSION, min = lo, max = hi, negative = negative})
end

-- request runs once per request: GET /sum?a=<int>&b=<int>.
function request()
  local a = random.int(lo, hi)
  if negative > 0 and random.float() * 100 < negative then
    a = -a
  end
  return {
    path = path,
    query = { a = a, b = random.int(lo, hi) },
    headers = { ["X-Imager-Scenario"] = "configmap-v" .. VERSION },
  }
end
