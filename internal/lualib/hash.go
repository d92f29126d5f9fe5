package lualib

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // md5 is offered for checksums and legacy APIs, not security
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"hash/crc32"

	lua "github.com/yuin/gopher-lua"
)

// ModuleHash is imager.hash: digests and HMACs.
//
//	local hash = require("imager.hash")
//
// Digests are returned as lowercase hex; for raw bytes (for example to
// chain HMACs when signing requests) pass the result through
// imager.encoding's hex_decode. Inputs are byte strings.
//
// hash.md5(s), hash.sha1(s), hash.sha256(s), hash.sha512(s) -> string
//
//	The digest of s in lowercase hex: 32, 40, 64 and 128 digits. MD5 is
//	for checksums and legacy APIs only: it is broken as a security hash.
//
// hash.hmac_sha1(key, msg), hash.hmac_sha256(key, msg),
// hash.hmac_sha512(key, msg) -> string
//
//	The HMAC (RFC 2104) of msg under key in lowercase hex: 40, 64 and 128
//	digits.
//
// hash.crc32(s) -> integer
//
//	The IEEE CRC-32 of s, an integer in [0, 2^32): handy for stable
//	bucketing, e.g. hash.crc32(user_id) % 10.
const ModuleHash = "imager.hash"

// hashLoader is the loader of imager.hash.
func hashLoader(L *lua.LState) int {
	L.Push(newModule(L, map[string]lua.LGFunction{
		"md5":         digestWith("imager.hash.md5", md5.New),
		"sha1":        digestWith("imager.hash.sha1", sha1.New),
		"sha256":      digestWith("imager.hash.sha256", sha256.New),
		"sha512":      digestWith("imager.hash.sha512", sha512.New),
		"hmac_sha1":   hmacWith("imager.hash.hmac_sha1", sha1.New),
		"hmac_sha256": hmacWith("imager.hash.hmac_sha256", sha256.New),
		"hmac_sha512": hmacWith("imager.hash.hmac_sha512", sha512.New),
		"crc32": func(L *lua.LState) int {
			L.Push(lua.LNumber(crc32.ChecksumIEEE([]byte(checkString(L, 1, "imager.hash.crc32", "s")))))
			return 1
		},
	}))
	return 1
}

// digestWith returns the Lua function hashing its argument with h.
func digestWith(fn string, h func() hash.Hash) lua.LGFunction {
	return func(L *lua.LState) int {
		d := h()
		d.Write([]byte(checkString(L, 1, fn, "s")))
		L.Push(lua.LString(hex.EncodeToString(d.Sum(nil))))
		return 1
	}
}

// hmacWith returns the Lua function computing an HMAC with h.
func hmacWith(fn string, h func() hash.Hash) lua.LGFunction {
	return func(L *lua.LState) int {
		key := checkString(L, 1, fn, "key")
		msg := checkString(L, 2, fn, "msg")
		m := hmac.New(h, []byte(key))
		m.Write([]byte(msg))
		L.Push(lua.LString(hex.EncodeToString(m.Sum(nil))))
		return 1
	}
}
