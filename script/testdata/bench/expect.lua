-- The benchmark scenario's requests, each with response checks: one
-- expect table made once and returned by every request.
local random = require("imager.random")

local paths = random.picker({"/sum", "/sum", "/health"}, {8, 1, 1})
local count = 0
local checks = {
  status = {"200-299", 304},
  body_contains = "result",
  body_regex = "^\\{\"result\":-?[0-9]+\\}$",
  json = {["$.result"] = 42, ["meta.ok"] = true},
  header = {["Content-Type"] = "application/json"},
  max_latency = "250ms",
}

function request()
  count = count + 1
  return {
    path = paths(),
    query = {a = random.int(1, 1000), b = random.int(1, 1000)},
    headers = {
      ["X-Request-Id"] = "req-" .. count,
      Accept = "application/json",
    },
    expect = checks,
  }
end
