-- A realistic request source: a random sum with a request id and a
-- weighted choice of endpoint, the shape the benchmarks measure.
local random = require("imager.random")

local paths = random.picker({"/sum", "/sum", "/health"}, {8, 1, 1})
local count = 0

function request()
  count = count + 1
  return {
    path = paths(),
    query = {a = random.int(1, 1000), b = random.int(1, 1000)},
    headers = {
      ["X-Request-Id"] = "req-" .. count,
      Accept = "application/json",
    },
  }
end

function rps(round)
  if round.index >= 1000000 then
    return nil
  end
  local rate = 100 + 10 * round.index
  if round.last and round.last.p99 > 250 then
    rate = round.last.planned_rps / 2
  end
  return rate
end
