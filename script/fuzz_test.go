package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/testutil/wiretest"
)

// Bits of FuzzRequestTable's shape: which fields the table has, and in
// which form.
const (
	shapeMethod     = 1 << iota // method = method
	shapeQuery                  // query = query
	shapeQueryTable             // query = {[hname] = query} instead
	shapeHeaders                // headers = {[hname] = hvalue}
	shapeHeaderList             // headers = {[hname] = {hvalue, hvalue}} instead
	shapeBody                   // body = body
	shapeName                   // name = name
	shapePathNumber             // path = #path, a number
)

// FuzzRequestTable builds a request table from fuzzed fields, in a shape
// the fuzzer picks, and converts it as request()'s return value. The
// conversion must never panic; a request it accepts must pass validation,
// keep every field as written and render on the wire exactly as written.
// The seed corpus is in testdata/fuzz/FuzzRequestTable.
func FuzzRequestTable(f *testing.F) {
	f.Add("get", "//evil.example/x?a=1", "", "Host", "vhost.example", "", "", uint8(shapeMethod|shapeHeaders))
	vm := fuzzVM(f)
	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue, body, name string, shape uint8) {
		L := vm.L
		tbl := L.NewTable()
		if shape&shapePathNumber != 0 {
			L.SetField(tbl, "path", lua.LNumber(len(path)))
		} else {
			L.SetField(tbl, "path", lua.LString(path))
		}
		set := func(bit uint8, field string, v lua.LValue) {
			if shape&bit != 0 {
				L.SetField(tbl, field, v)
			}
		}
		set(shapeMethod, "method", lua.LString(method))
		set(shapeBody, "body", lua.LString(body))
		set(shapeName, "name", lua.LString(name))
		if shape&shapeQueryTable != 0 {
			q := L.NewTable()
			L.SetField(q, hname, lua.LString(query))
			L.SetField(tbl, "query", q)
		} else {
			set(shapeQuery, "query", lua.LString(query))
		}
		if shape&(shapeHeaders|shapeHeaderList) != 0 {
			h := L.NewTable()
			var v lua.LValue = lua.LString(hvalue)
			if shape&shapeHeaderList != 0 {
				list := L.NewTable()
				list.Append(v)
				list.Append(v)
				v = list
			}
			L.SetField(h, hname, v)
			L.SetField(tbl, "headers", h)
		}
		spec, err := vm.toRequest(tbl)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "scenario.lua:1: request() returned ") {
				t.Fatalf("error %q does not name the scenario, line and function", err)
			}
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("accepted %+v, which fails validation: %v", spec, err)
		}
		if spec.Path != path {
			t.Fatalf("path %q became %q", path, spec.Path)
		}
		if shape&shapeMethod != 0 && spec.Method != method {
			t.Fatalf("method %q became %q", method, spec.Method)
		}
		if shape&(shapeQuery|shapeQueryTable) == shapeQuery && spec.QueryString != strings.TrimPrefix(query, "?") {
			t.Fatalf("query %q became %q", query, spec.QueryString)
		}
		if shape&(shapeHeaders|shapeHeaderList) != 0 && (len(spec.Headers[hname]) == 0 || spec.Headers[hname][0] != hvalue) {
			t.Fatalf("header %q: %q became %q", hname, hvalue, spec.Headers[hname])
		}
		const target = "http://127.0.0.1:8080"
		got, err := engine.Render(target, spec)
		if err != nil {
			t.Fatalf("the engine refuses %+v, which passed validation: %v", spec, err)
		}
		if want := wiretest.Want(target, spec); got != want {
			t.Fatalf("%+v renders as\n%q\nwant\n%q", spec, got, want)
		}
	})
}

// fuzzVM loads a scenario named scenario.lua with request() on line 1 and
// returns a VM for it, closed when the fuzz test ends.
func fuzzVM(f *testing.F) *VM {
	dir := f.TempDir()
	path := filepath.Join(dir, "scenario.lua")
	if err := os.WriteFile(path, []byte("function request() return {path = '/'} end\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		f.Fatal(err)
	}
	vm, err := s.NewVM(VMConfig{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(vm.Close)
	return vm
}
