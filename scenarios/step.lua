-- step.lua: a step load profile written in Lua.
--
-- It defines only rps(round), so it is a load calculator: pair it with a
-- request source, a built-in one or another scenario's requests, e.g.
--
--   imager run -scenario=scenarios/step.lua -request-source-type=random-sum \
--     -target-url=http://127.0.0.1:8080 -scenario-options=start=10,step=10,max=50,rounds=8
--
-- Round i runs at min(start + i*step, max) requests per second; after
-- `rounds` rounds rps returns nil and the test ends.
--
-- Options (all numbers):
--   start  first rate; default -min-rps
--   step   increase per round; default -step-rps
--   max    highest rate; default -max-rps
--   rounds rounds before the test ends; default 10

local start, step, max, rounds

-- number reads a numeric option, naming it when it is not a number.
local function number(options, name, default)
  local raw = options[name]
  if raw == nil then
    return default
  end
  local n = tonumber(raw)
  if n == nil then
    error(string.format("option %s=%q is not a number", name, raw))
  end
  return n
end

function setup(options)
  local f = options.flags
  start = number(options, "start", f.min_rps)
  step = number(options, "step", f.step_rps)
  max = number(options, "max", f.max_rps)
  rounds = number(options, "rounds", 10)
  if start < 0 or step < 0 or max < start then
    error(string.format("want 0 <= start <= max and step >= 0, got start=%g step=%g max=%g", start, step, max))
  end
end

-- rps is asked for each round's rate before the round starts. Returning
-- nil ends the test after the rounds already planned.
function rps(round)
  if round.index >= rounds then
    return nil
  end
  return math.min(start + round.index * step, max)
end
