-- adaptive-search.lua: find the highest rate the target sustains.
--
-- The search ramps the rate geometrically while the results stay healthy
-- (p99 latency within limit_ms and few errors). The first unhealthy rate
-- bounds the search from above: after one recovery round at a low rate it
-- bisects between the best healthy rate and the lowest unhealthy one, and
-- once the two are within `precision` it holds the best healthy rate for
-- a few rounds and ends the test by returning nil.
--
--   imager run -scenario=scenarios/adaptive-search.lua -target-url=http://127.0.0.1:8080 \
--     -scenario-options=limit_ms=50,start=50,max=5000
--
-- Results arrive late. Round k's result is known only after round k+1 has
-- been planned (rounds are planned ahead so that they start on time), so
-- rps for round k+2 is the first to see it as round.last. The search
-- therefore judges a probe only by the result of a round that ran at the
-- probe's rate, and skips the first `warmup` rounds of each probe, whose
-- latency includes opening new connections: a probe lasts warmup + 2
-- rounds.
--
-- Options:
--   limit_ms         p99 limit in ms; default -adaptive-max-latency-ms
--   max_error_ratio  largest share of failed, timed out, dropped or lost
--                    requests in a healthy round; default 0.01
--   start            first rate; default -min-rps
--   max              highest rate tried; default -max-rps
--   factor           ramp multiplier; default 2
--   precision        stop when the bounds are this close (rps); default 10
--   recover_rps      rate of the recovery round after an unhealthy probe; default 1
--   settle_rounds    rounds at the result before the test ends; default 3
--   warmup           rounds at the start of each probe not judged; default 1
--
-- The requests are random sums, GET /sum?a=..&b=.. with operands 1..1000.

local sum = require("lib.sum")
local log = require("imager.log")

local cfg = {}
local good = 0 -- highest rate found healthy (0: none yet)
local bad = nil -- lowest rate found unhealthy (nil while ramping)
local rate -- the rate being probed
local probe_from = nil -- index of the first round planned at `rate`
local recovering = false -- the round just planned was a recovery round
local settle_left = nil -- rounds still to run at `good` once converged

local function number(options, name, default, lowest)
  local n = tonumber(options[name] or default)
  if n == nil or n < lowest then
    error(string.format("option %s=%q: want a number >= %g", name, tostring(options[name] or default), lowest))
  end
  return n
end

function setup(options)
  local f = options.flags
  cfg.limit = number(options, "limit_ms", f.adaptive_max_latency_ms, 0)
  if cfg.limit == 0 then
    error("option limit_ms: want a p99 limit above 0 ms")
  end
  cfg.errors = number(options, "max_error_ratio", 0.01, 0)
  cfg.start = number(options, "start", f.min_rps, 1)
  cfg.max = number(options, "max", f.max_rps, cfg.start)
  cfg.factor = number(options, "factor", 2, 1.01)
  cfg.precision = number(options, "precision", 10, 1)
  cfg.recover = number(options, "recover_rps", 1, 0)
  cfg.settle = number(options, "settle_rounds", 3, 1)
  cfg.warmup = number(options, "warmup", 1, 0)
  rate = cfg.start
end

-- healthy judges one finished round.
local function healthy(o)
  if o.planned > 0 then
    -- failed counts every request that did not succeed: error
    -- responses, timeouts, dropped and lost requests.
    if o.failed / o.planned > cfg.errors then
      return false
    end
  end
  return o.p99 <= cfg.limit
end

-- settle switches to the final phase and returns its first rate.
local function settle(round)
  if good == 0 then
    log.warn("no healthy rate found", { lowest_unhealthy = bad, round = round.index })
    return nil
  end
  log.info("search converged", { rps = good, unhealthy_from = bad, round = round.index })
  settle_left = cfg.settle - 1
  return good
end

function rps(round)
  if settle_left ~= nil then
    if settle_left == 0 then
      return nil
    end
    settle_left = settle_left - 1
    return good
  end
  if probe_from == nil then
    probe_from = round.index
  end
  if recovering then
    -- The recovery round is planned; the next probe starts now.
    recovering = false
    probe_from = round.index
    return rate
  end
  local o = round.last
  if o == nil or o.index < probe_from + cfg.warmup then
    return rate -- no result for this probe yet: hold it
  end
  if healthy(o) then
    good = math.max(good, rate)
    if good >= cfg.max then
      return settle(round)
    end
    if bad == nil then
      rate = math.min(math.floor(rate * cfg.factor), cfg.max)
    else
      rate = math.floor((good + bad) / 2)
    end
  else
    bad = math.min(bad or rate, rate)
    rate = math.floor((good + bad) / 2)
    recovering = true
  end
  if bad ~= nil and bad - good <= cfg.precision then
    return settle(round)
  end
  probe_from = round.index
  if recovering then
    return cfg.recover
  end
  return rate
end

-- observe sees every finished round (the same results round.last shows).
-- Here it only logs them; run with -log-level=debug to see the lines.
function observe(result)
  log.debug("round result", {
    round = result.index,
    planned_rps = result.planned_rps,
    p99_ms = result.p99,
    failed = result.failed,
    timeouts = result.timeouts,
  })
end

function request()
  return sum.request("/sum", 1, 1000)
end
