package script

import (
	"strconv"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// The `..` operator is an opcode in gopher-lua (OP_CONCAT) that joins
// strings in Go with no limit and no hook. compile therefore rewrites every
// `a .. b .. c` of a chunk into a call concat(a, b, c) of a guarded Go
// function (VM.concat) that charges the result to the call's memory
// budget before building it. The function reaches the chunk as a local
// declared at its top, read once from a global; both names are not valid
// Lua identifiers, so scenario code cannot name them. A scenario that
// replaces the global through _G gains nothing: every `..` it could use
// to build a huge string is itself rewritten.
const (
	concatLocal  = "(imager concat)"
	concatGlobal = "imager concat"
	concatName   = "concatenation (..)"
)

// rewriteConcat rewrites the `..` operators of chunk into calls of the
// guarded concat function, declaring the local that holds it when the
// chunk uses it. chunk must already have passed tooDeep: the walk recurses
// once per level.
func rewriteConcat(chunk []ast.Stmt) []ast.Stmt {
	var r concatRewriter
	r.stmts(chunk)
	if !r.used {
		return chunk
	}
	src := &ast.IdentExpr{Value: concatGlobal}
	src.SetLine(1)
	src.SetLastLine(1)
	decl := &ast.LocalAssignStmt{Names: []string{concatLocal}, Exprs: []ast.Expr{src}}
	decl.SetLine(1)
	decl.SetLastLine(1)
	return append([]ast.Stmt{decl}, chunk...)
}

// concatRewriter walks a chunk, replacing `..` expressions in place.
type concatRewriter struct {
	used bool // a `..` was rewritten
}

func (r *concatRewriter) stmts(ss []ast.Stmt) {
	for _, s := range ss {
		r.stmt(s)
	}
}

func (r *concatRewriter) exprs(es []ast.Expr) {
	for i, e := range es {
		es[i] = r.expr(e)
	}
}

func (r *concatRewriter) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case *ast.AssignStmt:
		r.exprs(s.Lhs)
		r.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		r.exprs(s.Exprs)
	case *ast.FuncCallStmt:
		s.Expr = r.expr(s.Expr)
	case *ast.DoBlockStmt:
		r.stmts(s.Stmts)
	case *ast.WhileStmt:
		s.Condition = r.expr(s.Condition)
		r.stmts(s.Stmts)
	case *ast.RepeatStmt:
		s.Condition = r.expr(s.Condition)
		r.stmts(s.Stmts)
	case *ast.IfStmt:
		s.Condition = r.expr(s.Condition)
		r.stmts(s.Then)
		r.stmts(s.Else)
	case *ast.NumberForStmt:
		s.Init = r.expr(s.Init)
		s.Limit = r.expr(s.Limit)
		s.Step = r.expr(s.Step)
		r.stmts(s.Stmts)
	case *ast.GenericForStmt:
		r.exprs(s.Exprs)
		r.stmts(s.Stmts)
	case *ast.FuncDefStmt:
		if s.Func != nil {
			r.stmts(s.Func.Stmts)
		}
	case *ast.ReturnStmt:
		r.exprs(s.Exprs)
	}
}

// expr returns e with its `..` operators rewritten (e itself when it is
// not a `..`).
func (r *concatRewriter) expr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *ast.StringConcatOpExpr:
		return r.concat(e)
	case *ast.AttrGetExpr:
		e.Object = r.expr(e.Object)
		e.Key = r.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			f.Key = r.expr(f.Key)
			f.Value = r.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		e.Func = r.expr(e.Func)
		e.Receiver = r.expr(e.Receiver)
		r.exprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs = r.expr(e.Lhs)
		e.Rhs = r.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs = r.expr(e.Lhs)
		e.Rhs = r.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		e.Lhs = r.expr(e.Lhs)
		e.Rhs = r.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = r.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = r.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = r.expr(e.Expr)
	case *ast.FunctionExpr:
		r.stmts(e.Stmts)
	}
	return e
}

// concat turns a right-nested chain a .. b .. c (one OP_CONCAT for the
// compiler) into the call concat(a, b, c). The last operand is adjusted to
// one value, as an operand of `..` is: f() and ... must not expand.
func (r *concatRewriter) concat(e *ast.StringConcatOpExpr) ast.Expr {
	var args []ast.Expr
	for cur := e; ; {
		args = append(args, r.expr(cur.Lhs))
		next, ok := cur.Rhs.(*ast.StringConcatOpExpr)
		if !ok {
			args = append(args, r.expr(cur.Rhs))
			break
		}
		cur = next
	}
	switch last := args[len(args)-1].(type) {
	case *ast.FuncCallExpr:
		last.AdjustRet = true
	case *ast.Comma3Expr:
		last.AdjustRet = true
	}
	fn := &ast.IdentExpr{Value: concatLocal}
	fn.SetLine(e.Line())
	fn.SetLastLine(e.Line())
	call := &ast.FuncCallExpr{Func: fn, Args: args}
	call.SetLine(e.Line())
	call.SetLastLine(e.LastLine())
	r.used = true
	return call
}

// concat is the guarded `..`: concat(a, b, ..., z) joins its arguments
// right to left as OP_CONCAT does. Runs of strings and numbers are joined
// at once, after their total size is charged to the call's budget; any
// other operand pair goes to the __concat metamethod of the left operand,
// or else of the right one.
func (v *VM) concat(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		L.RaiseError("%s: want at least 2 operands, got %d", concatName, n)
	}
	rhs := L.Get(n)
	for i := n - 1; i >= 1; {
		lhs := L.Get(i)
		if !stringy(lhs) || !stringy(rhs) {
			rhs = concatMeta(L, lhs, rhs)
			i--
			continue
		}
		j := i
		for j > 1 && stringy(L.Get(j-1)) {
			j--
		}
		rhs = v.joinRun(L, j, i, rhs)
		i = j - 1
	}
	L.Push(rhs)
	return 1
}

// stringy reports whether v concatenates as a string (a string or a number).
func stringy(v lua.LValue) bool {
	switch v.(type) {
	case lua.LString, lua.LNumber:
		return true
	}
	return false
}

// joinRun joins the stack values from..to and then rhs, all strings or
// numbers, charging the result first. Integers are formatted into the
// VM's scratch space rather than into a string each.
func (v *VM) joinRun(L *lua.LState, from, to int, rhs lua.LValue) lua.LValue {
	var small [8]string
	parts := small[:0]
	total := 0
	digits := v.conv.digits[:0]
	for k := from; k <= to+1; k++ {
		val := rhs
		if k <= to {
			val = L.Get(k)
		}
		var s string
		s, digits = concatOperand(val, digits)
		parts = append(parts, s)
		total += len(s)
	}
	v.conv.digits = digits
	v.env.Budget.Charge(L, concatName, int64(total))
	return lua.LString(strings.Join(parts, ""))
}

// concatOperand returns val as `..` shows it: as lua.LVAsString does,
// except that an integer is appended to digits and returned from there.
// The returned string stays valid while digits is not overwritten: when
// appending moves digits, the earlier strings keep the old array.
func concatOperand(val lua.LValue, digits []byte) (string, []byte) {
	x, ok := val.(lua.LNumber)
	if !ok {
		return lua.LVAsString(val), digits
	}
	// lua.LNumber.String's test for an integer, and its format.
	if f := float64(x); f == float64(int64(f)) {
		n := len(digits)
		digits = strconv.AppendInt(digits, int64(f), 10)
		return unsafe.String(&digits[n], len(digits)-n), digits
	}
	return lua.LVAsString(val), digits
}

// concatMeta applies the __concat metamethod to lhs .. rhs, raising the
// error gopher-lua raises when neither operand has one.
func concatMeta(L *lua.LState, lhs, rhs lua.LValue) lua.LValue {
	mm := L.GetMetaField(lhs, "__concat")
	if mm.Type() != lua.LTFunction {
		mm = L.GetMetaField(rhs, "__concat")
	}
	if mm.Type() != lua.LTFunction {
		L.RaiseError("cannot perform concat operation between %s and %s", lhs.Type(), rhs.Type())
	}
	L.Push(mm)
	L.Push(lhs)
	L.Push(rhs)
	L.Call(2, 1)
	ret := L.Get(-1)
	L.Pop(1)
	return ret
}
