-- Tests for imager.uuid.
local uuid = require("imager.uuid")
local random = require("imager.random")

function test_v4_format()
  local seen = {}
  for _ = 1, 200 do
    local id = uuid.v4()
    assert_true(id:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil,
      "canonical v4 form: " .. id)
    assert_eq(id, id:lower(), "lowercase")
    assert_true(not seen[id], "unique")
    seen[id] = true
  end
end

function test_v4_follows_seed()
  random.seed(5)
  local a = uuid.v4()
  random.seed(5)
  assert_eq(uuid.v4(), a, "same seed, same uuid")
end

function test_is_valid()
  assert_eq(uuid.is_valid(uuid.v4()), true, "v4 is valid")
  assert_eq(uuid.is_valid("1B4E28BA-2FA1-11D2-883F-0016D3CCA427"), true, "uppercase v1 is valid")
  assert_eq(uuid.is_valid("1b4e28ba2fa111d2883f0016d3cca427"), false, "no dashes")
  assert_eq(uuid.is_valid("1b4e28ba-2fa1-11d2-883f-0016d3cca42g"), false, "non-hex")
  assert_eq(uuid.is_valid(""), false, "empty")
  assert_error(function() uuid.is_valid({}) end, "imager.uuid.is_valid: argument #1 (s) must be a string, got table")
end
