-- Tests for imager.random. Each test_* runs in a fresh VM seeded with 1234.
local random = require("imager.random")

function test_int_range_and_coverage()
  local seen = {}
  for _ = 1, 2000 do
    local v = random.int(-2, 3)
    assert_true(v >= -2 and v <= 3, "int within [lo, hi]")
    assert_eq(v, math.floor(v), "int is integral")
    seen[v] = true
  end
  for v = -2, 3 do assert_true(seen[v], "value " .. v .. " drawn") end
  assert_eq(random.int(7, 7), 7, "lo == hi")
end

function test_int_errors()
  assert_error(function() random.int(5, 3) end, "imager.random.int: lo (5) is greater than hi (3)")
  assert_error(function() random.int(1.5, 3) end, "imager.random.int: argument #1 (lo) must be an integer")
  assert_error(function() random.int(1) end, "imager.random.int: argument #2 (hi) must be a number, got no value")
  assert_error(function() random.int("1", 2) end, "argument #1 (lo) must be a number, got string")
  assert_error(function() random.int(0, 2 ^ 60) end, "must be an integer within")
end

function test_float()
  for _ = 1, 1000 do
    local f = random.float()
    assert_true(f >= 0 and f < 1, "float() in [0,1)")
    local g = random.float(-5, 5)
    assert_true(g >= -5 and g < 5, "float(lo, hi) in [lo,hi)")
  end
  assert_eq(random.float(2, 2), 2, "float(lo, lo)")
  assert_error(function() random.float(3, 1) end, "imager.random.float: lo (3) is greater than hi (1)")
  assert_error(function() random.float(0, 1 / 0) end, "must be a finite number")
end

function test_normal_and_exponential()
  local sum, esum, n = 0, 0, 4000
  for _ = 1, n do
    sum = sum + random.normal(10, 2)
    local e = random.exponential(3)
    assert_true(e >= 0, "exponential is non-negative")
    esum = esum + e
  end
  assert_near(sum / n, 10, 0.2, "normal mean")
  assert_near(esum / n, 3, 0.3, "exponential mean")
  assert_eq(random.normal(5, 0), 5, "stddev 0")
  assert_error(function() random.normal(0, -1) end, "imager.random.normal: stddev (-1) is negative")
  assert_error(function() random.exponential(0) end, "imager.random.exponential: mean (0) must be greater than 0")
end

function test_bool()
  local trues = 0
  for _ = 1, 4000 do
    if random.bool(0.25) then trues = trues + 1 end
  end
  assert_near(trues / 4000, 0.25, 0.03, "bool(0.25) frequency")
  assert_eq(random.bool(0), false, "bool(0)")
  assert_eq(random.bool(1), true, "bool(1)")
  assert_eq(type(random.bool()), "boolean", "bool() default")
  assert_error(function() random.bool(1.5) end, "imager.random.bool: p (1.5) must be between 0 and 1")
end

function test_pick()
  local list = {"a", "b", "c"}
  local seen = {}
  for _ = 1, 300 do seen[random.pick(list)] = true end
  assert_eq(seen, {a = true, b = true, c = true}, "pick reaches every element")
  assert_error(function() random.pick({}) end, "imager.random.pick: list is empty")
  assert_error(function() random.pick("abc") end, "argument #1 (list) must be a table, got string")
end

function test_weighted()
  local counts = {a = 0, b = 0, c = 0}
  for _ = 1, 8000 do
    local v = random.weighted({"a", "b", "c"}, {6, 2, 0})
    counts[v] = counts[v] + 1
  end
  assert_eq(counts.c, 0, "zero weight never chosen")
  assert_near(counts.a / 8000, 0.75, 0.03, "weight share of a")
  assert_error(function() random.weighted({"a"}, {1, 2}) end,
    "imager.random.weighted: items has 1 elements but weights has 2")
  assert_error(function() random.weighted({"a", "b"}, {0, 0}) end, "weights must have a positive finite sum")
  assert_error(function() random.weighted({"a", "b"}, {1, -1}) end, "weights[2] (-1) must be a finite number >= 0")
  assert_error(function() random.weighted({"a"}, {"x"}) end, "weights[1] must be a number, got string")
  assert_error(function() random.weighted({}, {}) end, "items is empty")
end

function test_picker()
  local items = {"x", "y"}
  local pick = random.picker(items, {1, 3})
  items[1] = "changed"
  local ys = 0
  for _ = 1, 4000 do
    local v = pick()
    assert_true(v == "x" or v == "y", "picker copies its lists")
    if v == "y" then ys = ys + 1 end
  end
  assert_near(ys / 4000, 0.75, 0.03, "weighted picker share")
  local uniform = random.picker({1, 2, 3, 4})
  local seen = {}
  for _ = 1, 400 do seen[uniform()] = true end
  assert_eq(seen, {true, true, true, true}, "uniform picker reaches all")
  assert_error(function() random.picker({}) end, "imager.random.picker: items is empty")
end

function test_shuffle()
  local list = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
  local s = random.shuffle(list)
  assert_eq(list, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "input untouched")
  assert_true(s ~= list, "new table")
  table.sort(s)
  assert_eq(s, list, "same elements")
  assert_eq(random.shuffle({}), {}, "empty list")
  local moved = false
  for _ = 1, 10 do
    local t = random.shuffle(list)
    for i = 1, #t do if t[i] ~= i then moved = true end end
  end
  assert_true(moved, "shuffle changes order")
end

function test_string()
  local s = random.string(32)
  assert_eq(#s, 32, "default length")
  assert_true(s:match("^[A-Za-z0-9]+$") ~= nil, "default alphabet")
  assert_eq(random.string(0), "", "empty string")
  local ab = random.string(50, "ab")
  assert_true(ab:match("^[ab]+$") ~= nil and #ab == 50, "custom alphabet")
  local u = random.string(10, "äö")
  assert_eq(#u, 20, "UTF-8 alphabet gives runes (2 bytes each)")
  assert_true(u:gsub("ä", ""):gsub("ö", "") == "", "only alphabet runes")
  assert_error(function() random.string(-1) end, "imager.random.string: n (-1) must be between 0 and 1048576")
  assert_error(function() random.string(2 ^ 21) end, "must be between 0 and 1048576")
  assert_error(function() random.string(3, "") end, "imager.random.string: alphabet is empty")
end

function test_seed_repeats()
  random.seed(99)
  local a = {random.int(1, 1e6), random.float(), random.string(6)}
  random.seed(99)
  local b = {random.int(1, 1e6), random.float(), random.string(6)}
  assert_eq(a, b, "seed(99) twice gives the same values")
  random.seed(100)
  local c = {random.int(1, 1e6), random.float(), random.string(6)}
  assert_true(c[1] ~= a[1] or c[2] ~= a[2], "different seed, different values")
  assert_error(function() random.seed("x") end, "imager.random.seed: argument #1 (n) must be a number")
end
