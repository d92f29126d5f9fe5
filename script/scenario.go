package script

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// MaxSourceBytes is the largest scenario or module file Load and require
// accept: 1 MiB, the most a Kubernetes ConfigMap can carry. The bound also
// keeps the recursive compiler's Go stack small for any input.
const MaxSourceBytes = 1 << 20

// Scenario is a compiled scenario file. The compiled chunk is shared, read
// only, by every VM made from it; helper modules the scenario requires are
// compiled once too, on first use, and cached here. A Scenario is safe for
// concurrent use.
type Scenario struct {
	path  string
	dir   string
	name  string
	sum   [sha256.Size]byte
	proto *lua.FunctionProto

	mu      sync.Mutex
	modules map[string]*lua.FunctionProto // module name -> compiled file
}

// Load reads and compiles the scenario file at path. Its folder becomes the
// scenario folder: the only place require and imager.data read from. A
// syntax error names the file and line, for example
// "scenario.lua:12: syntax error near 'end': ...". Load does not run the
// file; NewVM and Validate do.
func Load(path string) (*Scenario, error) {
	f, err := readScenarioFile(path)
	if err != nil {
		return nil, err
	}
	return f.compile()
}

// scenarioFile is the content of a scenario file as read, not yet
// compiled.
type scenarioFile struct {
	given     string // the path as given, for errors
	abs       string
	dir, name string
	raw       []byte // at most MaxSourceBytes+1 bytes
}

// readScenarioFile reads the file at path, through its folder (so that a
// symlinked ConfigMap version is read whole, as it is now).
func readScenarioFile(path string) (*scenarioFile, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	dir, name := filepath.Split(abs)
	dir = filepath.Clean(dir)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	defer root.Close()
	raw, err := readFile(root, name)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return &scenarioFile{given: path, abs: abs, dir: dir, name: name, raw: raw}, nil
}

// sum is the SHA-256 of the bytes read.
func (f *scenarioFile) sum() [sha256.Size]byte { return sha256.Sum256(f.raw) }

// compile checks and compiles the bytes read into a Scenario.
func (f *scenarioFile) compile() (*Scenario, error) {
	src, err := sourceText(f.name, f.raw)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", f.given, err)
	}
	proto, err := compile(src, f.name)
	if err != nil {
		return nil, err
	}
	return &Scenario{path: f.abs, dir: f.dir, name: f.name, sum: f.sum(), proto: proto,
		modules: make(map[string]*lua.FunctionProto)}, nil
}

// Path is the absolute path of the scenario file.
func (s *Scenario) Path() string { return s.path }

// Dir is the scenario folder: the folder that holds the file.
func (s *Scenario) Dir() string { return s.dir }

// Name is the file's base name, the name errors start with
// ("scenario.lua:12: ...").
func (s *Scenario) Name() string { return s.name }

// SHA256 is the SHA-256 of the file's content as Load read it: the
// version this Scenario was compiled from.
func (s *Scenario) SHA256() [sha256.Size]byte { return s.sum }

// readSource reads a Lua source file inside root and refuses what is not
// Lua text (see sourceText).
func readSource(root *os.Root, name string) ([]byte, error) {
	raw, err := readFile(root, name)
	if err != nil {
		return nil, err
	}
	return sourceText(name, raw)
}

// readFile reads at most MaxSourceBytes+1 bytes of the file name inside
// root, so that sourceText can tell a file over the limit.
func readFile(root *os.Root, name string) ([]byte, error) {
	f, err := root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a Lua file", name)
	}
	return io.ReadAll(io.LimitReader(f, MaxSourceBytes+1))
}

// sourceText refuses what is not Lua text: precompiled chunks (a leading
// "\x1bLua" or any ESC byte first), NUL bytes, and files over
// MaxSourceBytes. It returns the text with a "#!" first line blanked.
func sourceText(name string, src []byte) ([]byte, error) {
	switch {
	case len(src) > MaxSourceBytes:
		return nil, fmt.Errorf("%s is larger than %d bytes", name, MaxSourceBytes)
	case len(src) > 0 && src[0] == 0x1b:
		return nil, fmt.Errorf("%s is a precompiled (binary) chunk; only Lua source text is allowed", name)
	case bytes.IndexByte(src, 0) >= 0:
		return nil, fmt.Errorf("%s contains NUL bytes; only Lua source text is allowed", name)
	}
	if len(src) > 0 && src[0] == '#' {
		// A "#!" first line is skipped, as lua does; its newline stays
		// so that line numbers are unchanged.
		end := bytes.IndexByte(src, '\n')
		if end < 0 {
			end = len(src)
		}
		src = append(make([]byte, 0, len(src)-end), src[end:]...)
	}
	return src, nil
}

// compile parses and compiles Lua source text; name is the chunk name that
// error messages and tracebacks start with.
func compile(src []byte, name string) (*lua.FunctionProto, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		var perr *parse.Error
		if errors.As(err, &perr) {
			if perr.Pos.Line == parse.EOF {
				return nil, fmt.Errorf("%s: syntax error at end of file: %s", name, perr.Message)
			}
			return nil, fmt.Errorf("%s:%d: syntax error near '%s': %s", name, perr.Pos.Line, perr.Token, perr.Message)
		}
		return nil, fmt.Errorf("%s: syntax error: %w", name, err)
	}
	if line := tooDeep(chunk); line > 0 {
		return nil, fmt.Errorf("%s:%d: blocks or expressions nested more than %d levels deep", name, line, MaxSyntaxDepth)
	}
	chunk = rewriteConcat(chunk)
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		var cerr *lua.CompileError
		if errors.As(err, &cerr) {
			return nil, fmt.Errorf("%s:%d: %s", name, cerr.Line, cerr.Message)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return proto, nil
}

// module returns the compiled helper module stored at file (a slash
// separated path relative to the scenario folder), compiling it on first
// use. The file must resolve inside the scenario folder.
func (s *Scenario) module(file string) (*lua.FunctionProto, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.modules[file]; ok {
		return p, nil
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	src, err := readSource(root, filepath.FromSlash(file))
	if err != nil {
		return nil, err
	}
	p, err := compile(src, file)
	if err != nil {
		return nil, err
	}
	s.modules[file] = p
	return p, nil
}

// Roles says which roles a scenario can play.
type Roles struct {
	// Request is set when the scenario defines request(): it can be a
	// request source (-request-source-type=lua).
	Request bool
	// RPS is set when the scenario defines rps(round): it can be a load
	// calculator (-load-calculator=lua).
	RPS bool
	// Thresholds are the expressions of the scenario's global thresholds
	// list, judged like -threshold; nil when it defines none.
	Thresholds []string
}

// Validate runs the scenario in a fresh VM (its top level and setup, under
// the usual limits) and reports the roles it defines. It is an error when
// the scenario defines neither request() nor rps(round).
func (s *Scenario) Validate(cfg VMConfig) (Roles, error) {
	vm, err := s.NewVM(cfg)
	if err != nil {
		return Roles{}, err
	}
	defer vm.Close()
	r := vm.Roles()
	if !r.Request && !r.RPS {
		return r, fmt.Errorf("%s: defines neither request() (a request source) nor rps(round) (a load calculator)", s.name)
	}
	return r, nil
}

// The functions a scenario defines for its roles, as MissingFunctionError
// names them.
const (
	// FuncRequest makes a scenario a request source.
	FuncRequest = "request()"
	// FuncRPS makes a scenario a load calculator.
	FuncRPS = "rps(round)"
)

// MissingFunctionError is the error of NewRequestSource and
// NewLoadCalculator (and the Session methods that call them) when the
// scenario lacks the function the role needs.
type MissingFunctionError struct {
	// Scenario is the scenario's name (Scenario.Name).
	Scenario string
	// Function is FuncRequest or FuncRPS.
	Function string
}

// Error implements error.
func (e *MissingFunctionError) Error() string {
	return fmt.Sprintf("%s has no %s function", e.Scenario, e.Function)
}
