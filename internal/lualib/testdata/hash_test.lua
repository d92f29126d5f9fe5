-- Tests for imager.hash (known-answer vectors from FIPS 180 and RFC 4231).
local hash = require("imager.hash")
local encoding = require("imager.encoding")

function test_digests()
  assert_eq(hash.md5(""), "d41d8cd98f00b204e9800998ecf8427e", "md5 of empty")
  assert_eq(hash.sha1("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d", "sha1 abc")
  assert_eq(hash.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 abc")
  assert_eq(hash.sha512("abc"), "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    .. "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f", "sha512 abc")
  assert_eq(hash.sha256(123), hash.sha256("123"), "numbers hash as their text")
end

function test_hmac()
  local key, msg = "Jefe", "what do ya want for nothing?"
  assert_eq(hash.hmac_sha1(key, msg), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "hmac_sha1")
  assert_eq(hash.hmac_sha256(key, msg), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "hmac_sha256")
  assert_eq(hash.hmac_sha512(key, msg), "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
    .. "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737", "hmac_sha512")
  -- chaining with raw bytes, as request signing does
  local raw = encoding.hex_decode(hash.hmac_sha256("k", "a"))
  assert_eq(#raw, 32, "raw digest is 32 bytes")
  assert_eq(#hash.hmac_sha256(raw, "b"), 64, "raw key accepted")
end

function test_crc32()
  assert_eq(hash.crc32("123456789"), 3421780262, "IEEE check value")
  assert_eq(hash.crc32(""), 0, "empty")
end

function test_errors()
  assert_error(function() hash.sha256() end, "imager.hash.sha256: argument #1 (s) must be a string, got no value")
  assert_error(function() hash.hmac_sha256("k") end, "imager.hash.hmac_sha256: argument #2 (msg) must be a string, got no value")
  assert_error(function() hash.md5({}) end, "imager.hash.md5: argument #1 (s) must be a string, got table")
end
