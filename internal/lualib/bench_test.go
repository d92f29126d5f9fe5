package lualib

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// benchLoop compiles body into a Lua function looping n times and returns
// it ready to call.
func benchLoop(b *testing.B, setup, body string) (*lua.LState, lua.LValue) {
	b.Helper()
	L := lua.NewState()
	b.Cleanup(L.Close)
	Preload(L, &Env{Rand: NewRand(1)})
	src := setup + "\nreturn function(n) local sink for i = 1, n do sink = " + body + " end return sink end"
	if err := L.DoString(src); err != nil {
		b.Fatal(err)
	}
	fn := L.Get(-1)
	L.Pop(1)
	return L, fn
}

// runBench times b.N iterations of the loop in one call.
func runBench(b *testing.B, L *lua.LState, fn lua.LValue) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
	L.Pop(1)
}

func BenchmarkRandomInt(b *testing.B) {
	L, fn := benchLoop(b, `local random = require("imager.random")`, `random.int(1, 1000)`)
	runBench(b, L, fn)
}

func BenchmarkRandomPicker(b *testing.B) {
	L, fn := benchLoop(b, `local random = require("imager.random")
local pick = random.picker({"a", "b", "c", "d"}, {50, 30, 15, 5})`, `pick()`)
	runBench(b, L, fn)
}

func BenchmarkURLQuery(b *testing.B) {
	L, fn := benchLoop(b, `local url = require("imager.url")`,
		`url.query({a = i, b = "hello world", ids = {1, 2, 3}})`)
	runBench(b, L, fn)
}

func BenchmarkJSONEncode(b *testing.B) {
	L, fn := benchLoop(b, `local json = require("imager.json")`,
		`json.encode({id = i, name = "user", tags = {"a", "b"}, ok = true})`)
	runBench(b, L, fn)
}

func BenchmarkUUIDv4(b *testing.B) {
	L, fn := benchLoop(b, `local uuid = require("imager.uuid")`, `uuid.v4()`)
	runBench(b, L, fn)
}
