package results

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer writes a results file line by line. Each line is written to the
// file as soon as it is known, so a run that is killed keeps every line
// written before. Its methods are safe for concurrent use.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	path string
	err  error
}

// Create creates (or truncates) the results file at path.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("results file: %w", err)
	}
	return &Writer{f: f, path: path}, nil
}

// Write appends one line: a *Run, *Round or *Summary. After the first
// failure every later Write returns the same error.
func (w *Writer) Write(line any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(line); err != nil {
		return fmt.Errorf("results file %s: %w", w.path, err)
	}
	b := buf.Bytes()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if _, err := w.f.Write(b); err != nil {
		w.err = fmt.Errorf("results file %s: %w", w.path, err)
	}
	return w.err
}

// Close flushes the file to disk and closes it.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	serr := w.f.Sync()
	cerr := w.f.Close()
	if err := errors.Join(serr, cerr); err != nil && w.err == nil {
		w.err = fmt.Errorf("results file %s: %w", w.path, err)
	}
	return w.err
}

// File is a results file read back.
type File struct {
	// Path is where the file was read from.
	Path   string
	Run    *Run
	Rounds []*Round
	// Summary is nil when the run was killed before it ended.
	Summary *Summary
}

// maxLine bounds one line of a results file.
const maxLine = 64 << 20

// ReadFile reads the results file at path. A line that is not a known
// record is an error naming path and line; a file whose last line was cut
// off by a kill keeps every complete line before it.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results file: %w", err)
	}
	defer f.Close()
	return Read(path, f)
}

// Read reads a results file from r; name is used in errors.
func Read(name string, r io.Reader) (*File, error) {
	out := &File{Path: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var pendingErr error
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if pendingErr != nil {
			// A bad line followed by more lines is corruption, not a
			// line cut off by a kill.
			return nil, pendingErr
		}
		if err := out.add(line); err != nil {
			pendingErr = fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if out.Run == nil {
		if pendingErr != nil {
			return nil, pendingErr
		}
		return nil, fmt.Errorf("%s: no run line: not an imager results file", name)
	}
	return out, nil
}

// add decodes one line into f.
func (f *File) add(line []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	var dst any
	switch head.Type {
	case TypeRun:
		if f.Run != nil {
			return errors.New("a second run line")
		}
		f.Run = &Run{}
		dst = f.Run
	case TypeRound:
		r := &Round{}
		f.Rounds = append(f.Rounds, r)
		dst = r
	case TypeSummary:
		f.Summary = &Summary{}
		dst = f.Summary
	default:
		return fmt.Errorf("unknown line type %q", head.Type)
	}
	if f.Run == nil {
		return errors.New("the first line must be the run line")
	}
	if err := json.Unmarshal(line, dst); err != nil {
		return fmt.Errorf("%s line: %w", head.Type, err)
	}
	if f.Run.SchemaVersion > SchemaVersion {
		return fmt.Errorf("schema version %d is newer than this imager's (%d)", f.Run.SchemaVersion, SchemaVersion)
	}
	return nil
}
