package cluster

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// Kubectl runs the built kubectl against the cluster as the admin user and
// returns its standard output. A failed command's error holds its
// standard error, so tests can assert on messages such as "forbidden".
func (c *Cluster) Kubectl(args ...string) (string, error) {
	return c.KubectlInput("", args...)
}

// KubectlInput is Kubectl with stdin as the command's standard input, for
// `kubectl apply -f -` and the like.
func (c *Cluster) KubectlInput(stdin string, args ...string) (string, error) {
	return c.kubectl(c.Kubeconfig, stdin, args)
}

// KubectlAs runs kubectl with a kubeconfig from ImpersonatingKubeconfig or
// ServiceAccountKubeconfig.
func (c *Cluster) KubectlAs(kubeconfig string, args ...string) (string, error) {
	return c.kubectl(kubeconfig, "", args)
}

// kubectl runs the built kubectl with kubeconfig, a private discovery
// cache and a two-minute limit.
func (c *Cluster) kubectl(kubeconfig, stdin string, args []string) (string, error) {
	ctx, cancel := runContext()
	defer cancel()
	full := append([]string{"--kubeconfig=" + kubeconfig, "--cache-dir=" + filepath.Join(c.Dir, "kubectl-cache")}, args...)
	cmd := exec.CommandContext(ctx, c.Bin.Kubectl, full...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// ImpersonatingConfig returns a client configuration that authenticates as
// the admin and acts as user with groups (the apiserver adds
// system:authenticated), so RBAC decides as it would for that user.
func (c *Cluster) ImpersonatingConfig(user string, groups ...string) *rest.Config {
	cfg := rest.CopyConfig(c.RESTConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// ServiceAccountConfig returns a client configuration that acts as the
// service account namespace/name with its standard groups. The service
// account object need not exist: RBAC sees only the name and groups.
func (c *Cluster) ServiceAccountConfig(namespace, name string) *rest.Config {
	user, groups := ServiceAccountUser(namespace, name)
	return c.ImpersonatingConfig(user, groups...)
}

// ImpersonatingKubeconfig writes a kubeconfig that acts as user with
// groups (the kubeconfig "as" fields) and returns its path, for running a
// binary out of cluster with exactly that user's permissions.
func (c *Cluster) ImpersonatingKubeconfig(t testing.TB, user string, groups ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := c.writeKubeconfig(path, user, groups); err != nil {
		t.Fatalf("impersonating kubeconfig: %v", err)
	}
	return path
}

// ServiceAccountKubeconfig is ImpersonatingKubeconfig for the service
// account namespace/name.
func (c *Cluster) ServiceAccountKubeconfig(t testing.TB, namespace, name string) string {
	t.Helper()
	user, groups := ServiceAccountUser(namespace, name)
	return c.ImpersonatingKubeconfig(t, user, groups...)
}

// ServiceAccountUser returns the user name and groups Kubernetes gives the
// service account namespace/name.
func ServiceAccountUser(namespace, name string) (user string, groups []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace}
}
