package lualib

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// ModuleData is imager.data: read data files that sit beside the scenario.
//
//	local data = require("imager.data")
//
// name is a relative, slash-separated path inside the scenario's folder,
// e.g. "users.csv" or "fixtures/items.json". Nothing outside that folder is
// readable: absolute paths, ".." that leaves the folder and symbolic links
// that point outside it fail with an error saying the file is "outside the
// scenario folder". Links that stay inside are followed, which is how a
// Kubernetes ConfigMap volume lays out its files (name -> ..data/name).
// Only regular files are read, of at most 64 MiB (67108864 bytes). Errors
// name the function and the file, e.g.
// `imager.data.csv: "rows.csv": record on line 3: wrong number of fields`.
//
// Results are cached for the life of the VM: a second call with the same
// name (and options) returns the same table without reading the file
// again, so treat returned tables as read-only (copy before changing) and
// load files once, at the top of the scenario or in setup(). A changed file
// is seen by a new VM (for example after a scenario reload).
//
// data.text(name) -> string
//
//	The whole file, byte for byte.
//
// data.lines(name) -> list
//
//	The file split into lines: a list of strings without their "\n" (a
//	"\r" before it is removed too). Blank lines are kept as "", except that
//	the empty piece after a final newline is not a line: "a\n\nb\n" gives
//	{"a", "", "b"}. A leading UTF-8 byte order mark is removed. An empty
//	file gives {}.
//
// data.csv(name [, options]) -> rows, columns
//
//	Parses an RFC 4180 CSV file (quoted fields may hold separators and
//	newlines; a leading byte order mark is removed). Every field is a
//	string: convert with tonumber. All records must have as many fields as
//	the first. options is a table:
//	  header (boolean, default false): the first record names the columns;
//	    each row is then a table keyed by column name, and the second
//	    result is the list of column names in file order. Column names
//	    must be unique and non-empty.
//	  separator (one-character string, default ","): the field separator,
//	    e.g. ";" or "\t".
//	  comment (one-character string, default none): lines starting with it
//	    are skipped.
//	Without header each row is a list of strings and columns is nil.
//
// data.json(name) -> value
//
//	The file decoded as imager.json's json.decode does (null becomes
//	json.null, arrays are marked as arrays).
const ModuleData = "imager.data"

// maxDataFile is the largest file imager.data reads.
const maxDataFile = 64 << 20

// dataModule is one VM's imager.data: its environment and result cache.
type dataModule struct {
	env   *Env
	cache map[string][]lua.LValue
}

// dataLoader returns the loader of imager.data bound to env.
func dataLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		d := &dataModule{env: env, cache: map[string][]lua.LValue{}}
		L.Push(newModule(L, map[string]lua.LGFunction{
			"text":  d.cached("imager.data.text", d.text),
			"lines": d.cached("imager.data.lines", d.lines),
			"csv":   d.cached("imager.data.csv", d.csv),
			"json":  d.cached("imager.data.json", d.json),
		}))
		return 1
	}
}

// dataReader reads and parses one file for a data function.
type dataReader func(L *lua.LState, fn, name string) []lua.LValue

// cached wraps a reader with the per-VM cache.
func (d *dataModule) cached(fn string, read dataReader) lua.LGFunction {
	return func(L *lua.LState) int {
		name := checkString(L, 1, fn, "name")
		opts, _ := csvOptionsKey(L, fn)
		key := fn + "\x00" + name + "\x00" + opts
		if res, ok := d.cache[key]; ok {
			for _, v := range res {
				L.Push(v)
			}
			return len(res)
		}
		res := read(L, fn, name)
		d.cache[key] = res
		for _, v := range res {
			L.Push(v)
		}
		return len(res)
	}
}

// read returns the content of name inside the scenario folder, charged to
// the call's budget (the file is read first: it is at most maxDataFile).
func (d *dataModule) read(L *lua.LState, fn, name string) []byte {
	b, err := readInDir(d.env.Dir, name)
	if err != nil {
		raise(L, fn, "%q: %v", name, err)
	}
	d.env.budget().Charge(L, fn, int64(len(b)))
	return b
}

// dataItemCost is what one line or field costs once in a Lua table: the
// table slot, the boxed string and its share of the row table.
const dataItemCost = 64

// chargeItems charges the strings and table slots a file of b parsed into
// about one item per separator byte sep or newline will take.
func (d *dataModule) chargeItems(L *lua.LState, fn string, b []byte, sep byte) {
	items := int64(bytes.Count(b, []byte{'\n'})) + 1
	if sep != '\n' {
		items += int64(bytes.Count(b, []byte{sep}))
	}
	d.env.budget().Charge(L, fn, int64(len(b))+items*dataItemCost)
}

// errOutside is reported for every path that leaves the scenario folder.
var errOutside = errors.New("outside the scenario folder")

// readInDir reads the regular file name inside dir, refusing anything that
// resolves outside dir and files larger than maxDataFile.
func readInDir(dir, name string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("no scenario folder is configured")
	}
	if name == "" {
		return nil, errors.New("empty file name")
	}
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		return nil, errOutside
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open scenario folder: %w", err)
	}
	defer root.Close()
	fi, err := root.Stat(name)
	if err != nil {
		return nil, rootError(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	if fi.Size() > maxDataFile {
		return nil, fmt.Errorf("file is %d bytes, larger than the %d byte limit", fi.Size(), maxDataFile)
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, rootError(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDataFile+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(b) > maxDataFile {
		return nil, fmt.Errorf("file is larger than the %d byte limit", maxDataFile)
	}
	return b, nil
}

// rootError turns an os.Root error into a message for scenario authors.
func rootError(err error) error {
	switch {
	case strings.Contains(err.Error(), "path escapes from parent"):
		return errOutside
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such file in the scenario folder")
	case errors.Is(err, fs.ErrPermission):
		return errors.New("permission denied")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (d *dataModule) text(L *lua.LState, fn, name string) []lua.LValue {
	b := d.read(L, fn, name)
	d.env.budget().Charge(L, fn, int64(len(b)))
	return []lua.LValue{lua.LString(b)}
}

// utf8BOM is the byte order mark some editors put at the start of text files.
const utf8BOM = "\ufeff"

func (d *dataModule) lines(L *lua.LState, fn, name string) []lua.LValue {
	b := bytes.TrimPrefix(d.read(L, fn, name), []byte(utf8BOM))
	d.chargeItems(L, fn, b, '\n')
	out := L.NewTable()
	for len(b) > 0 {
		line := b
		i := bytes.IndexByte(b, '\n')
		if i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		out.Append(lua.LString(bytes.TrimSuffix(line, []byte("\r"))))
	}
	return []lua.LValue{out}
}

func (d *dataModule) json(L *lua.LState, fn, name string) []lua.LValue {
	b := d.read(L, fn, name)
	d.env.budget().Charge(L, fn, decodeCost(bytesString(b)))
	v, err := decodeJSON(L, b)
	if err != nil {
		raise(L, fn, "%q: %v", name, err)
	}
	return []lua.LValue{v}
}

// csvOptions are data.csv's options.
type csvOptions struct {
	header    bool
	separator rune
	comment   rune
}

// csvOptionsKey renders the options argument as a cache key; only data.csv
// takes options, other functions reject a second argument that is not nil.
func csvOptionsKey(L *lua.LState, fn string) (string, csvOptions) {
	o := csvOptions{separator: ','}
	t := optTable(L, 2, fn, "options")
	if t == nil {
		return "", o
	}
	if fn != "imager.data.csv" {
		raise(L, fn, "takes no options")
	}
	switch h := t.RawGetString("header").(type) {
	case lua.LBool:
		o.header = bool(h)
	case *lua.LNilType:
	default:
		raise(L, fn, "options.header must be a boolean, got %s", h.Type())
	}
	o.separator = csvRuneOption(L, fn, t, "separator", ',')
	o.comment = csvRuneOption(L, fn, t, "comment", 0)
	return fmt.Sprintf("%t/%q/%q", o.header, o.separator, o.comment), o
}

// csvRuneOption reads a one-character string option.
func csvRuneOption(L *lua.LState, fn string, t *lua.LTable, field string, def rune) rune {
	v := t.RawGetString(field)
	if v == lua.LNil {
		return def
	}
	s, ok := v.(lua.LString)
	if !ok || utf8.RuneCountInString(string(s)) != 1 {
		raise(L, fn, "options.%s must be a one-character string, got %s", field, describeValue(v))
	}
	r, _ := utf8.DecodeRuneInString(string(s))
	return r
}

func (d *dataModule) csv(L *lua.LState, fn, name string) []lua.LValue {
	_, o := csvOptionsKey(L, fn)
	b := bytes.TrimPrefix(d.read(L, fn, name), []byte(utf8BOM))
	sep := byte(',')
	if o.separator < utf8.RuneSelf {
		sep = byte(o.separator)
	}
	d.chargeItems(L, fn, b, sep)
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = o.separator
	r.Comment = o.comment
	r.ReuseRecord = true
	var columns []string
	rows := L.NewTable()
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			raise(L, fn, "%q: %v", name, err)
		}
		if o.header && columns == nil {
			columns = headerColumns(L, fn, name, rec)
			continue
		}
		if o.header {
			row := L.CreateTable(0, len(rec))
			for i, field := range rec {
				row.RawSetString(columns[i], lua.LString(field))
			}
			rows.Append(row)
			continue
		}
		row := L.CreateTable(len(rec), 0)
		for _, field := range rec {
			row.Append(lua.LString(field))
		}
		rows.Append(row)
	}
	if !o.header {
		return []lua.LValue{rows, lua.LNil}
	}
	cols := L.CreateTable(len(columns), 0)
	for _, c := range columns {
		cols.Append(lua.LString(c))
	}
	return []lua.LValue{rows, cols}
}

// headerColumns validates a CSV header record and copies it.
func headerColumns(L *lua.LState, fn, name string, rec []string) []string {
	columns := make([]string, len(rec))
	seen := make(map[string]bool, len(rec))
	for i, c := range rec {
		if c == "" {
			raise(L, fn, "%q: header column %d has an empty name", name, i+1)
		}
		if seen[c] {
			raise(L, fn, "%q: header names column %q twice", name, c)
		}
		seen[c] = true
		columns[i] = c
	}
	return columns
}
