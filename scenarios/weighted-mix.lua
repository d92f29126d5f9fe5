-- weighted-mix.lua: several endpoints in a weighted mix, with JSON bodies
-- and per-request ids.
--
-- Each request picks an endpoint at random, in proportion to its weight:
--
--   endpoint   weight  request
--   sum          70    GET /sum?a=..&b=..
--   sum_json     20    GET /sum?a=..&b=.. with a JSON body describing the
--                      operation (Content-Type: application/json)
--   health       10    GET /healthz
--   orders        0    POST /api/orders with a JSON order
--
-- Every request carries X-Request-Id (a fresh UUID), X-Endpoint (the
-- endpoint's name, handy when reading the target's logs) and Accept.
--
-- The sumservice only knows GET /sum and GET /healthz, and it ignores
-- bodies, so with the default weights every request succeeds. "orders"
-- shows a POST with a JSON body; the sumservice would answer it with 404,
-- which is why its weight is 0. Give it a weight when the target has such
-- an endpoint.
--
--   imager run -scenario=scenarios/weighted-mix.lua -target-url=http://127.0.0.1:8080 \
--     -scenario-options=sum=50,sum_json=40,health=10 -min-rps=50 -max-rps=50 -duration=1m
--
-- Options: one weight per endpoint name (numbers >= 0, not all 0).

local json = require("imager.json")
local random = require("imager.random")
local uuid = require("imager.uuid")

local function operands()
  return random.int(-1000, 1000), random.int(-1000, 1000)
end

-- The endpoints, each with a default weight and a function that builds
-- its method, path, query and body (headers are added in request()).
local endpoints = {
  {
    name = "sum",
    weight = 70,
    build = function()
      local a, b = operands()
      return { path = "/sum", query = { a = a, b = b } }
    end,
  },
  {
    name = "sum_json",
    weight = 20,
    build = function()
      local a, b = operands()
      return {
        path = "/sum",
        query = { a = a, b = b },
        body = json.encode({ operation = "add", operands = { a, b } }),
        json = true,
      }
    end,
  },
  {
    name = "health",
    weight = 10,
    build = function()
      return { path = "/healthz" }
    end,
  },
  {
    name = "orders",
    weight = 0,
    build = function()
      local items = json.array()
      for i = 1, random.int(1, 3) do
        items[i] = { sku = "sku-" .. random.int(1, 500), quantity = random.int(1, 5) }
      end
      return {
        method = "POST",
        path = "/api/orders",
        body = json.encode({ order_id = uuid.v4(), items = items }),
        json = true,
      }
    end,
  },
}

local pick -- set by setup: returns an endpoint, by weight

function setup(options)
  local weights = {}
  for i, e in ipairs(endpoints) do
    local w = tonumber(options[e.name] or e.weight)
    if w == nil or w < 0 then
      error(string.format("option %s=%q: want a weight >= 0", e.name, tostring(options[e.name])))
    end
    weights[i] = w
  end
  -- picker checks the weights once (error when they are all 0) and then
  -- picks in O(log n) per call.
  pick = random.picker(endpoints, weights)
end

function request()
  local e = pick()
  local r = e.build()
  local headers = {
    ["X-Request-Id"] = uuid.v4(),
    ["X-Endpoint"] = e.name,
    ["Accept"] = "text/plain, application/json",
  }
  if r.json then
    headers["Content-Type"] = "application/json"
  end
  return {
    method = r.method, -- nil means GET
    path = r.path,
    query = r.query,
    headers = headers,
    body = r.body,
  }
end
