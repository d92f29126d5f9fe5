-- lib/sum.lua: a helper module that builds sumservice requests.
--
-- It is not a scenario (it defines no request() or rps()); scenarios in
-- this folder load it with
--
--   local sum = require("lib.sum")
--
-- require("lib.sum") reads lib/sum.lua from the scenario's own folder.
-- Each Lua VM runs this file once and caches the table it returns.

local random = require("imager.random")

local M = {}

-- M.operands(options) reads the operand range from -scenario-options
-- (min=, max=), falling back to the built-in -random-sum-min and
-- -random-sum-max flags. Options arrive as strings, hence tonumber.
function M.operands(options)
  local lo = tonumber(options.min) or options.flags.random_sum_min
  local hi = tonumber(options.max) or options.flags.random_sum_max
  if lo > hi then
    error(string.format("option min (%d) is greater than max (%d)", lo, hi))
  end
  return lo, hi
end

-- M.request(path, lo, hi) returns a GET request for path with two random
-- integer operands in [lo, hi]: GET /sum?a=17&b=923.
function M.request(path, lo, hi)
  return {
    path = path,
    query = { a = random.int(lo, hi), b = random.int(lo, hi) },
  }
end

return M
