package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bench holds what the runs share.
type bench struct {
	cfg config
	// dir is the temporary directory everything is written to.
	dir string
	// url is the target's base URL.
	url string
	// wrk, nginx, imager and vegeta are the binaries; vegeta is empty when
	// skipped, with vegetaNote saying why.
	wrk, nginx, imager, vegeta string
	vegetaNote                 string
	log                        io.Writer
}

// debianPackages are what bench-peers installs when wrk or nginx is
// missing.
var debianPackages = []string{"wrk", "nginx-light"}

// prepare finds or installs wrk and nginx, builds imager and installs
// vegeta.
func (b *bench) prepare(ctx context.Context) error {
	if err := b.findTools(ctx); err != nil {
		return err
	}
	if b.imager = b.cfg.Imager; b.imager == "" {
		b.imager = filepath.Join(b.dir, "imager")
		fmt.Fprintln(b.log, "building ./cmd/imager")
		if err := b.command(ctx, 10*time.Minute, b.cfg.Go, "build", "-o", b.imager, "./cmd/imager"); err != nil {
			return fmt.Errorf("build imager (run from the repository root): %w", err)
		}
	}
	b.installVegeta(ctx)
	return nil
}

// findTools looks wrk and nginx up, installing them with apt-get when
// either is missing: directly as root, else through sudo when it needs no
// password; otherwise it fails, printing the command to run.
func (b *bench) findTools(ctx context.Context) error {
	find := func() bool {
		b.wrk, _ = exec.LookPath("wrk")
		b.nginx, _ = exec.LookPath("nginx")
		if b.nginx == "" {
			if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
				b.nginx = "/usr/sbin/nginx"
			}
		}
		return b.wrk != "" && b.nginx != ""
	}
	if find() {
		return nil
	}
	install := "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + strings.Join(debianPackages, " ")
	var argv []string
	switch {
	case os.Geteuid() == 0:
		argv = []string{"sh", "-c", install}
	case exec.Command("sudo", "-n", "true").Run() == nil:
		argv = []string{"sudo", "-n", "sh", "-c", install}
	default:
		return fmt.Errorf("wrk or nginx is missing and this user cannot install packages; run as root:\n  %s", install)
	}
	fmt.Fprintf(b.log, "installing %s from Debian\n", strings.Join(debianPackages, " "))
	if err := b.command(ctx, 10*time.Minute, argv...); err != nil {
		return fmt.Errorf("install %s (%s): %w", strings.Join(debianPackages, " "), install, err)
	}
	if !find() {
		return fmt.Errorf("wrk or nginx still missing after installing %s", strings.Join(debianPackages, " "))
	}
	return nil
}

// installVegeta installs vegeta from the Go module proxy into the
// temporary directory; a failure only skips vegeta, with a note.
func (b *bench) installVegeta(ctx context.Context) {
	if b.cfg.Vegeta == "off" {
		b.vegetaNote = "skipped: BENCH_PEERS_VEGETA=off"
		return
	}
	gobin := filepath.Join(b.dir, "gobin")
	module := "github.com/tsenart/vegeta/v12@" + b.cfg.Vegeta
	fmt.Fprintf(b.log, "installing %s\n", module)
	c := exec.CommandContext(ctx, b.cfg.Go, "install", module)
	c.Dir = b.dir
	c.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	if err := runBounded(c, 5*time.Minute); err != nil {
		b.vegetaNote = "skipped: go install " + module + " failed"
		fmt.Fprintf(b.log, "vegeta %s: %v\n", b.vegetaNote, err)
		return
	}
	b.vegeta = filepath.Join(gobin, "vegeta")
}

// command runs argv from the current directory, its output going to the
// progress log, within limit.
func (b *bench) command(ctx context.Context, limit time.Duration, argv ...string) error {
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Stdout, c.Stderr = b.log, b.log
	return runBounded(c, limit)
}

// runBounded runs c, killing it after limit.
func runBounded(c *exec.Cmd, limit time.Duration) error {
	timer := time.AfterFunc(limit, func() {
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	})
	defer timer.Stop()
	c.WaitDelay = 10 * time.Second
	if c.Stdout == nil {
		out := &strings.Builder{}
		c.Stdout, c.Stderr = out, out
		err := c.Run()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", c.Path, err, tail(out.String(), 800))
		}
		return nil
	}
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w", c.Path, err)
	}
	return nil
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// nginxConf is the target's configuration: one process serving a 3-byte
// body on a loopback port, writing only into its prefix directory.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 65536;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log error;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:%[2]d;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
`

// targetProcess is a running target: nginx or the stalling target.
type targetProcess struct {
	cmd  *exec.Cmd
	done chan error
	url  string
	once sync.Once
}

// startNginx starts nginx pinned to cpu on a free loopback port from a
// configuration in a subdirectory of dir and waits until it answers.
func startNginx(ctx context.Context, nginx, dir string, cpu int) (*targetProcess, error) {
	prefix := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, fmt.Errorf("nginx directory: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, prefix, port), 0o644); err != nil {
		return nil, fmt.Errorf("nginx configuration: %w", err)
	}
	c := exec.Command("taskset", "-c", fmt.Sprint(cpu), nginx, "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "error.log"))
	return startTarget(ctx, "nginx", c, port, filepath.Join(prefix, "error.log"))
}

// startTarget starts c, a target process that will serve on the loopback
// port, and waits until it answers; on failure the error shows its output
// and the content of logFile, if any.
func startTarget(ctx context.Context, name string, c *exec.Cmd, port int, logFile string) (*targetProcess, error) {
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &strings.Builder{}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	t := &targetProcess{cmd: c, done: make(chan error, 1), url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	go func() { t.done <- c.Wait() }()
	if err := t.waitReady(ctx, 10*time.Second); err != nil {
		t.stop()
		var logged []byte
		if logFile != "" {
			logged, _ = os.ReadFile(logFile)
		}
		return nil, fmt.Errorf("%s at %s: %w; output: %s%s", name, t.url, err, out.String(), logged)
	}
	return t, nil
}

// waitReady polls the target until it answers 200, it exits or timeout
// passes.
func (t *targetProcess) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-t.done:
			t.done <- err
			return fmt.Errorf("exited: %v", err)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url+"/", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not ready within %s: %w", timeout, errors.Join(err, ctx.Err()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the target: SIGTERM, then SIGKILL after five seconds. Calls
// after the first do nothing.
func (t *targetProcess) stop() {
	t.once.Do(func() {
		_ = t.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-t.done:
		case <-time.After(5 * time.Second):
			_ = t.cmd.Process.Kill()
			<-t.done
		}
	})
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
