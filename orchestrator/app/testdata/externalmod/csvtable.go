package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/PeladoCollado/imager/types"
)

// csvTable is a request source backed by a table of requests kept in
// memory, loaded once from a CSV file. The file's first row names the
// columns: "path" is required; "method" (default GET), "query" (raw query
// without '?') and "body" are optional, and unknown columns are ignored.
// Next walks the rows in order and wraps around at the end.
type csvTable struct {
	rows []types.RequestSpec
	pos  int
}

var _ types.RequestSource = (*csvTable)(nil)

// loadCSVTable reads the table at path.
func loadCSVTable(path string) (*csvTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open request table: %w", err)
	}
	defer f.Close()
	rows, err := parseCSVTable(f)
	if err != nil {
		return nil, fmt.Errorf("request table %s: %w", path, err)
	}
	return &csvTable{rows: rows}, nil
}

// parseCSVTable reads a header row and at least one request row from r.
func parseCSVTable(r io.Reader) ([]types.RequestSpec, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("empty file: want a header row such as method,path,query,body")
	}
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.ToLower(strings.TrimSpace(name))] = i
	}
	if _, ok := col["path"]; !ok {
		return nil, fmt.Errorf("header %q has no path column", strings.Join(header, ","))
	}
	field := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []types.RequestSpec
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(rows)+2, err)
		}
		spec := types.RequestSpec{
			Method:      strings.ToUpper(field(rec, "method")),
			Path:        field(rec, "path"),
			QueryString: strings.TrimPrefix(field(rec, "query"), "?"),
			Body:        field(rec, "body"),
		}
		if spec.Method == "" {
			spec.Method = http.MethodGet
		}
		if !strings.HasPrefix(spec.Path, "/") {
			return nil, fmt.Errorf("row %d: path %q must start with /", len(rows)+2, spec.Path)
		}
		rows = append(rows, spec)
	}
	if len(rows) == 0 {
		return nil, errors.New("no request rows after the header")
	}
	return rows, nil
}

// Next returns the next row, starting over after the last one.
func (t *csvTable) Next() (types.RequestSpec, error) {
	spec := t.rows[t.pos]
	t.pos = (t.pos + 1) % len(t.rows)
	return spec, nil
}

// Reset starts again from the first row.
func (t *csvTable) Reset() error {
	t.pos = 0
	return nil
}
