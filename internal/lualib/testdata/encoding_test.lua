-- Tests for imager.encoding.
local encoding = require("imager.encoding")

function test_base64()
  assert_eq(encoding.base64_encode("user:pass"), "dXNlcjpwYXNz", "basic auth")
  assert_eq(encoding.base64_encode("ab"), "YWI=", "padded")
  assert_eq(encoding.base64_encode(""), "", "empty")
  assert_eq(encoding.base64_decode("YWI="), "ab", "padded decode")
  assert_eq(encoding.base64_decode("YWI"), "ab", "unpadded decode")
  assert_eq(encoding.base64_encode("\251\255\254"), "+//+", "standard alphabet")
  local bytes = ""
  for i = 0, 255 do bytes = bytes .. string.char(i) end
  assert_eq(encoding.base64_decode(encoding.base64_encode(bytes)), bytes, "all bytes round trip")
end

function test_base64url()
  assert_eq(encoding.base64url_encode("\251\255\254"), "-__-", "url alphabet")
  assert_eq(encoding.base64url_encode("ab"), "YWI", "no padding")
  assert_eq(encoding.base64url_decode("YWI"), "ab", "unpadded")
  assert_eq(encoding.base64url_decode("YWI="), "ab", "padded accepted")
end

function test_hex()
  assert_eq(encoding.hex_encode("\0\255A"), "00ff41", "lowercase")
  assert_eq(encoding.hex_decode("00FF41"), "\0\255A", "either case")
  assert_eq(encoding.hex_decode(""), "", "empty")
end

function test_errors()
  assert_error(function() encoding.base64_decode("a b=") end,
    "imager.encoding.base64_decode: illegal base64 data at input byte 1")
  assert_error(function() encoding.base64_decode("-__-") end, "imager.encoding.base64_decode: illegal base64 data")
  assert_error(function() encoding.base64url_decode("+//+") end, "imager.encoding.base64url_decode: illegal base64 data")
  assert_error(function() encoding.hex_decode("abc") end, "imager.encoding.hex_decode: encoding/hex: odd length hex string")
  assert_error(function() encoding.hex_decode("zz") end, "imager.encoding.hex_decode: encoding/hex: invalid byte")
  assert_error(function() encoding.hex_encode(nil) end, "imager.encoding.hex_encode: argument #1 (s) must be a string, got nil")
end
