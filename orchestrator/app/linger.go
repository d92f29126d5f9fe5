// The outputs that let a run's results leave its pod: the results file
// served at /results (during the run and for -results-linger after it)
// and the compact summary written to -termination-log.

package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/results"
)

// resultsContentType is the media type of a results file.
const resultsContentType = "application/x-ndjson"

// httpHandler serves the orchestrator's HTTP port: metrics.Handler's
// /metrics, /healthz and /readyz, and GET /results, the results file of
// -out (out) as written so far. created reports whether this run has
// created the file yet; before that a file at out is an older run's and
// is not served.
func httpHandler(g prometheus.Gatherer, ready func() bool, out string, created func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", metrics.Handler(g, ready))
	mux.HandleFunc("GET /results", func(w http.ResponseWriter, r *http.Request) {
		serveResults(w, r, out, created())
	})
	return mux
}

// serveResults writes the results file at out, or says why there is
// none.
func serveResults(w http.ResponseWriter, r *http.Request, out string, created bool) {
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg+"\n")
	}
	if out == "" {
		fail(http.StatusNotFound, "no results file: the orchestrator was started without -out")
		return
	}
	if !created {
		fail(http.StatusServiceUnavailable, "the results file is not created yet: the test has not started")
		return
	}
	f, err := os.Open(out)
	if errors.Is(err, fs.ErrNotExist) {
		fail(http.StatusNotFound, "the results file "+out+" is gone")
		return
	}
	if err != nil {
		fail(http.StatusInternalServerError, "results file: "+err.Error())
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fail(http.StatusInternalServerError, "results file: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", resultsContentType)
	// The file may still grow while the test runs; ServeContent sends
	// the lines written when it was opened (a last line being written may
	// be cut, which results.Read tolerates).
	http.ServeContent(w, r, "", fi.ModTime(), io.NewSectionReader(f, 0, fi.Size()))
}

// lingerResults keeps the process, and with it the HTTP server on lis,
// up for d after the test ended, so the results file can be fetched from
// /results. It returns when d has passed or ctx ends, whichever is first;
// it changes nothing about the run's outcome. Nothing happens without a
// listener or with d <= 0.
func lingerResults(ctx context.Context, d time.Duration, lis net.Listener, log *slog.Logger) {
	if d <= 0 || lis == nil {
		return
	}
	log.Info("test over; serving results before exiting", "addr", lis.Addr().String(), "path", "/results", "linger", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		log.Info("results linger over; exiting")
	case <-ctx.Done():
		log.Info("results linger ended early by a stop; exiting")
	}
}

// maxTerminationMessage is the most Kubernetes keeps of a container's
// termination message.
const maxTerminationMessage = 4096

// truncatedMarker ends a termination message that had to be cut.
const truncatedMarker = "… truncated: the full summary is in the logs and the -out file\n"

// outputProblems checks -termination-log and -results-linger.
func (c Config) outputProblems() []error {
	var errs []error
	if c.TerminationLog != "" {
		dir := filepath.Dir(c.TerminationLog)
		if fi, err := os.Stat(dir); err != nil {
			errs = append(errs, fmt.Errorf("-termination-log %s: its directory cannot be used: %w", c.TerminationLog, err))
		} else if !fi.IsDir() {
			errs = append(errs, fmt.Errorf("-termination-log %s: %s is not a directory", c.TerminationLog, dir))
		}
	}
	if c.ResultsLinger < 0 {
		errs = append(errs, fmt.Errorf("-results-linger (%v) must not be negative", c.ResultsLinger))
	}
	if c.ResultsLinger > 0 && c.ListenPort == 0 {
		errs = append(errs, errors.New("-results-linger needs -listen-port: /results is served on its HTTP server"))
	}
	return errs
}

// terminationMessage is the compact summary of s, verdict first, cut to
// at most maxTerminationMessage bytes.
func terminationMessage(s *results.Summary) []byte {
	var b bytes.Buffer
	results.PrintCompactSummary(&b, s)
	return truncateText(b.Bytes(), maxTerminationMessage)
}

// truncateText returns text when it fits in limit bytes; otherwise the
// whole lines that fit with truncatedMarker after them. A first line too
// long for that is cut at a character boundary.
func truncateText(text []byte, limit int) []byte {
	if len(text) <= limit {
		return text
	}
	room := limit - len(truncatedMarker)
	cut := bytes.LastIndexByte(text[:room], '\n') + 1
	if cut == 0 {
		// No whole line fits: keep what does, on a rune boundary, and end
		// the line.
		cut = room - 1
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		return append(append(append([]byte{}, text[:cut]...), '\n'), truncatedMarker...)
	}
	return append(append([]byte{}, text[:cut]...), truncatedMarker...)
}

// writeTerminationLog writes the compact summary of s to path. A failure
// is logged and changes nothing else: the verdict stands.
func writeTerminationLog(path string, s *results.Summary, log *slog.Logger) {
	if path == "" {
		return
	}
	if err := os.WriteFile(path, terminationMessage(s), 0o644); err != nil {
		log.Error("-termination-log: summary not written", "path", path, "error", err)
	}
}
