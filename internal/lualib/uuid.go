package lualib

import (
	"encoding/binary"
	"encoding/hex"

	lua "github.com/yuin/gopher-lua"
)

// ModuleUUID is imager.uuid: random UUIDs.
//
//	local uuid = require("imager.uuid")
//
// uuid.v4() -> string
//
//	A random (version 4, RFC 9562 variant) UUID in the canonical form of
//	36 lowercase characters, 8-4-4-4-12 hex digits:
//	"1b4e28ba-2fa1-4d2b-a8c3-6c7e1f0a9d52". The 122 random bits come from
//	the VM's generator (the one imager.random uses), so the same -seed gives
//	the same UUIDs: they are unique within one VM's run but predictable,
//	never use them as secrets.
//
// uuid.is_valid(s) -> boolean
//
//	true when s is a UUID in the canonical 8-4-4-4-12 hex form (either case,
//	any version).
const ModuleUUID = "imager.uuid"

// uuidLoader returns the loader of imager.uuid bound to env.
func uuidLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newModule(L, map[string]lua.LGFunction{
			"v4":       env.uuidV4,
			"is_valid": uuidIsValid,
		}))
		return 1
	}
}

func (e *Env) uuidV4(L *lua.LState) int {
	L.Push(lua.LString(newUUIDv4(e)))
	return 1
}

// newUUIDv4 draws a version 4 UUID from env's generator.
func newUUIDv4(e *Env) string {
	var b [16]byte
	r := e.rng()
	binary.BigEndian.PutUint64(b[:8], r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

func uuidIsValid(L *lua.LState) int {
	s := checkString(L, 1, "imager.uuid.is_valid", "s")
	L.Push(lua.LBool(isCanonicalUUID(s)))
	return 1
}

// isCanonicalUUID reports whether s has the 8-4-4-4-12 hex form.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
