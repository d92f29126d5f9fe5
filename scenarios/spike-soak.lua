-- spike-soak.lua: a baseline, a sudden spike, then a long soak.
--
--   rate
--    spike |        ____
--          |       |    |
--    soak  |       |    |______________________
--    base  |_______|
--          +-------+----+----------------------+--> time
--           baseline spike        soak          end
--
-- The phase is chosen from the time since the test started, so the shape
-- keeps its length whatever -round-interval is. It also defines request()
-- (random sums), so it runs on its own:
--
--   imager run -scenario=scenarios/spike-soak.lua -target-url=http://127.0.0.1:8080
--
-- Options (rates in requests/s, lengths in seconds):
--   baseline, baseline_s  default 20 rps for 30 s
--   spike, spike_s        default 200 rps for 10 s
--   soak, soak_s          default 50 rps for 300 s
--   min, max              operand range of the sums (see lib/sum.lua)

local sum = require("lib.sum")
local log = require("imager.log")

local phases -- list of {name, rps, seconds}
local interval -- -round-interval in seconds
local lo, hi = 1, 1000

local function number(options, name, default)
  local n = tonumber(options[name] or default)
  if n == nil or n < 0 then
    error(string.format("option %s=%q: want a number >= 0", name, options[name]))
  end
  return n
end

function setup(options)
  phases = {
    { name = "baseline", rps = number(options, "baseline", 20), seconds = number(options, "baseline_s", 30) },
    { name = "spike", rps = number(options, "spike", 200), seconds = number(options, "spike_s", 10) },
    { name = "soak", rps = number(options, "soak", 50), seconds = number(options, "soak_s", 300) },
  }
  interval = options.flags.round_interval
  lo, hi = sum.operands(options)
end

-- now is the test's position in seconds: the time since the first rps
-- call, or the round's place on the schedule if that is later (a round
-- planned a little early still belongs to its slot).
local function now(round)
  return math.max(round.elapsed, round.index * interval)
end

local current -- name of the phase of the last planned round, for logging

function rps(round)
  local t = now(round)
  for _, p in ipairs(phases) do
    if t < p.seconds then
      if current ~= p.name then
        current = p.name
        log.info("phase starts", { phase = p.name, rps = p.rps, round = round.index })
      end
      return p.rps
    end
    t = t - p.seconds
  end
  return nil -- past the soak: the test ends
end

function request()
  return sum.request("/sum", lo, hi)
end
