package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
	"github.com/PeladoCollado/imager/orchestrator/app"
)

// kustomizeBuild renders a kustomize tree with `kubectl kustomize`.
func kustomizeBuild(t *testing.T, kubectl, dir string) []object {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "kustomize", dir)
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
	}
	objs, err := decodeObjects("kustomize "+filepath.Base(dir), out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// builtinStack is what deploy/k8s renders to.
var builtinStack = []string{
	"Namespace//imager",
	"ServiceAccount/imager/imager-orchestrator",
	"ServiceAccount/imager/imager-executor",
	"Role/imager/imager-orchestrator-target",
	"RoleBinding/imager/imager-orchestrator-target",
	"ConfigMap/imager/imager-request-source",
	"Service/imager/imager-orchestrator",
	"Service/imager/imager-executor-metrics",
	"Service/imager/imager-test-service",
	"Deployment/imager/imager-orchestrator",
	"Deployment/imager/imager-executor",
	"Deployment/imager/imager-test-service",
	"NetworkPolicy/imager/imager-orchestrator",
	"NetworkPolicy/imager/imager-executor",
}

// runStack is what deploy/run renders to: deploy/k8s with the Jobs in
// place of imager's own Deployments.
var runStack = append(slices.DeleteFunc(slices.Clone(builtinStack), func(id string) bool {
	return id == "Deployment/imager/imager-orchestrator" || id == "Deployment/imager/imager-executor"
}), "Job/imager/imager-orchestrator", "Job/imager/imager-executor")

func TestManifestKustomizeBuild(t *testing.T) {
	// The kubectl the Kubernetes tests build (test/k8s/tools), not one from
	// PATH: a fresh CI machine has none. Binaries skips with the reason
	// only outside CI, and fails under CI=true.
	kubectl := cluster.Binaries(t).Kubectl
	root := repoRoot(t)
	scenario, err := os.ReadFile(filepath.Join(root, "deploy/scenario/scenario.lua"))
	if err != nil {
		t.Fatal(err)
	}
	trees := []struct {
		dir  string
		want []string
		// target is the orchestrator's -target-namespace/-target-deployment.
		target [2]string
		// mounts are the orchestrator's mount paths.
		mounts []string
	}{
		{"deploy/k8s", builtinStack, [2]string{"imager", "imager-test-service"}, []string{"/config", "/var/run/secrets/imager"}},
		{"deploy/demo", []string{
			"Namespace//imager",
			"Namespace//imagerdemo",
			"ServiceAccount/imager/imager-orchestrator",
			"ServiceAccount/imager/imager-executor",
			"Role/imagerdemo/imager-orchestrator-target",
			"RoleBinding/imagerdemo/imager-orchestrator-target",
			"Service/imager/imager-orchestrator",
			"Service/imager/imager-executor-metrics",
			"Service/imagerdemo/sumservice",
			"Deployment/imager/imager-orchestrator",
			"Deployment/imager/imager-executor",
			"Deployment/imagerdemo/sumservice",
			"NetworkPolicy/imager/imager-orchestrator",
			"NetworkPolicy/imager/imager-executor",
		}, [2]string{"imagerdemo", "sumservice"}, []string{"/var/run/secrets/imager"}},
		{"deploy/scenario", append(slices.Clone(builtinStack), "ConfigMap/imager/imager-scenario"),
			[2]string{"imager", "imager-test-service"}, []string{"/scenario", "/var/run/secrets/imager"}},
		{"deploy/run", runStack, [2]string{"imager", "imager-test-service"}, []string{"/config", "/var/run/secrets/imager", "/results"}},
		{"deploy/tls", builtinStack, [2]string{"imager", "imager-test-service"}, []string{"/config", "/var/run/secrets/imager", "/var/run/secrets/imager-tls"}},
	}
	help := binaryHelp(t)
	for _, tree := range trees {
		t.Run(filepath.Base(tree.dir), func(t *testing.T) {
			objs := kustomizeBuild(t, kubectl, filepath.Join(root, tree.dir))
			var got []string
			byID := map[string]object{}
			for _, o := range objs {
				got = append(got, o.id())
				byID[o.id()] = o
			}
			sort.Strings(got)
			want := slices.Sorted(slices.Values(tree.want))
			if !slices.Equal(got, want) {
				t.Fatalf("objects =\n%q\nwant\n%q", got, want)
			}
			for _, o := range objs {
				switch obj := o.obj.(type) {
				case *appsv1.Deployment:
					checkDeployment(t, o.where, obj)
					checkVolumesUsed(t, o.where, obj.Name, obj.Spec.Template.Spec)
					checkImagerArgs(t, o.where, obj.Spec.Template.Spec, help, tree.dir == "deploy/tls")
				case *batchv1.Job:
					checkJob(t, o.where, obj)
					checkVolumesUsed(t, o.where, obj.Name, obj.Spec.Template.Spec)
					checkImagerArgs(t, o.where, obj.Spec.Template.Spec, help, tree.dir == "deploy/tls")
				case *rbacv1.Role:
					checkRole(t, o.where, obj)
				}
			}

			// The orchestrator is a Deployment, or a Job in deploy/run.
			orch, ok := podTemplate(byID["Deployment/imager/imager-orchestrator"].obj)
			if !ok {
				orch, ok = podTemplate(byID["Job/imager/imager-orchestrator"].obj)
			}
			if !ok {
				t.Fatal("no orchestrator Deployment or Job")
			}
			c := orch.Spec.Containers[0]
			if _, err := app.ParseConfig(c.Args); err != nil {
				t.Errorf("orchestrator rejects its args %q: %v", c.Args, err)
			}
			ns, name := flagValue(c.Args, "-target-namespace"), flagValue(c.Args, "-target-deployment")
			if got := [2]string{ns, name}; got != tree.target {
				t.Errorf("orchestrator targets %v, want %v", got, tree.target)
			}
			// The target exists, has the named port, and the orchestrator
			// may read its namespace.
			target, ok := byID["Deployment/"+ns+"/"+name].obj.(*appsv1.Deployment)
			if !ok {
				t.Fatalf("target Deployment %s/%s is not in the tree", ns, name)
			}
			port := flagValue(c.Args, "-target-port-name")
			if !slices.ContainsFunc(target.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool { return p.Name == port }) {
				t.Errorf("target %s/%s has no container port named %q", ns, name, port)
			}
			if _, ok := byID["RoleBinding/"+ns+"/imager-orchestrator-target"]; !ok {
				t.Errorf("no RoleBinding for the orchestrator in its target namespace %s", ns)
			}
			var mounts []string
			for _, m := range c.VolumeMounts {
				mounts = append(mounts, m.MountPath)
				if m.SubPath != "" {
					t.Errorf("orchestrator mount %s uses subPath; ConfigMap and Secret updates would never reach it", m.MountPath)
				}
			}
			if !reflect.DeepEqual(mounts, tree.mounts) {
				t.Errorf("orchestrator mounts %q, want %q", mounts, tree.mounts)
			}
			if cm, ok := byID["ConfigMap/imager/imager-scenario"].obj.(*corev1.ConfigMap); ok {
				if cm.Data["scenario.lua"] != string(scenario) {
					t.Errorf("ConfigMap imager-scenario's scenario.lua differs from deploy/scenario/scenario.lua")
				}
				if flagValue(c.Args, "-scenario") != "/scenario/scenario.lua" {
					t.Errorf("orchestrator args %q: want -scenario=/scenario/scenario.lua", c.Args)
				}
			}
		})
	}
}

// checkVolumesUsed wants every volume mounted and every mount backed by a
// volume, so a patch that drops one half leaves no dangling other half.
func checkVolumesUsed(t *testing.T, where, name string, spec corev1.PodSpec) {
	t.Helper()
	mounted := map[string]bool{}
	for _, c := range spec.Containers {
		for _, m := range c.VolumeMounts {
			mounted[m.Name] = true
			if !slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name }) {
				t.Errorf("%s: %s mounts volume %q, which the pod does not define", where, name, m.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if !mounted[v.Name] {
			t.Errorf("%s: %s defines volume %q but mounts it nowhere", where, name, v.Name)
		}
	}
}
