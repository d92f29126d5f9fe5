-- Tests for imager.log. The harness logs JSON lines at debug level (no time).
local log = require("imager.log")
local json = require("imager.json")

local function records()
  local out = {}
  for line in take_logs():gmatch("[^\n]+") do out[#out + 1] = json.decode(line) end
  return out
end

function test_levels()
  log.debug("d")
  log.info("i")
  log.warn("w")
  log.error("e")
  local r = records()
  assert_eq(#r, 4, "four records")
  assert_eq({r[1].level, r[1].msg}, {"DEBUG", "d"}, "debug")
  assert_eq({r[2].level, r[2].msg}, {"INFO", "i"}, "info")
  assert_eq({r[3].level, r[3].msg}, {"WARN", "w"}, "warn")
  assert_eq({r[4].level, r[4].msg}, {"ERROR", "e"}, "error")
end

function test_fields()
  log.info("picked", {user = "ann", n = 3, ratio = 0.5, ok = true, [7] = "seven",
    tags = {"a", "b"}, none = json.null, fn = print})
  local r = records()[1]
  assert_eq(r.user, "ann", "string")
  assert_eq(r.n, 3, "integer")
  assert_eq(r.ratio, 0.5, "float")
  assert_eq(r.ok, true, "boolean")
  assert_eq(r["7"], "seven", "number key")
  assert_eq(r.tags, '["a","b"]', "table as JSON text")
  assert_true(r.none == json.null, "json.null as null")
  assert_eq(r.fn, "function", "function as its type")
end

function test_field_order_sorted()
  log.info("m", {b = 1, a = 2, c = 3})
  local line = take_logs()
  local a, b, c = line:find('"a":'), line:find('"b":'), line:find('"c":')
  assert_true(a < b and b < c, "attributes sorted by key: " .. line)
end

function test_unencodable_table_still_logs()
  local t = {}
  t.t = t
  log.warn("cyclic", {t = t})
  local r = records()[1]
  assert_eq(r.t, "<unencodable: $.t: cycle: the table contains itself>", "cycle described")
end

function test_errors()
  assert_error(function() log.info() end, "imager.log.info: argument #1 (msg) must be a string, got no value")
  assert_error(function() log.error("x", "y") end, "imager.log.error: argument #2 (fields) must be a table, got string")
  assert_eq(take_logs(), "", "nothing logged on error")
end
