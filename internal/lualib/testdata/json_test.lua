-- Tests for imager.json.
local json = require("imager.json")

function test_encode_scalars()
  assert_eq(json.encode(nil), "null", "nil")
  assert_eq(json.encode(json.null), "null", "json.null")
  assert_eq(json.encode(true), "true", "true")
  assert_eq(json.encode(3), "3", "integer")
  assert_eq(json.encode(-0.5), "-0.5", "fraction")
  assert_eq(json.encode(1e21), "1e+21", "large")
  assert_eq(json.encode(2 ^ 53), "9007199254740992", "2^53 stays integral")
  assert_eq(json.encode("a\"b\\c\n\t\1"), '"a\\"b\\\\c\\n\\t\\u0001"', "escapes")
  assert_eq(json.encode("<&>é"), '"<&>é"', "no HTML escaping, UTF-8 kept")
  assert_eq(json.encode("\255"), '"\\ufffd"', "invalid UTF-8 replaced")
end

function test_encode_tables()
  assert_eq(json.encode({}), "{}", "empty table is an object")
  assert_eq(json.encode({1, 2, "x"}), '[1,2,"x"]', "list is an array")
  assert_eq(json.encode({b = 1, a = {c = true}, ["1x"] = 0}), '{"1x":0,"a":{"c":true},"b":1}', "keys sorted")
  assert_eq(json.encode({[1] = "a", [3] = "c"}), '{"1":"a","3":"c"}', "sparse list is an object")
  assert_eq(json.encode({1, 2, k = "v"}), '{"1":1,"2":2,"k":"v"}', "mixed table is an object")
  assert_eq(json.encode({[1.5] = "x"}), '{"1.5":"x"}', "fractional number key")
  assert_eq(json.encode(json.array()), "[]", "json.array() empty")
  local arr = json.array({1, 2})
  arr[4] = 4
  assert_eq(json.encode(arr), "[1,2,null,4]", "marked array with a hole")
  assert_eq(json.encode({a = json.null}), '{"a":null}', "null member")
end

function test_encode_indent()
  local want = '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {},\n  "c": []\n}'
  assert_eq(json.encode({a = {1, 2}, b = {}, c = json.array()}, {indent = true}), want, "indent = true")
  assert_eq(json.encode({x = 1}, {indent = "\t"}), '{\n\t"x": 1\n}', "indent string")
  assert_eq(json.encode({x = 1}, {indent = false}), '{"x":1}', "indent = false")
  assert_error(function() json.encode({}, {indent = 2}) end,
    "imager.json.encode: options.indent must be a boolean or a string, got number")
end

function test_encode_errors()
  local t = {name = "loop"}
  t.self = t
  assert_error(function() json.encode(t) end, "imager.json.encode: $.self: cycle: the table contains itself")
  local deep = {list = {1, {f = print}}}
  assert_error(function() json.encode(deep) end, "imager.json.encode: $.list[2].f: cannot encode a function")
  assert_error(function() json.encode({["a b"] = coroutine.create(print)}) end, '$["a b"]: cannot encode a thread')
  assert_error(function() json.encode(0 / 0) end, "$: cannot encode NaN (JSON has no NaN or infinity)")
  assert_error(function() json.encode({[true] = 1}) end, "object key must be a string or a number, got a boolean")
  assert_error(function() json.encode({[1] = "a", ["1"] = "b", x = 1}) end, 'two keys both encode as "1"')
  local bad = json.array({1})
  bad.k = 2
  assert_error(function() json.encode(bad) end, "table marked by json.array has a key that is not an integer >= 1")
  assert_error(function() json.encode() end, "imager.json.encode: argument #1 (value) is missing")
  local nest = {}
  local cur = nest
  for _ = 1, 1100 do cur.n = {}; cur = cur.n end
  assert_error(function() json.encode(nest) end, "nesting deeper than 1000 levels")
  -- a table seen twice without a cycle is fine
  local shared = {1}
  assert_eq(json.encode({a = shared, b = shared}), '{"a":[1],"b":[1]}', "shared table is not a cycle")
end

function test_decode()
  local v = json.decode('{"n": 42, "f": 1.25, "s": "h\\u00e9", "b": false, "z": null, "a": [1, null, {"k": []}]}')
  assert_eq(v.n, 42, "integer")
  assert_eq(tostring(v.n), "42", "integer prints without fraction")
  assert_eq(v.f, 1.25, "fraction")
  assert_eq(v.s, "hé", "unicode escape")
  assert_eq(v.b, false, "false")
  assert_true(v.z == json.null, "null is json.null")
  assert_eq(#v.a, 3, "null keeps array length")
  assert_true(v.a[2] == json.null, "null element")
  assert_eq(json.encode(v.a[3]), '{"k":[]}', "empty array survives a round trip")
  assert_eq(tostring(json.null), "null", "tostring(json.null)")
  assert_eq(json.decode("  7 "), 7, "bare number with spaces")
  assert_eq(json.decode('"x"'), "x", "bare string")
end

function test_decode_round_trip()
  local text = '{"a":[1,2,{"b":null}],"c":"d","e":{},"f":[]}'
  assert_eq(json.encode(json.decode(text)), text, "round trip")
end

function test_decode_errors()
  assert_error(function() json.decode('{"a": }') end, "imager.json.decode: invalid JSON at byte 7: invalid character '}' looking for beginning of value")
  assert_error(function() json.decode("[1] x") end, "invalid JSON at byte 5: invalid character 'x' after top-level value")
  assert_error(function() json.decode("") end, "imager.json.decode: invalid JSON")
  assert_error(function() json.decode("1e999") end, "imager.json.decode: invalid JSON")
  assert_error(function() json.decode({}) end, "imager.json.decode: argument #1 (text) must be a string, got table")
end
