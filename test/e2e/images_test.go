package e2e

import (
	"bufio"
	"context"
	"debug/elf"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// The container images cannot be built here (no Docker daemon), so these
// tests check the two things an image depends on: each Dockerfile has the
// agreed shape (static build stamped with ARG VERSION, distroless nonroot
// final stage, one binary), and the go build line it runs, executed as
// written, produces a static binary that starts and prints the version.

// image describes what one Dockerfile must build and expose.
type image struct {
	name  string   // command under ./cmd and binary name
	ports []string // EXPOSE, in order
}

var images = []image{
	{name: "orchestrator", ports: []string{"8099", "8100"}},
	{name: "executor", ports: []string{"9100"}},
	{name: "sumservice", ports: []string{"8080"}},
}

// finalBase is the only allowed base of the images' last stage.
const finalBase = "gcr.io/distroless/static-debian12:nonroot"

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	op   string // upper case: FROM, RUN, COPY, ...
	args string
}

// parseDockerfile splits a Dockerfile into instructions, dropping comments
// and joining backslash-continued lines.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || (line == "" && cur.Len() == 0) {
			continue
		}
		cont := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\"))
		cur.WriteByte(' ')
		if cont {
			continue
		}
		op, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{op: strings.ToUpper(op), args: strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// goBuild is the go build command a Dockerfile runs.
type goBuild struct {
	env   []string // NAME=value assignments before `go`
	flags []string // flags between `build` and -o
	out   string   // -o path
	pkg   string   // package built
}

// findGoBuild returns the go build of the RUN instruction that has one, with
// its words split as a POSIX shell would for the simple quoting used there.
func findGoBuild(t *testing.T, ins []instruction) goBuild {
	t.Helper()
	for _, in := range ins {
		if in.op != "RUN" || !strings.Contains(in.args, "go build") {
			continue
		}
		words := shellWords(t, in.args)
		var b goBuild
		i := slices.Index(words, "go")
		if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
			t.Fatalf("RUN %q: no `go build` command", in.args)
		}
		for j := i - 1; j >= 0 && strings.Contains(words[j], "=") && !strings.HasPrefix(words[j], "-"); j-- {
			b.env = append([]string{words[j]}, b.env...)
		}
		rest := words[i+2:]
		for k := 0; k < len(rest); k++ {
			switch {
			case rest[k] == "-o" && k+1 < len(rest):
				b.out = rest[k+1]
				k++
			case strings.HasPrefix(rest[k], "-"):
				b.flags = append(b.flags, rest[k])
			default:
				b.pkg = rest[k]
			}
		}
		return b
	}
	t.Fatal("no RUN instruction with `go build`")
	return goBuild{}
}

// shellWords splits s into words, honouring single and double quotes.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// finalStage returns the instructions after the last FROM, and its base.
func finalStage(ins []instruction) (base string, stage []instruction) {
	for i := len(ins) - 1; i >= 0; i-- {
		if ins[i].op == "FROM" {
			return strings.Fields(ins[i].args)[0], ins[i+1:]
		}
	}
	return "", nil
}

func TestImageDockerfiles(t *testing.T) {
	root := repoRoot(t)
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			ins := parseDockerfile(t, filepath.Join(root, "Dockerfile."+im.name))
			b := findGoBuild(t, ins)
			if !slices.Contains(b.env, "CGO_ENABLED=0") {
				t.Errorf("go build environment = %q, want CGO_ENABLED=0", b.env)
			}
			for _, want := range []string{"-trimpath", "-ldflags=-s -w -X " + versionVar + "=${VERSION}"} {
				if !slices.Contains(b.flags, want) {
					t.Errorf("go build flags = %q, want %q among them", b.flags, want)
				}
			}
			if !slices.Contains(ins, instruction{op: "ARG", args: "VERSION"}) {
				t.Error("no ARG VERSION for the go build to stamp")
			}
			if got, want := b.pkg, "./cmd/"+im.name; got != want {
				t.Errorf("go build package = %q, want %q", got, want)
			}

			base, stage := finalStage(ins)
			if base != finalBase {
				t.Errorf("final stage FROM %q, want %q", base, finalBase)
			}
			var copies, users, exposes, entry []string
			for _, in := range stage {
				switch in.op {
				case "COPY":
					copies = append(copies, in.args)
				case "USER":
					users = append(users, in.args)
				case "EXPOSE":
					exposes = append(exposes, strings.Fields(in.args)...)
				case "ENTRYPOINT":
					entry = append(entry, in.args)
				case "RUN", "ADD":
					t.Errorf("final stage has %s %q; it must hold only the binary", in.op, in.args)
				}
			}
			bin := "/" + im.name
			if want := []string{"--from=build " + b.out + " " + bin}; !slices.Equal(copies, want) {
				t.Errorf("final stage COPY = %q, want %q (the binary only)", copies, want)
			}
			if want := []string{"65532:65532"}; !slices.Equal(users, want) {
				t.Errorf("final stage USER = %q, want %q (numeric, so runAsNonRoot can verify it)", users, want)
			}
			if !slices.Equal(exposes, im.ports) {
				t.Errorf("EXPOSE = %q, want %q", exposes, im.ports)
			}
			if want := []string{`["` + bin + `"]`}; !slices.Equal(entry, want) {
				t.Errorf("ENTRYPOINT = %q, want %q", entry, want)
			}
		})
	}
}

// buildAsDockerfile runs the Dockerfile's go build line, with its
// environment and flags and with VERSION (its ARG) set to version, into
// dir and returns the binary's path.
func buildAsDockerfile(t *testing.T, root, name, dir, version string) string {
	t.Helper()
	b := findGoBuild(t, parseDockerfile(t, filepath.Join(root, "Dockerfile."+name)))
	out := filepath.Join(dir, name)
	args := []string{"build"}
	for _, f := range b.flags {
		args = append(args, os.Expand(f, func(k string) string {
			if k != "VERSION" {
				t.Fatalf("go build flag %q uses $%s; only $VERSION (an ARG) is set", f, k)
			}
			return version
		}))
	}
	args = append(args, "-o", out, b.pkg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), b.env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s go %s: %v\n%s", strings.Join(b.env, " "), strings.Join(args, " "), err, msg)
	}
	return out
}

// checkStatic fails unless path is an ELF executable with no interpreter,
// no shared libraries and no symbol or DWARF tables.
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("open %s as ELF: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it needs a dynamic loader", filepath.Base(path))
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatalf("read DT_NEEDED of %s: %v", path, err)
	}
	if len(libs) > 0 {
		t.Errorf("%s needs shared libraries %q, want none", filepath.Base(path), libs)
	}
	for _, sec := range []string{".symtab", ".debug_info"} {
		if f.Section(sec) != nil {
			t.Errorf("%s has a %s section; -ldflags='-s -w' should strip it", filepath.Base(path), sec)
		}
	}
}

// runHelp runs path -h and returns its combined output; it must exit 0.
func runHelp(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -h: %v\n%s", filepath.Base(path), err, out)
	}
	return string(out)
}

func TestImageStaticBinaries(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("the images are linux/ELF; this host is %s", runtime.GOOS)
	}
	root := repoRoot(t)
	dir := t.TempDir()
	// Flags each binary's -h output must list: the ones the manifests use.
	wantFlags := map[string][]string{
		"orchestrator": {"-auth-token-file", "-grpc-port", "-listen-port", "-target-mode", "-scenario"},
		"executor":     {"-auth-token-file", "-orchestrator", "-metrics-port"},
		"sumservice":   {"-listen"},
	}
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			t.Parallel()
			path := buildAsDockerfile(t, root, im.name, dir, stampedVersion)
			checkStatic(t, path)
			if got := versionLine(t, path, "-version"); got != stampedVersion {
				t.Errorf("%s -version = %q, want %q (the image's VERSION)", im.name, got, stampedVersion)
			}
			help := runHelp(t, path)
			for _, f := range wantFlags[im.name] {
				if !strings.Contains(help, f+" ") {
					t.Errorf("%s -h does not list %s:\n%s", im.name, f, help)
				}
			}
			if im.name == "sumservice" {
				serveSumservice(t, path)
			}
		})
	}
}

// serveSumservice starts the static sumservice on a free loopback port and
// checks it answers /healthz and /sum.
func serveSumservice(t *testing.T, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	port := proc.FreePort(t)
	cmd := exec.CommandContext(ctx, path, "-listen=127.0.0.1:"+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	proc.WaitHTTP(t, base+"/healthz", 20*time.Second)
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "ok\n"},
		{"/sum?a=7&b=9", "16\n"},
	} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: read body: %v", tc.path, err)
		}
		if resp.StatusCode != http.StatusOK || string(body) != tc.want {
			t.Errorf("GET %s = %d %q, want 200 %q", tc.path, resp.StatusCode, body, tc.want)
		}
	}
}
