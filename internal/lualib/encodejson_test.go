package lualib

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// EncodeJSON follows json.encode's rules and, outside a call, never
// raises: not even when the state's context is done.
func TestEncodeJSON(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	L.SetContext(ctx)
	list := L.CreateTable(0, 0)
	for i := range 5000 { // past the steps between time checks
		list.Append(lua.LNumber(i))
	}
	obj := L.CreateTable(0, 2)
	obj.RawSetString("b", lua.LString("x"))
	obj.RawSetString("a", lua.LNumber(1.5))
	empty := L.CreateTable(0, 0)
	empty.Metatable = jsonArrayMeta(L)
	for _, c := range []struct {
		v    lua.LValue
		want string
	}{
		{obj, `{"a":1.5,"b":"x"}`},
		{empty, `[]`},
		{jsonNull(L), `null`},
		{lua.LNumber(3), `3`},
	} {
		got, err := EncodeJSON(L, c.v)
		if err != nil || got != c.want {
			t.Errorf("EncodeJSON = %q, %v; want %q", got, err, c.want)
		}
	}
	if got, err := EncodeJSON(L, list); err != nil || !strings.HasPrefix(got, "[0,1,2,") {
		t.Errorf("long list: %.20q, %v", got, err)
	}
	bad := L.CreateTable(0, 1)
	bad.RawSetString("f", L.NewFunction(func(*lua.LState) int { return 0 }))
	if _, err := EncodeJSON(L, bad); err == nil || err.Error() != "$.f: cannot encode a function" {
		t.Errorf("got %v, want the path of the function", err)
	}
}
