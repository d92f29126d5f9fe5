-- Tests for imager.time. The harness's wall clock starts at
-- 2024-01-02T03:04:05.5Z (1704164645.5) and moves only with advance_clock.
local time = require("imager.time")

local START = 1704164645.5

function test_now()
  assert_eq(time.now(), START, "now in seconds with fraction")
  assert_eq(time.now_ms(), 1704164645500, "now_ms integer")
  advance_clock(0.25)
  assert_eq(time.now(), START + 0.25, "now follows the clock")
  assert_eq(time.now_ms(), 1704164645750, "now_ms follows the clock")
end

function test_monotonic()
  assert_eq(time.monotonic(), 0, "zero at VM start")
  advance_clock(1.5)
  assert_eq(time.monotonic(), 1.5, "seconds since start")
  advance_clock(-10)
  assert_eq(time.monotonic(), 0, "never negative")
end

function test_format()
  assert_eq(time.format(START), "2024-01-02T03:04:05Z", "default rfc3339")
  assert_eq(time.format(START, "rfc3339nano"), "2024-01-02T03:04:05.5Z", "rfc3339nano")
  assert_eq(time.format(0, "http"), "Thu, 01 Jan 1970 00:00:00 GMT", "http date")
  assert_eq(time.format(START, "date"), "2024-01-02", "date")
  assert_eq(time.format(START, "datetime"), "2024-01-02 03:04:05", "datetime")
  assert_eq(time.format(START, "02/01/2006 15h04 .000"), "02/01/2024 03h04 .500", "Go layout")
  assert_eq(time.format(-1.25, "rfc3339nano"), "1969-12-31T23:59:58.75Z", "before the epoch")
  assert_eq(time.format(time.now()), "2024-01-02T03:04:05Z", "now formats")
  assert_error(function() time.format(0 / 0) end, "imager.time.format: argument #1 (seconds) must be a finite number")
  assert_error(function() time.format(1e300) end, "imager.time.format: seconds (1e+300) is out of range")
  assert_error(function() time.format(0, "") end, "imager.time.format: layout is empty")
  assert_error(function() time.format("x") end, "argument #1 (seconds) must be a number, got string")
end

function test_parse()
  assert_eq(time.parse("2024-01-02T03:04:05Z"), START - 0.5, "rfc3339")
  assert_eq(time.parse("2024-01-02T03:04:05.5Z"), START, "rfc3339 with fraction")
  assert_eq(time.parse("2024-01-02T05:04:05+02:00"), START - 0.5, "zone offset")
  assert_eq(time.parse("2024-01-02", "date"), 1704153600, "date is UTC midnight")
  assert_eq(time.parse(time.format(START, "http"), "http"), START - 0.5, "http round trip")
  assert_error(function() time.parse("yesterday") end, 'imager.time.parse: parsing time "yesterday"')
end

function test_no_sleep()
  assert_eq(time.sleep, nil, "no sleep function")
end
