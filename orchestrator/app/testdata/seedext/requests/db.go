// The code below is the seed README's extension example, unchanged but
// for gofmt; TestSeedExtensionExampleCompiles builds it.

package requests

import (
	"database/sql"
	"errors"
	"github.com/PeladoCollado/imager/types"
	"sync"
)

type DBRequestSource struct {
	db     *sql.DB
	mu     sync.Mutex
	offset int
}

func NewDBRequestSource(db *sql.DB) *DBRequestSource {
	return &DBRequestSource{db: db}
}
func (s *DBRequestSource) Next() (types.RequestSpec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req, err := s.queryByOffset(s.offset)
	if errors.Is(err, sql.ErrNoRows) {
		s.offset = 0
		req, err = s.queryByOffset(s.offset)
	}
	if err != nil {
		return types.RequestSpec{}, err
	}
	s.offset++
	return req, nil
}
func (s *DBRequestSource) queryByOffset(offset int) (types.RequestSpec, error) {
	row := s.db.QueryRow(`
SELECT method, path, query_string, body
FROM request_specs
ORDER BY id LIMIT 1 OFFSET ?`, offset)
	var req types.RequestSpec
	var queryString sql.NullString
	var body sql.NullString
	err := row.Scan(&req.Method, &req.Path, &queryString, &body)
	if err != nil {
		return types.RequestSpec{}, err
	}
	if queryString.Valid {
		req.QueryString = queryString.String
	}
	if body.Valid {
		req.Body = body.String
	}
	return req, nil
}
func (s *DBRequestSource) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = 0
	return nil
}
