package e2e

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
	"github.com/PeladoCollado/imager/orchestrator/app"
)

// Checks of the containers' command lines in deploy/: every arg a flag the
// binary lists, and the control-plane TLS flags backed by Secret mounts.

// binaryHelp is the -h output of each binary a manifest runs, by name.
func binaryHelp(t *testing.T) map[string]string {
	t.Helper()
	help := map[string]string{}
	for _, name := range []string{"orchestrator", "executor", "sumservice"} {
		help[name] = runHelp(t, bin[name])
	}
	return help
}

// checkContainerArgs wants every arg of c to be a flag its binary's -h
// lists, the orchestrator's args to pass its own parser and the executor
// to dial the orchestrator's Service.
func checkContainerArgs(t *testing.T, where string, c corev1.Container, help map[string]string) {
	t.Helper()
	binary := map[string]string{"orchestrator": "orchestrator", "executor": "executor", "sumservice": "sumservice"}[c.Name]
	if binary == "" {
		t.Errorf("%s: container %q: want one named orchestrator, executor or sumservice", where, c.Name)
		return
	}
	for _, a := range c.Args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !helpFlag(name).MatchString(help[binary]) {
			t.Errorf("%s: %s arg %q is not a flag `%s -h` lists", where, binary, a, binary)
		}
	}
	if binary == "orchestrator" && len(c.Args) > 0 {
		if _, err := app.ParseConfig(c.Args); err != nil {
			t.Errorf("%s: orchestrator rejects its args: %v", where, err)
		}
	}
	if binary == "executor" {
		for _, want := range []string{"-orchestrator=imager-orchestrator:8100", "-metrics-port=9100"} {
			if !slices.Contains(c.Args, want) {
				t.Errorf("%s: executor args %q lack %s", where, c.Args, want)
			}
		}
	}
}

// tlsSecret is the Secret of the orchestrator's control-plane certificate
// (tls.crt, tls.key) and the CA (ca.crt); clientTLSSecret the executors'
// client certificate.
const (
	tlsSecret       = "imager-control-tls"
	clientTLSSecret = "imager-executor-tls"
)

// tlsFlags are the control-plane TLS flags of each binary, each naming a
// file from a Secret.
var tlsFlags = map[string][]string{
	"orchestrator": {"-tls-cert", "-tls-key", "-tls-client-ca"},
	"executor":     {"-tls-ca", "-tls-cert", "-tls-key"},
}

// checkControlTLS checks the control-plane TLS flags of container c (an
// orchestrator or an executor) in spec and reports whether TLS is on: each
// file comes from a read-only mount of a required Secret that holds its
// key, certificate and key go together, and an executor never mounts the
// orchestrator's key.
func checkControlTLS(t *testing.T, where string, spec corev1.PodSpec, c corev1.Container) bool {
	t.Helper()
	set := map[string]string{}
	for _, f := range tlsFlags[c.Name] {
		if v := flagValue(c.Args, f); v != "" {
			set[f] = v
			checkSecretFile(t, where, spec, c, f, v)
		}
	}
	if (set["-tls-cert"] == "") != (set["-tls-key"] == "") {
		t.Errorf("%s: %s args %q: -tls-cert and -tls-key go together", where, c.Name, c.Args)
	}
	if c.Name == "executor" {
		for _, v := range spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == tlsSecret &&
				(len(v.Secret.Items) == 0 || slices.ContainsFunc(v.Secret.Items, func(k corev1.KeyToPath) bool { return k.Key != "ca.crt" })) {
				t.Errorf("%s: executor volume %s mounts more of Secret %s than ca.crt: %+v", where, v.Name, tlsSecret, v.Secret.Items)
			}
		}
		if set["-tls-cert"] != "" && set["-tls-ca"] == "" {
			t.Errorf("%s: executor presents a client certificate without -tls-ca", where)
		}
	}
	if c.Name == "orchestrator" && set["-tls-client-ca"] != "" && set["-tls-cert"] == "" {
		t.Errorf("%s: orchestrator asks for client certificates without serving TLS", where)
	}
	return len(set) > 0
}

// checkSecretFile wants file (the value of flag) inside a read-only mount
// of c without subPath, backed by a required Secret volume that holds it.
func checkSecretFile(t *testing.T, where string, spec corev1.PodSpec, c corev1.Container, flag, file string) {
	t.Helper()
	dir, base := path.Split(file)
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == path.Clean(dir) })
	if i < 0 {
		t.Errorf("%s: %s %s=%s is not inside a volume mount", where, c.Name, flag, file)
		return
	}
	m := c.VolumeMounts[i]
	j := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
	if !m.ReadOnly || m.SubPath != "" || j < 0 || spec.Volumes[j].Secret == nil {
		t.Errorf("%s: %s %s=%s: mount %+v must be read-only, without subPath, of a Secret volume", where, c.Name, flag, file, m)
		return
	}
	s := spec.Volumes[j].Secret
	want := map[string]string{"-tls-cert": "tls.crt", "-tls-key": "tls.key", "-tls-ca": "ca.crt", "-tls-client-ca": "ca.crt"}[flag]
	items := s.Items
	if len(items) == 0 {
		items = []corev1.KeyToPath{{Key: base, Path: base}}
	}
	if !slices.Contains(items, corev1.KeyToPath{Key: want, Path: base}) {
		t.Errorf("%s: %s %s=%s: Secret %s items %+v do not put key %s there", where, c.Name, flag, file, s.SecretName, s.Items, want)
	}
	if s.Optional == nil || *s.Optional {
		t.Errorf("%s: Secret %s must be optional: false (no silent start without TLS)", where, s.SecretName)
	}
	secret := tlsSecret
	if c.Name == "executor" && flag != "-tls-ca" {
		secret = clientTLSSecret
	}
	if s.SecretName != secret {
		t.Errorf("%s: %s %s reads Secret %s, want %s", where, c.Name, flag, s.SecretName, secret)
	}
}

// checkImagerArgs runs checkContainerArgs and checkControlTLS on the
// orchestrator and executor containers of spec, and wants control-plane
// TLS on exactly when tls is true.
func checkImagerArgs(t *testing.T, where string, spec corev1.PodSpec, help map[string]string, tls bool) {
	t.Helper()
	for _, c := range spec.Containers {
		checkContainerArgs(t, where, c, help)
		if c.Name != "orchestrator" && c.Name != "executor" {
			continue
		}
		if on := checkControlTLS(t, where, spec, c); on != tls {
			t.Errorf("%s: %s control-plane TLS flags %v, want %v: args %q", where, c.Name, on, tls, c.Args)
		}
	}
}

// TestManifestTLSComponents renders deploy/run and deploy/demo with the
// control-tls and control-mtls components, as the components' comments
// tell users to: the orchestrator asks for client certificates, executors
// present theirs, and every flag is one the binaries list.
func TestManifestTLSComponents(t *testing.T) {
	kubectl := cluster.Binaries(t).Kubectl
	root := repoRoot(t)
	help := binaryHelp(t)
	for _, base := range []string{"deploy/run", "deploy/demo"} {
		t.Run(filepath.Base(base), func(t *testing.T) {
			dir := t.TempDir()
			rel := func(p string) string {
				r, err := filepath.Rel(dir, filepath.Join(root, p))
				if err != nil {
					t.Fatal(err)
				}
				return filepath.ToSlash(r)
			}
			k := fmt.Sprintf("resources: [%s]\ncomponents: [%s, %s]\n", rel(base), rel("deploy/components/control-tls"), rel("deploy/components/control-mtls"))
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, o := range kustomizeBuild(t, kubectl, dir) {
				tmpl, ok := podTemplate(o.obj)
				if !ok || (o.name != "imager-orchestrator" && o.name != "imager-executor") {
					continue
				}
				seen[o.name] = true
				checkImagerArgs(t, o.where, tmpl.Spec, help, true)
				checkVolumesUsed(t, o.where, o.name, tmpl.Spec)
				args := tmpl.Spec.Containers[0].Args
				want := map[string][]string{"imager-orchestrator": {"-tls-cert", "-tls-key", "-tls-client-ca"}, "imager-executor": {"-tls-ca", "-tls-cert", "-tls-key"}}[o.name]
				for _, f := range want {
					if flagValue(args, f) == "" {
						t.Errorf("%s: %s args %q lack %s", o.where, o.name, args, f)
					}
				}
			}
			if !seen["imager-orchestrator"] || !seen["imager-executor"] {
				t.Errorf("rendered workloads %v, want the orchestrator and the executors", seen)
			}
		})
	}
}
