package script

import (
	"errors"
	"fmt"
	"sync"
)

// Session is one run's use of a scenario file. It reads and compiles the
// file once, on first need, and derives everything from that one read: the
// roles the scenario defines, its SHA-256 and the compiled chunk that every
// VM of its request sources and load calculators shares. It owns what it
// builds: Watch swaps a changed file's new version into them at a round
// boundary, and Close releases them. A Session is safe for concurrent use.
type Session struct {
	path string

	mu       sync.Mutex
	loaded   bool
	first    *Scenario // the version loaded first; nil when that failed
	loadErr  error
	probed   bool
	roles    Roles
	rolesErr error
	sources  []*ReloadableSource
	calcs    []*ReloadableCalculator
	closed   bool
}

// errSessionClosed is the error of building from a closed Session.
var errSessionClosed = errors.New("scenario session closed")

// NewSession starts a session on the scenario file at path. It reads
// nothing yet: the first method that needs the scenario loads it.
func NewSession(path string) *Session { return &Session{path: path} }

// Path is the scenario file's path as given to NewSession.
func (s *Session) Path() string { return s.path }

// Scenario returns the scenario as first loaded, loading it (see Load) on
// the first call; a failed load fails every call the same way.
func (s *Session) Scenario() (*Scenario, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scenarioLocked()
}

func (s *Session) scenarioLocked() (*Scenario, error) {
	if !s.loaded {
		s.loaded = true
		s.first, s.loadErr = Load(s.path)
	}
	return s.first, s.loadErr
}

// Roles reports the roles the scenario defines (see Scenario.Validate).
// They are found once, in a VM made with cfg whose print output and log
// records are discarded: setup's lines would otherwise show once more than
// there are VMs running.
func (s *Session) Roles(cfg VMConfig) (Roles, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.probed {
		sc, err := s.scenarioLocked()
		if err != nil {
			return Roles{}, err
		}
		s.probed = true
		cfg.Logger = nil
		s.roles, s.rolesErr = sc.Validate(cfg)
	}
	return s.roles, s.rolesErr
}

// RequestSource builds a request source of vms VMs made with cfg (see
// NewRequestSource) from the loaded scenario. The session owns it: Watch
// reloads it and Close releases it.
func (s *Session) RequestSource(cfg VMConfig, vms int) (*ReloadableSource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.usable()
	if err != nil {
		return nil, err
	}
	src, err := NewRequestSource(sc, cfg, vms)
	if err != nil {
		return nil, err
	}
	r := &ReloadableSource{cfg: cfg, vms: vms}
	r.cur = src
	s.sources = append(s.sources, r)
	return r, nil
}

// LoadCalculator builds a load calculator on a VM made with cfg (see
// NewLoadCalculator) from the loaded scenario. The session owns it: Watch
// reloads it and Close releases it.
func (s *Session) LoadCalculator(cfg VMConfig) (*ReloadableCalculator, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.usable()
	if err != nil {
		return nil, err
	}
	calc, err := NewLoadCalculator(sc, cfg)
	if err != nil {
		return nil, err
	}
	r := &ReloadableCalculator{cfg: cfg}
	r.cur = calc
	s.calcs = append(s.calcs, r)
	return r, nil
}

// usable returns the scenario to build from, failing once s is closed.
func (s *Session) usable() (*Scenario, error) {
	if s.closed {
		return nil, fmt.Errorf("%s: %w", s.path, errSessionClosed)
	}
	return s.scenarioLocked()
}

// Used reports whether the session has built a request source or a load
// calculator.
func (s *Session) Used() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sources)+len(s.calcs) > 0
}

// Close releases every request source and load calculator the session
// built, with any new version still waiting to take over. Stop Watch
// first; nothing may be called on what was built after Close.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, r := range s.sources {
		r.close()
	}
	for _, r := range s.calcs {
		r.close()
	}
}
