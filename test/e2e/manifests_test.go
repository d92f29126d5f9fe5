package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/PeladoCollado/imager/internal/requests"
)

// These tests read deploy/ without a cluster: structure, pod hardening,
// RBAC, and that every flag in a manifest is one the binary accepts. The
// kustomize trees are built with kubectl when it is installed; applying
// them to a real API server is the job of the API-server tests.

func TestManifestStructure(t *testing.T) {
	tree := loadDeploy(t)
	if len(tree.objects) == 0 {
		t.Fatal("no manifests under deploy/")
	}
	for _, o := range tree.objects {
		if o.kind != "Namespace" && o.namespace == "" {
			t.Errorf("%s: %s names no namespace; every object must, so `kubectl apply -f` works file by file", o.where, o.id())
		}
	}
	for dir, k := range tree.kusts {
		want := [2]string{"kustomize.config.k8s.io/v1beta1", "Kustomization"}
		if filepath.Dir(dir) == filepath.Join("deploy", "components") {
			want = [2]string{"kustomize.config.k8s.io/v1alpha1", "Component"}
		}
		if [2]string{k.APIVersion, k.Kind} != want {
			t.Errorf("%s/kustomization.yaml: %s %s, want %s %s", dir, k.APIVersion, k.Kind, want[0], want[1])
		}
		var files []string
		files = append(files, k.Resources...)
		files = append(files, k.Components...)
		for _, p := range k.Patches {
			if p.Path != "" {
				files = append(files, p.Path)
			}
		}
		for _, g := range k.ConfigMapGenerator {
			for _, f := range g.Files {
				_, src, ok := strings.Cut(f, "=")
				if !ok {
					src = f
				}
				files = append(files, src)
			}
		}
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(tree.root, dir, f)); err != nil {
				t.Errorf("%s/kustomization.yaml refers to %s: %v", dir, f, err)
			}
		}
	}
}

func TestManifestPodSecurity(t *testing.T) {
	tree := loadDeploy(t)
	seen := map[string]int{}
	for _, o := range tree.objects {
		switch obj := o.obj.(type) {
		case *appsv1.Deployment:
			checkDeployment(t, o.where, obj)
			seen[o.id()]++
		case *batchv1.Job:
			checkJob(t, o.where, obj)
			seen[o.id()]++
		}
	}
	want := map[string]int{
		"Deployment/imager/imager-orchestrator": 3, // pod, service and url mode
		"Deployment/imager/imager-executor":     1,
		"Deployment/imager/imager-test-service": 1,
		"Deployment/imagerdemo/sumservice":      1,
		"Job/imager/imager-orchestrator":        1, // deploy/run
		"Job/imager/imager-executor":            1,
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("checked Deployments %v, want %v", seen, want)
	}
}

func TestManifestRBAC(t *testing.T) {
	tree := loadDeploy(t)
	roles := 0
	for _, o := range tree.objects {
		switch obj := o.obj.(type) {
		case *rbacv1.Role:
			roles++
			checkRole(t, o.where, obj)
		case *rbacv1.RoleBinding:
			want := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "imager-orchestrator-target"}
			if obj.RoleRef != want {
				t.Errorf("%s: roleRef = %+v, want %+v", o.where, obj.RoleRef, want)
			}
			wantSub := []rbacv1.Subject{{Kind: "ServiceAccount", Name: "imager-orchestrator", Namespace: "imager"}}
			if !reflect.DeepEqual(obj.Subjects, wantSub) {
				t.Errorf("%s: subjects = %+v, want %+v", o.where, obj.Subjects, wantSub)
			}
		case *corev1.ServiceAccount:
			if obj.Name == "imager-executor" && (obj.AutomountServiceAccountToken == nil || *obj.AutomountServiceAccountToken) {
				t.Errorf("%s: ServiceAccount imager-executor must set automountServiceAccountToken: false", o.where)
			}
		case *appsv1.Deployment, *batchv1.Job:
			tmpl, _ := podTemplate(obj)
			sa := tmpl.Spec.ServiceAccountName
			switch {
			case o.name == "imager-executor" && sa != "imager-executor":
				t.Errorf("%s: executor runs as ServiceAccount %q, want imager-executor", o.where, sa)
			case o.name == "imager-orchestrator" && sa != "imager-orchestrator":
				t.Errorf("%s: orchestrator runs as ServiceAccount %q, want imager-orchestrator", o.where, sa)
			}
		}
	}
	if roles != 2 { // deploy/k8s (target namespace imager) and deploy/demo (imagerdemo)
		t.Errorf("found %d Roles, want 2", roles)
	}
}

func TestManifestOrchestratorModes(t *testing.T) {
	tree := loadDeploy(t)
	modes := []struct {
		file   string
		target []string
	}{
		{"deploy/k8s/orchestrator-pod-mode.yaml", []string{"-target-mode=pod", "-target-namespace=imager", "-target-deployment=imager-test-service", "-target-port-name=http"}},
		{"deploy/k8s/orchestrator-service-mode.yaml", []string{"-target-mode=service", "-target-namespace=imager", "-target-service=imager-test-service", "-target-port-name=http"}},
		{"deploy/k8s/orchestrator-url-mode.yaml", []string{"-target-mode=url", "-target-url=http://imager-test-service.imager.svc:8080"}},
	}
	// normalized drops what may differ between modes: the target flags and,
	// in url mode, the unmounted API token.
	normalized := func(d *appsv1.Deployment) []byte {
		d = d.DeepCopy()
		spec := &d.Spec.Template.Spec
		spec.AutomountServiceAccountToken = nil
		for i := range spec.Containers {
			c := &spec.Containers[i]
			c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "-target-") })
		}
		b, err := json.MarshalIndent(d, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	base := tree.deployment(t, modes[0].file)
	for _, m := range modes {
		dep := tree.deployment(t, m.file)
		args := dep.Spec.Template.Spec.Containers[0].Args
		var target []string
		for _, a := range args {
			if strings.HasPrefix(a, "-target-") {
				target = append(target, a)
			}
		}
		if !slices.Equal(target, m.target) {
			t.Errorf("%s: target flags = %q, want %q", m.file, target, m.target)
		}
		if got, want := string(normalized(dep)), string(normalized(base)); got != want {
			t.Errorf("%s differs from %s beyond the target flags:\n%s\nwant\n%s", m.file, modes[0].file, got, want)
		}
		mount := dep.Spec.Template.Spec.AutomountServiceAccountToken
		if url := strings.Contains(m.file, "url-mode"); url != (mount != nil && !*mount) {
			t.Errorf("%s: automountServiceAccountToken = %v; want false exactly in url mode", m.file, deref(mount))
		}
	}
	// The default load profile and request source of deploy/k8s.
	for _, want := range []string{"-load-calculator=step", "-min-rps=5", "-max-rps=50", "-step-rps=5", "-request-source-type=file", "-request-source-file=/config/requests.json"} {
		if !slices.Contains(base.Spec.Template.Spec.Containers[0].Args, want) {
			t.Errorf("%s: args lack %s", modes[0].file, want)
		}
	}
	if base.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || base.Spec.Replicas == nil || *base.Spec.Replicas != 1 {
		t.Errorf("orchestrator: strategy %q replicas %v; want Recreate and 1 (never two orchestrators)", base.Spec.Strategy.Type, deref(base.Spec.Replicas))
	}
}

func TestManifestRequestFiles(t *testing.T) {
	tree := loadDeploy(t)
	dir := t.TempDir()
	files := map[string]string{}
	b, err := os.ReadFile(filepath.Join(tree.root, "deploy/examples/requests.json"))
	if err != nil {
		t.Fatal(err)
	}
	files["deploy/examples/requests.json"] = string(b)
	for _, o := range tree.objects {
		if cm, ok := o.obj.(*corev1.ConfigMap); ok && cm.Name == "imager-request-source" {
			data, ok := cm.Data["requests.json"]
			if !ok {
				t.Errorf("%s: ConfigMap imager-request-source has no requests.json key", o.where)
			}
			files[o.where] = data
		}
	}
	if len(files) != 2 {
		t.Fatalf("found %d request files, want deploy/examples/requests.json and the ConfigMap", len(files))
	}
	for where, data := range files {
		p := filepath.Join(dir, "requests.json")
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := requests.NewFileSource(p)
		if err != nil {
			t.Errorf("%s: the file request source rejects it: %v", where, err)
			continue
		}
		if got, want := src.Len(), strings.Count(strings.TrimSpace(data), "\n")+1; got != want {
			t.Errorf("%s: %d records, want %d (one per line)", where, got, want)
		}
	}
}

func TestManifestServices(t *testing.T) {
	tree := loadDeploy(t)
	wantPorts := map[string]map[string]int32{
		"imager-orchestrator":     {"http": 8099, "grpc": 8100},
		"imager-executor-metrics": {"metrics": 9100},
		"imager-test-service":     {"http": 8080},
		"sumservice":              {"http": 8080},
	}
	for _, o := range tree.objects {
		svc, ok := o.obj.(*corev1.Service)
		if !ok {
			continue
		}
		got := map[string]int32{}
		for _, p := range svc.Spec.Ports {
			got[p.Name] = p.Port
		}
		if want, ok := wantPorts[svc.Name]; !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Service %s ports = %v, want %v", o.where, svc.Name, got, want)
		}
		// The selector must pick a Deployment's pods in the same namespace,
		// and each targetPort must be a named port of its container.
		var dep *appsv1.Deployment
		for _, d := range tree.objects {
			if dd, ok := d.obj.(*appsv1.Deployment); ok && dd.Namespace == svc.Namespace && len(svc.Spec.Selector) > 0 &&
				labelsMatch(svc.Spec.Selector, dd.Spec.Template.Labels) {
				dep = dd
				break
			}
		}
		if dep == nil {
			t.Errorf("%s: Service %s selects no Deployment's pods", o.where, svc.Name)
			continue
		}
		for _, p := range svc.Spec.Ports {
			named := slices.ContainsFunc(dep.Spec.Template.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool {
				return cp.Name == p.TargetPort.String() && cp.ContainerPort == p.Port
			})
			if !named {
				t.Errorf("%s: Service %s port %s targets %q, not a container port named so with number %d", o.where, svc.Name, p.Name, p.TargetPort.String(), p.Port)
			}
		}
	}
}

// labelsMatch reports whether every selector label is in labels.
func labelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// helpFlag matches a flag line of Go's flag package usage output.
func helpFlag(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(name) + `(\s|$)`)
}

func TestManifestFlags(t *testing.T) {
	tree := loadDeploy(t)
	help := binaryHelp(t)
	var deps []object
	deps = append(deps, tree.objects...)
	// Patches are partial; decode them leniently ($patch keys) for their args.
	for rel, b := range tree.patches {
		docs, err := splitDocuments(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docs {
			var d appsv1.Deployment
			if err := k8syaml.Unmarshal(doc, &d); err != nil {
				t.Fatalf("%s#%d: %v", rel, i, err)
			}
			if d.Kind == "Deployment" {
				deps = append(deps, object{where: rel, kind: "Deployment", obj: &d})
			}
		}
	}
	checked := 0
	for _, o := range deps {
		tmpl, ok := podTemplate(o.obj)
		if !ok {
			continue
		}
		checked++
		for _, c := range tmpl.Spec.Containers {
			checkContainerArgs(t, o.where, c, help)
		}
	}
	// deploy/k8s (5 Deployments with the mode variants), deploy/demo (2),
	// deploy/scenario's patch (1) and deploy/run's two Jobs.
	if checked != 10 {
		t.Errorf("checked the args of %d Deployments and Jobs, want 10", checked)
	}
}

func TestManifestScenarioDryRun(t *testing.T) {
	tree := loadDeploy(t)
	var args []string
	for rel, b := range tree.patches {
		if filepath.Dir(rel) != filepath.Join("deploy", "scenario") {
			continue
		}
		var d appsv1.Deployment
		if err := k8syaml.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		args = d.Spec.Template.Spec.Containers[0].Args
	}
	if got, want := flagValue(args, "-scenario"), "/scenario/scenario.lua"; got != want {
		t.Fatalf("deploy/scenario orchestrator: -scenario=%q, want %q", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin["imager"], "dry-run",
		"-scenario="+filepath.Join(tree.root, "deploy/scenario/scenario.lua"),
		"-scenario-options="+flagValue(args, "-scenario-options"),
		"-request-source-type="+flagValue(args, "-request-source-type"),
		"-rounds=3", "-samples=5", "-format=json", "-seed=7")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("imager dry-run of deploy/scenario/scenario.lua: %v\n%s", err, out)
	}
	var plan struct {
		Requests []struct {
			Method  string   `json:"method"`
			URL     string   `json:"url"`
			Headers []string `json:"headers"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("dry-run -format=json: %v\n%s", err, out)
	}
	if len(plan.Requests) != 5 {
		t.Fatalf("dry-run printed %d requests, want 5:\n%s", len(plan.Requests), out)
	}
	for _, r := range plan.Requests {
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Fatalf("request URL %q: %v", r.URL, err)
		}
		q := u.Query()
		_, errA := strconv.Atoi(q.Get("a"))
		_, errB := strconv.Atoi(q.Get("b"))
		if r.Method != "GET" || u.Path != "/sum" || errA != nil || errB != nil {
			t.Errorf("request %s %s, want GET /sum?a=<int>&b=<int>", r.Method, r.URL)
		}
		if !slices.Contains(r.Headers, "X-Imager-Scenario: configmap-v1") {
			t.Errorf("request %s headers %q lack X-Imager-Scenario", r.URL, r.Headers)
		}
	}
}
