package lualib

import (
	"encoding/base64"
	"encoding/hex"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ModuleEncoding is imager.encoding: base64 and hex.
//
//	local encoding = require("imager.encoding")
//
// Strings are byte strings: any bytes may be encoded, and decoding returns
// bytes (which need not be valid UTF-8).
//
// encoding.base64_encode(s) -> string
//
//	Standard base64 (RFC 4648 section 4, alphabet A-Z a-z 0-9 + /) with "="
//	padding, as in HTTP Basic authentication.
//
// encoding.base64_decode(s) -> string
//
//	Decodes standard base64, with or without the "=" padding. Line breaks
//	("\r", "\n") are ignored; any other character outside the alphabet,
//	spaces included, is an error naming its position.
//
// encoding.base64url_encode(s) -> string
//
//	URL-safe base64 (RFC 4648 section 5, "-" and "_" instead of "+" and
//	"/") without padding, as in JWTs.
//
// encoding.base64url_decode(s) -> string
//
//	Decodes URL-safe base64, with or without padding. Error as above.
//
// encoding.hex_encode(s) -> string
//
//	Two lowercase hex digits per byte.
//
// encoding.hex_decode(s) -> string
//
//	Decodes hex digits of either case; error on an odd length or a non-hex
//	character.
const ModuleEncoding = "imager.encoding"

// encodingLoader returns the loader of imager.encoding bound to env.
func encodingLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newModule(L, map[string]lua.LGFunction{
			"base64_encode":    env.encodeWith("imager.encoding.base64_encode", base64.StdEncoding.EncodeToString, base64.StdEncoding.EncodedLen),
			"base64_decode":    env.decodeWith("imager.encoding.base64_decode", base64Decoder(base64.StdEncoding, base64.RawStdEncoding)),
			"base64url_encode": env.encodeWith("imager.encoding.base64url_encode", base64.RawURLEncoding.EncodeToString, base64.RawURLEncoding.EncodedLen),
			"base64url_decode": env.decodeWith("imager.encoding.base64url_decode", base64Decoder(base64.URLEncoding, base64.RawURLEncoding)),
			"hex_encode":       env.encodeWith("imager.encoding.hex_encode", hex.EncodeToString, hex.EncodedLen),
			"hex_decode":       env.decodeWith("imager.encoding.hex_decode", hex.DecodeString),
		}))
		return 1
	}
}

// encodeWith wraps an encoder as a Lua function of one string. It charges
// the copy of the input and the encoder's buffer and string (size gives
// the encoded length) before encoding.
func (e *Env) encodeWith(fn string, enc func([]byte) string, size func(int) int) lua.LGFunction {
	return func(L *lua.LState) int {
		s := checkString(L, 1, fn, "s")
		e.budget().Charge(L, fn, int64(len(s))+2*int64(size(len(s))))
		L.Push(lua.LString(enc([]byte(s))))
		return 1
	}
}

// decodeWith wraps a decoder as a Lua function of one string, charging
// twice the input (the decoded bytes and their string) first.
func (e *Env) decodeWith(fn string, dec func(string) ([]byte, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		s := checkString(L, 1, fn, "s")
		e.budget().Charge(L, fn, 2*int64(len(s)))
		b, err := dec(s)
		if err != nil {
			raise(L, fn, "%v", err)
		}
		L.Push(lua.LString(b))
		return 1
	}
}

// base64Decoder decodes with padded when s ends in "=", raw otherwise.
func base64Decoder(padded, raw *base64.Encoding) func(string) ([]byte, error) {
	return func(s string) ([]byte, error) {
		if strings.HasSuffix(s, "=") {
			return padded.DecodeString(s)
		}
		return raw.DecodeString(s)
	}
}
