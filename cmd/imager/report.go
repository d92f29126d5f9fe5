package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/internal/report"
	"github.com/PeladoCollado/imager/results"
)

// reportCmd renders a results file as a self-contained HTML page:
//
//	imager report [-o report.html] FILE
//
// It exits 0 when the page was written, 2 on a usage error and 1 when the
// results file cannot be read or the page cannot be written.
func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imager report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "HTML file to write (default: FILE with its extension replaced by .html)")
	showVersion := cli.BindVersionFlag(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: imager report [-o report.html] FILE\n\nRenders the results file FILE (written by -out) as one self-contained HTML page.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return exitUsage
	}
	if *showVersion {
		return printVersion(stdout)
	}
	switch fs.NArg() {
	case 1:
	case 0:
		fmt.Fprintln(stderr, "imager report: missing the results file argument")
		fs.Usage()
		return exitUsage
	default:
		fmt.Fprintf(stderr, "imager report: unexpected argument %q after the results file\n", fs.Arg(1))
		return exitUsage
	}
	in := fs.Arg(0)
	dst := *out
	if dst == "" {
		dst = htmlPath(in)
	}
	f, err := results.ReadFile(in)
	if err != nil {
		fmt.Fprintf(stderr, "imager report: %v\n", err)
		return exitFailed
	}
	if err := writeReport(dst, f); err != nil {
		fmt.Fprintf(stderr, "imager report: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "wrote %s\n", dst)
	return exitOK
}

// htmlPath is the default output of `imager report`: the results file's
// name with .html in place of its extension, next to it.
func htmlPath(in string) string {
	p := strings.TrimSuffix(in, filepath.Ext(in)) + ".html"
	if p == in {
		// Never overwrite the input, should it end in .html.
		p = in + ".html"
	}
	return p
}

// writeReport renders f into the file at path.
func writeReport(path string, f *results.File) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(fh)
	werr := report.Write(w, f)
	if werr == nil {
		werr = w.Flush()
	}
	if cerr := fh.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path) // leave no half-written page behind
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
