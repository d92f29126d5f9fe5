package lualib

import (
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// ModuleRandom is imager.random: random values from the VM's own generator.
//
//	local random = require("imager.random")
//
// Every function draws from Env.Rand, the generator the host seeds from
// -seed, so the same seed and the same calls give the same values on every
// run. Each VM has its own generator: two VMs never share a sequence.
//
// random.int(lo, hi) -> integer
//
//	A uniformly distributed integer in [lo, hi], both ends included. lo and
//	hi are integers (|x| <= 2^53). Error when lo > hi.
//
// random.float() -> number
//
//	A uniformly distributed number in [0, 1).
//
// random.float(lo, hi) -> number
//
//	A uniformly distributed number in [lo, hi) (lo itself when lo == hi).
//	Both are finite numbers. Error when lo > hi.
//
// random.normal([mean [, stddev]]) -> number
//
//	A normally distributed number; mean defaults to 0, stddev to 1
//	(stddev >= 0).
//
// random.exponential([mean]) -> number
//
//	An exponentially distributed number with the given mean (default 1,
//	must be > 0); useful for Poisson arrivals and think times.
//
// random.bool([p]) -> boolean
//
//	true with probability p (default 0.5, 0 <= p <= 1).
//
// random.pick(list) -> value
//
//	A uniformly chosen element of list. Error when the list is empty.
//
// random.weighted(items, weights) -> value
//
//	An element of the list items chosen with probability proportional to
//	the same position in the list weights: weighted({"a", "b"}, {3, 1})
//	returns "a" three times in four. Weights are finite numbers >= 0 with a
//	positive sum, and the two lists have the same length (error otherwise).
//	Cost is linear in the number of items; for a hot path use random.picker.
//
// random.picker(items [, weights]) -> function
//
//	Validates items (and weights, as random.weighted does) once and returns
//	a function that, called with no arguments, returns one element per call:
//	uniformly without weights, weighted with them (binary search, O(log n)).
//	The lists are copied: later changes to them do not affect the picker.
//
// random.shuffle(list) -> list
//
//	A new list holding the elements of list in random order (Fisher-Yates);
//	list itself is not modified.
//
// random.string(n [, alphabet]) -> string
//
//	A string of n characters (0 <= n <= 1048576) drawn uniformly from
//	alphabet, default "A-Za-z0-9" (62 characters). When alphabet is valid
//	UTF-8 its characters are runes (so "äöü" yields UTF-8 text of n runes);
//	otherwise its bytes are used. Error when alphabet is empty.
//
// random.seed(n)
//
//	Reseeds this VM's generator with the integer n: afterwards the sequence
//	is the one a VM started with -seed=n produces (see NewRand). Affects
//	imager.random and imager.uuid of this VM only.
const ModuleRandom = "imager.random"

// maxRandomString bounds random.string so it cannot amplify memory.
const maxRandomString = 1 << 20

// defaultAlphabet is random.string's alphabet when none is given.
const defaultAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomLoader returns the loader of imager.random bound to env.
func randomLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newModule(L, map[string]lua.LGFunction{
			"int":         env.randomInt,
			"float":       env.randomFloat,
			"normal":      env.randomNormal,
			"exponential": env.randomExponential,
			"bool":        env.randomBool,
			"pick":        env.randomPick,
			"weighted":    env.randomWeighted,
			"picker":      env.randomPicker,
			"shuffle":     env.randomShuffle,
			"string":      env.randomString,
			"seed":        env.randomSeed,
		}))
		return 1
	}
}

func (e *Env) randomInt(L *lua.LState) int {
	const fn = "imager.random.int"
	lo := checkInt(L, 1, fn, "lo")
	hi := checkInt(L, 2, fn, "hi")
	if lo > hi {
		raise(L, fn, "lo (%d) is greater than hi (%d)", lo, hi)
	}
	L.Push(lua.LNumber(lo + e.rng().Int64N(hi-lo+1)))
	return 1
}

func (e *Env) randomFloat(L *lua.LState) int {
	const fn = "imager.random.float"
	if L.GetTop() == 0 {
		L.Push(lua.LNumber(e.rng().Float64()))
		return 1
	}
	lo := checkFinite(L, 1, fn, "lo")
	hi := checkFinite(L, 2, fn, "hi")
	if lo > hi {
		raise(L, fn, "lo (%s) is greater than hi (%s)", formatNumber(lo), formatNumber(hi))
	}
	u := e.rng().Float64()
	v := lo + u*(hi-lo)
	if math.IsInf(hi-lo, 0) { // the span overflows; interpolate instead
		v = lo*(1-u) + hi*u
	}
	if v >= hi && hi > lo { // rounding can reach hi; keep the interval half-open
		v = math.Nextafter(hi, lo)
	}
	L.Push(lua.LNumber(v))
	return 1
}

func (e *Env) randomNormal(L *lua.LState) int {
	const fn = "imager.random.normal"
	mean, stddev := 0.0, 1.0
	if L.Get(1) != lua.LNil {
		mean = checkFinite(L, 1, fn, "mean")
	}
	if L.Get(2) != lua.LNil {
		stddev = checkFinite(L, 2, fn, "stddev")
		if stddev < 0 {
			raise(L, fn, "stddev (%s) is negative", formatNumber(stddev))
		}
	}
	L.Push(lua.LNumber(mean + stddev*e.rng().NormFloat64()))
	return 1
}

func (e *Env) randomExponential(L *lua.LState) int {
	const fn = "imager.random.exponential"
	mean := 1.0
	if L.Get(1) != lua.LNil {
		mean = checkFinite(L, 1, fn, "mean")
		if mean <= 0 {
			raise(L, fn, "mean (%s) must be greater than 0", formatNumber(mean))
		}
	}
	L.Push(lua.LNumber(mean * e.rng().ExpFloat64()))
	return 1
}

func (e *Env) randomBool(L *lua.LState) int {
	const fn = "imager.random.bool"
	p := 0.5
	if L.Get(1) != lua.LNil {
		p = checkNumber(L, 1, fn, "p")
		if !(p >= 0 && p <= 1) {
			raise(L, fn, "p (%s) must be between 0 and 1", formatNumber(p))
		}
	}
	L.Push(lua.LBool(e.rng().Float64() < p))
	return 1
}

func (e *Env) randomPick(L *lua.LState) int {
	const fn = "imager.random.pick"
	list := checkTable(L, 1, fn, "list")
	n := listLen(list)
	if n == 0 {
		raise(L, fn, "list is empty")
	}
	L.Push(list.RawGetInt(1 + e.rng().IntN(n)))
	return 1
}

func (e *Env) randomWeighted(L *lua.LState) int {
	const fn = "imager.random.weighted"
	items, cum := weightedArgs(L, fn)
	L.Push(items[searchCumulative(cum, e.rng().Float64()*cum[len(cum)-1])])
	return 1
}

func (e *Env) randomPicker(L *lua.LState) int {
	const fn = "imager.random.picker"
	if L.Get(2) == lua.LNil {
		list := checkTable(L, 1, fn, "items")
		n := listLen(list)
		if n == 0 {
			raise(L, fn, "items is empty")
		}
		items := make([]lua.LValue, n)
		for i := range items {
			items[i] = list.RawGetInt(i + 1)
		}
		L.Push(L.NewFunction(func(L *lua.LState) int {
			L.Push(items[e.rng().IntN(len(items))])
			return 1
		}))
		return 1
	}
	items, cum := weightedArgs(L, fn)
	total := cum[len(cum)-1]
	L.Push(L.NewFunction(func(L *lua.LState) int {
		L.Push(items[searchCumulative(cum, e.rng().Float64()*total)])
		return 1
	}))
	return 1
}

// weightedArgs validates (items, weights) at arguments 1 and 2 and returns
// the items with the cumulative weights.
func weightedArgs(L *lua.LState, fn string) ([]lua.LValue, []float64) {
	itemList := checkTable(L, 1, fn, "items")
	weightList := checkTable(L, 2, fn, "weights")
	n := listLen(itemList)
	if n == 0 {
		raise(L, fn, "items is empty")
	}
	if w := listLen(weightList); w != n {
		raise(L, fn, "items has %d elements but weights has %d", n, w)
	}
	items := make([]lua.LValue, n)
	cum := make([]float64, n)
	total := 0.0
	for i := range n {
		items[i] = itemList.RawGetInt(i + 1)
		w, ok := weightList.RawGetInt(i + 1).(lua.LNumber)
		if !ok {
			raise(L, fn, "weights[%d] must be a number, got %s", i+1, weightList.RawGetInt(i+1).Type())
		}
		if f := float64(w); f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			raise(L, fn, "weights[%d] (%s) must be a finite number >= 0", i+1, formatNumber(f))
		}
		total += float64(w)
		cum[i] = total
	}
	if total <= 0 || math.IsInf(total, 0) {
		raise(L, fn, "weights must have a positive finite sum, got %s", formatNumber(total))
	}
	return items, cum
}

// searchCumulative returns the first index whose cumulative weight exceeds x,
// which skips zero-weight items.
func searchCumulative(cum []float64, x float64) int {
	i := sort.Search(len(cum), func(i int) bool { return cum[i] > x })
	return min(i, len(cum)-1)
}

func (e *Env) randomShuffle(L *lua.LState) int {
	const fn = "imager.random.shuffle"
	list := checkTable(L, 1, fn, "list")
	n := listLen(list)
	out := L.CreateTable(n, 0)
	vals := make([]lua.LValue, n)
	for i := range vals {
		vals[i] = list.RawGetInt(i + 1)
	}
	e.rng().Shuffle(n, func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	for _, v := range vals {
		out.Append(v)
	}
	L.Push(out)
	return 1
}

func (e *Env) randomString(L *lua.LState) int {
	const fn = "imager.random.string"
	n := checkInt(L, 1, fn, "n")
	if n < 0 || n > maxRandomString {
		raise(L, fn, "n (%d) must be between 0 and %d", n, maxRandomString)
	}
	alphabet := optString(L, 2, fn, "alphabet", defaultAlphabet)
	if alphabet == "" {
		raise(L, fn, "alphabet is empty")
	}
	r := e.rng()
	var b strings.Builder
	if utf8.ValidString(alphabet) && utf8.RuneCountInString(alphabet) != len(alphabet) {
		runes := []rune(alphabet)
		b.Grow(int(n) * utf8.UTFMax)
		for range n {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
	} else {
		b.Grow(int(n))
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}

func (e *Env) randomSeed(L *lua.LState) int {
	const fn = "imager.random.seed"
	e.Rand = NewRand(uint64(checkInt(L, 1, fn, "n")))
	return 0
}

// checkFinite returns number argument n and rejects NaN and infinities.
func checkFinite(L *lua.LState, n int, fn, arg string) float64 {
	f := checkNumber(L, n, fn, arg)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		raise(L, fn, "argument #%d (%s) must be a finite number, got %s", n, arg, formatNumber(f))
	}
	return f
}
