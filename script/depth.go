package script

import (
	"github.com/yuin/gopher-lua/ast"
)

// MaxSyntaxDepth bounds how deeply a scenario's blocks and expressions
// nest. gopher-lua's compiler recurses once per level, so without a bound
// a small hostile file (a long chain of 1+1+...+1 or of nested tables)
// would take seconds and hundreds of MiB of stack to compile.
const MaxSyntaxDepth = 1000

// depthChecker walks a parsed chunk and finds the first node nested deeper
// than MaxSyntaxDepth. Its own recursion stops at that depth.
type depthChecker struct {
	line int // line of the first node too deep; 0 when none
}

// tooDeep returns the line of the first node nested deeper than
// MaxSyntaxDepth, or 0.
func tooDeep(chunk []ast.Stmt) int {
	var c depthChecker
	c.stmts(chunk, 0)
	return c.line
}

// deeper reports whether the walk must stop at depth d, recording line.
func (c *depthChecker) deeper(d, line int) bool {
	if c.line != 0 {
		return true
	}
	if d > MaxSyntaxDepth {
		c.line = max(line, 1)
		return true
	}
	return false
}

func (c *depthChecker) stmts(ss []ast.Stmt, d int) {
	for _, s := range ss {
		c.stmt(s, d)
	}
}

func (c *depthChecker) exprs(es []ast.Expr, d int) {
	for _, e := range es {
		c.expr(e, d)
	}
}

func (c *depthChecker) stmt(s ast.Stmt, d int) {
	if s == nil || c.deeper(d, s.Line()) {
		return
	}
	d++
	switch s := s.(type) {
	case *ast.AssignStmt:
		c.exprs(s.Lhs, d)
		c.exprs(s.Rhs, d)
	case *ast.LocalAssignStmt:
		c.exprs(s.Exprs, d)
	case *ast.FuncCallStmt:
		c.expr(s.Expr, d)
	case *ast.DoBlockStmt:
		c.stmts(s.Stmts, d)
	case *ast.WhileStmt:
		c.expr(s.Condition, d)
		c.stmts(s.Stmts, d)
	case *ast.RepeatStmt:
		c.expr(s.Condition, d)
		c.stmts(s.Stmts, d)
	case *ast.IfStmt:
		c.expr(s.Condition, d)
		c.stmts(s.Then, d)
		c.stmts(s.Else, d)
	case *ast.NumberForStmt:
		c.expr(s.Init, d)
		c.expr(s.Limit, d)
		c.expr(s.Step, d)
		c.stmts(s.Stmts, d)
	case *ast.GenericForStmt:
		c.exprs(s.Exprs, d)
		c.stmts(s.Stmts, d)
	case *ast.FuncDefStmt:
		if s.Name != nil {
			c.expr(s.Name.Func, d)
			c.expr(s.Name.Receiver, d)
		}
		if s.Func != nil {
			c.expr(s.Func, d)
		}
	case *ast.ReturnStmt:
		c.exprs(s.Exprs, d)
	}
}

func (c *depthChecker) expr(e ast.Expr, d int) {
	if e == nil || c.deeper(d, e.Line()) {
		return
	}
	d++
	switch e := e.(type) {
	case *ast.AttrGetExpr:
		c.expr(e.Object, d)
		c.expr(e.Key, d)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			c.expr(f.Key, d)
			c.expr(f.Value, d)
		}
	case *ast.FuncCallExpr:
		c.expr(e.Func, d)
		c.expr(e.Receiver, d)
		c.exprs(e.Args, d)
	case *ast.LogicalOpExpr:
		c.expr(e.Lhs, d)
		c.expr(e.Rhs, d)
	case *ast.RelationalOpExpr:
		c.expr(e.Lhs, d)
		c.expr(e.Rhs, d)
	case *ast.StringConcatOpExpr:
		c.expr(e.Lhs, d)
		c.expr(e.Rhs, d)
	case *ast.ArithmeticOpExpr:
		c.expr(e.Lhs, d)
		c.expr(e.Rhs, d)
	case *ast.UnaryMinusOpExpr:
		c.expr(e.Expr, d)
	case *ast.UnaryNotOpExpr:
		c.expr(e.Expr, d)
	case *ast.UnaryLenOpExpr:
		c.expr(e.Expr, d)
	case *ast.FunctionExpr:
		c.stmts(e.Stmts, d)
	}
}
