package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
	"github.com/PeladoCollado/imager/orchestrator/app"
)

// helmTimeout bounds one helm command.
const helmTimeout = 2 * time.Minute

// helmCase is one way of rendering deploy/helm/imager: a release in its
// own namespace with a values file of testdata/helm and --set flags.
type helmCase struct {
	name      string
	release   string
	namespace string
	values    string   // file in testdata/helm, or "" for the defaults
	set       []string // --set flags
	// What the render must hold.
	job        bool   // the Job form (else Deployment)
	mode       string // -target-mode
	targetNS   string // the namespace of the Role, "" for none
	executors  int
	scrape     bool
	fullname   string
	tokenName  string
	sourceType string // the ConfigMap volume mounted: "requests", "scenario" or ""
	tls        bool   // control-plane TLS with client certificates
}

// helmCases are the default values and one values file per target mode
// (and url mode in both forms).
var helmCases = []helmCase{
	{name: "defaults", release: "imager", namespace: "imager", job: true, mode: "pod", targetNS: "imager",
		executors: 3, scrape: true, fullname: "imager", tokenName: "imager-control-token", sourceType: "requests"},
	{name: "pod", release: "load", namespace: "helm-pod", values: "pod.yaml", job: true, mode: "pod", targetNS: "helm-target",
		executors: 2, scrape: true, fullname: "load-imager", tokenName: "my-token"},
	{name: "service", release: "svc", namespace: "helm-service", values: "service.yaml", job: true, mode: "service", targetNS: "helm-service",
		executors: 5, scrape: true, fullname: "svc-imager", tokenName: "svc-imager-control-token", sourceType: "scenario"},
	{name: "url-deployment", release: "web", namespace: "helm-url", values: "url.yaml", mode: "url",
		executors: 4, fullname: "web-imager", tokenName: "web-imager-control-token", sourceType: "requests"},
	{name: "url-job", release: "webjob", namespace: "helm-urljob", values: "url.yaml", set: []string{"form=job"}, job: true, mode: "url",
		executors: 4, fullname: "webjob-imager", tokenName: "webjob-imager-control-token", sourceType: "requests"},
	// TLS with client certificates, and the token Secret by its old value name.
	{name: "tls", release: "sec", namespace: "helm-tls", set: tlsSet, job: true, mode: "pod", targetNS: "helm-tls",
		executors: 3, scrape: true, fullname: "sec-imager", tokenName: "old-token", sourceType: "requests", tls: true},
}

// chartDir is deploy/helm/imager.
func chartDir(t *testing.T) string {
	return filepath.Join(repoRoot(t), "deploy", "helm", "imager")
}

// runHelm runs the cached helm with args, with a deadline, and returns its
// standard output; a failure fails the test with the output.
func runHelm(t *testing.T, helm string, args ...string) string {
	t.Helper()
	out, err := helmOutput(helm, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// helmOutput runs helm with args and an empty, private home, so no user
// configuration or repository cache leaks in.
func helmOutput(helm string, args ...string) (string, error) {
	return helmOutputWith(helm, os.DevNull, args...)
}

// helmOutputWith is helmOutput talking to the cluster of kubeconfig.
func helmOutputWith(helm, kubeconfig string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), helmTimeout)
	defer cancel()
	home, err := os.MkdirTemp("", "helm-home-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, helm, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"), "KUBECONFIG="+kubeconfig)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// valuesArgs are the -f and --set flags of c.
func (c helmCase) valuesArgs(t *testing.T) []string {
	var args []string
	if c.values != "" {
		args = append(args, "-f", filepath.Join("testdata", "helm", c.values))
	}
	for _, s := range c.set {
		args = append(args, "--set", s)
	}
	return args
}

// render runs helm template for c and returns the manifest.
func (c helmCase) render(t *testing.T, helm string, extra ...string) string {
	t.Helper()
	args := append([]string{"template", c.release, chartDir(t), "--namespace", c.namespace}, c.valuesArgs(t)...)
	return runHelm(t, helm, append(args, extra...)...)
}

// decodeObjects splits a rendered manifest into objects.
func decodeObjects(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decode rendered chart: %v\n%s", err, manifest)
		}
		if u.Object != nil {
			objs = append(objs, u)
		}
	}
}

// rendered is a render's orchestrator and executor workloads.
type rendered struct {
	kinds          []string // "Kind/name", sorted
	orch, exec     corev1.PodTemplateSpec
	orchJob        *batchv1.Job
	execJob        *batchv1.Job
	orchDep        *appsv1.Deployment
	execDep        *appsv1.Deployment
	configMapNames []string
}

// typed converts u into out.
func typed(t *testing.T, u *unstructured.Unstructured, out any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// parseRender finds c's workloads among objs.
func parseRender(t *testing.T, c helmCase, objs []*unstructured.Unstructured) rendered {
	t.Helper()
	var r rendered
	for _, u := range objs {
		r.kinds = append(r.kinds, u.GetKind()+"/"+u.GetName())
		if u.GetNamespace() != c.namespace && u.GetKind() != "Role" && u.GetKind() != "RoleBinding" {
			t.Errorf("%s %s is in namespace %q, want the release namespace %s", u.GetKind(), u.GetName(), u.GetNamespace(), c.namespace)
		}
		switch u.GetKind() + "/" + strings.TrimPrefix(u.GetName(), c.fullname+"-") {
		case "Job/orchestrator":
			r.orchJob = &batchv1.Job{}
			typed(t, u, r.orchJob)
			r.orch = r.orchJob.Spec.Template
		case "Job/executor":
			r.execJob = &batchv1.Job{}
			typed(t, u, r.execJob)
			r.exec = r.execJob.Spec.Template
		case "Deployment/orchestrator":
			r.orchDep = &appsv1.Deployment{}
			typed(t, u, r.orchDep)
			r.orch = r.orchDep.Spec.Template
		case "Deployment/executor":
			r.execDep = &appsv1.Deployment{}
			typed(t, u, r.execDep)
			r.exec = r.execDep.Spec.Template
		case "ConfigMap/requests", "ConfigMap/scenario":
			r.configMapNames = append(r.configMapNames, u.GetName())
		}
	}
	slices.Sort(r.kinds)
	if len(r.orch.Spec.Containers) != 1 || len(r.exec.Spec.Containers) != 1 {
		t.Fatalf("render %s: %q; want an orchestrator and an executor workload, one container each", c.name, r.kinds)
	}
	return r
}

// builtinKinds are the kinds the chart may render without an opt-in.
var builtinKinds = []string{"ConfigMap", "Deployment", "Job", "NetworkPolicy", "Role", "RoleBinding", "Secret", "Service", "ServiceAccount"}

// TestHelmLint runs helm lint --strict on the chart with its defaults and
// with each values file: no error and no warning.
func TestHelmLint(t *testing.T) {
	helm := cluster.Helm(t)
	for _, c := range helmCases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"lint", "--strict", chartDir(t), "--namespace", c.namespace}, c.valuesArgs(t)...)
			out := runHelm(t, helm, args...)
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
				t.Errorf("helm lint: %s", out)
			}
		})
	}
	// A bad value fails the render with a message, not a broken manifest.
	for _, set := range []string{"target.mode=node", "form=cronjob", "requests.source=lua", "target.mode=url", "controlPlane.tls.clientAuth=true", "networkPolicy.apiServerPorts=null"} {
		out, err := helmOutput(helm, "template", "x", chartDir(t), "--set", set)
		if err == nil || !strings.Contains(out, "must be") && !strings.Contains(out, "required") {
			t.Errorf("helm template --set %s: err %v, output %q; want a failure that says what is wrong", set, err, out)
		}
	}
}

// TestHelmChartFlags renders the chart for every case and checks each
// workload: the orchestrator's args pass its own parser
// (orchestrator/app.ParseConfig) and say what the values asked for, the
// executor's args pass the executor binary's flag parsing, the Job form
// never retries the orchestrator and runs as many executors as it expects,
// the pods are hardened, and only built-in kinds are rendered unless the
// PodMonitor is enabled.
func TestHelmChartFlags(t *testing.T) {
	helm := cluster.Helm(t)
	for _, c := range helmCases {
		t.Run(c.name, func(t *testing.T) {
			objs := decodeObjects(t, c.render(t, helm))
			r := parseRender(t, c, objs)
			checkChartTLS(t, c, r)
			checkChartPolicies(t, c, objs, r)
			for _, k := range r.kinds {
				if kind, _, _ := strings.Cut(k, "/"); !slices.Contains(builtinKinds, kind) {
					t.Errorf("render holds %s; want only built-in kinds %q", k, builtinKinds)
				}
			}
			hasRole := slices.Contains(r.kinds, "Role/"+c.fullname+"-orchestrator-target")
			if hasRole != (c.targetNS != "") {
				t.Errorf("render %q: Role present %v, want %v (url mode needs none)", r.kinds, hasRole, c.targetNS != "")
			}

			oc := r.orch.Spec.Containers[0]
			cfg, err := app.ParseConfig(oc.Args)
			if err != nil {
				t.Fatalf("orchestrator rejects its args %q: %v", oc.Args, err)
			}
			if cfg.TargetMode != c.mode || cfg.ExpectExecutors != c.executors {
				t.Errorf("orchestrator: mode %q, -expect-executors %d; want %q and %d", cfg.TargetMode, cfg.ExpectExecutors, c.mode, c.executors)
			}
			if c.mode != "url" && cfg.TargetNamespace != c.targetNS {
				t.Errorf("orchestrator -target-namespace=%q, want %q", cfg.TargetNamespace, c.targetNS)
			}
			checkExecutorArgs(t, r.exec.Spec.Containers[0].Args)
			checkHardening(t, r.orch.Spec, c.mode != "url")
			checkHardening(t, r.exec.Spec, false)
			checkVolumes(t, c, r)
			for _, p := range []corev1.PodTemplateSpec{r.orch, r.exec} {
				if got := p.Annotations["prometheus.io/scrape"] == "true"; got != c.scrape {
					t.Errorf("pod annotations %v: scrape %v, want %v", p.Annotations, got, c.scrape)
				}
			}

			if c.job {
				checkJobForm(t, r, cfg)
			} else {
				checkDeploymentForm(t, r, cfg)
			}
		})
	}

	t.Run("podmonitor", func(t *testing.T) {
		c := helmCases[0]
		objs := decodeObjects(t, c.render(t, helm, "--set", "metrics.podMonitor.enabled=true"))
		var monitors []*unstructured.Unstructured
		for _, u := range objs {
			if u.GetKind() == "PodMonitor" {
				monitors = append(monitors, u)
			}
		}
		if len(monitors) != 1 || monitors[0].GetAPIVersion() != "monitoring.coreos.com/v1" {
			t.Fatalf("with metrics.podMonitor.enabled: %d PodMonitors, want one of monitoring.coreos.com/v1", len(monitors))
		}
		eps, _, _ := unstructured.NestedSlice(monitors[0].Object, "spec", "podMetricsEndpoints")
		var ports []string
		for _, ep := range eps {
			ports = append(ports, fmt.Sprint(ep.(map[string]any)["port"]))
		}
		if !sameSet(ports, []string{"http", "metrics"}) {
			t.Errorf("PodMonitor scrapes ports %q, want the orchestrator's http and the executors' metrics", ports)
		}
	})
}

// checkExecutorArgs runs the executor binary with args and -version: it
// parses every flag first, so an unknown one fails with usage.
func checkExecutorArgs(t *testing.T, args []string) {
	t.Helper()
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-orchestrator=") }) {
		t.Errorf("executor args %q lack -orchestrator", args)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin["executor"], append(slices.Clone(args), "-version")...).CombinedOutput()
	if err != nil {
		t.Errorf("executor rejects its args %q: %v\n%s", args, err, out)
	}
}

// checkHardening wants deploy/k8s's pod hardening, and an API token
// mounted only when the pod calls the API.
func checkHardening(t *testing.T, spec corev1.PodSpec, apiToken bool) {
	t.Helper()
	c := spec.Containers[0]
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod security context %+v, want non-root and RuntimeDefault seccomp", c.Name, psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("%s: container security context %+v, want a read-only root, no privilege escalation, all capabilities dropped", c.Name, sc)
	}
	if c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() || c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Errorf("%s: limits %v, probes %v %v; want limits and both probes", c.Name, c.Resources.Limits, c.ReadinessProbe, c.LivenessProbe)
	}
	if mounted := spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken; mounted != apiToken {
		t.Errorf("%s: API token mounted %v, want %v", c.Name, mounted, apiToken)
	}
}

// checkVolumes wants both pods to mount the token Secret at the
// -auth-token-file directory and the orchestrator the request ConfigMap
// its source reads.
func checkVolumes(t *testing.T, c helmCase, r rendered) {
	t.Helper()
	for _, spec := range []corev1.PodSpec{r.orch.Spec, r.exec.Spec} {
		if flagArg(spec.Containers[0].Args, "-auth-token-file") != "/var/run/secrets/imager/token" ||
			!slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
				return v.Secret != nil && v.Secret.SecretName == c.tokenName && v.Secret.Optional != nil && !*v.Secret.Optional
			}) {
			t.Errorf("%s: args %q, volumes %+v; want the token file from the required Secret %s", spec.Containers[0].Name, spec.Containers[0].Args, spec.Volumes, c.tokenName)
		}
	}
	var cms []string
	for _, v := range r.orch.Spec.Volumes {
		if v.ConfigMap != nil {
			cms = append(cms, v.ConfigMap.Name)
		}
	}
	want := []string{}
	if c.sourceType != "" {
		want = append(want, c.fullname+"-"+c.sourceType)
	}
	if !sameSet(cms, want) || !sameSet(r.configMapNames, want) {
		t.Errorf("orchestrator mounts ConfigMaps %q, render holds %q; want %q", cms, r.configMapNames, want)
	}
}

// checkJobForm wants the orchestrator Job to run once to a verdict within
// its deadline and the executor Job to run as many pods as it expects.
func checkJobForm(t *testing.T, r rendered, cfg app.Config) {
	t.Helper()
	if r.orchJob == nil || r.execJob == nil {
		t.Fatalf("render %q: want the orchestrator and executor Jobs", r.kinds)
	}
	if r.orch.Spec.RestartPolicy != corev1.RestartPolicyNever || r.orchJob.Spec.BackoffLimit == nil || *r.orchJob.Spec.BackoffLimit != 0 {
		t.Errorf("orchestrator Job: restartPolicy %q, backoffLimit %v; want Never and 0", r.orch.Spec.RestartPolicy, deref(r.orchJob.Spec.BackoffLimit))
	}
	if cfg.Duration <= 0 || len(cfg.Thresholds) == 0 || cfg.Out == "" || cfg.ResultsLinger <= 0 {
		t.Errorf("orchestrator: -duration %v, %d thresholds, -out %q, -results-linger %v; a Job's test must end, be judged and leave results",
			cfg.Duration, len(cfg.Thresholds), cfg.Out, cfg.ResultsLinger)
	}
	if d := r.orchJob.Spec.ActiveDeadlineSeconds; d == nil || time.Duration(*d)*time.Second < cfg.ExecutorWait+cfg.Duration+cfg.ResultsLinger+time.Minute {
		t.Errorf("orchestrator Job: activeDeadlineSeconds %v, want at least -executor-wait + -duration + -results-linger + 1m", deref(d))
	}
	oc := r.orch.Spec.Containers[0]
	if cfg.TerminationLog == "" || cfg.TerminationLog != oc.TerminationMessagePath {
		t.Errorf("orchestrator: -termination-log %q, terminationMessagePath %q; want them equal", cfg.TerminationLog, oc.TerminationMessagePath)
	}
	if !slices.ContainsFunc(oc.VolumeMounts, func(m corev1.VolumeMount) bool {
		return !m.ReadOnly && strings.HasPrefix(cfg.Out, m.MountPath+"/")
	}) {
		t.Errorf("orchestrator: -out=%s is not on a writable mount %+v", cfg.Out, oc.VolumeMounts)
	}
	p, n := r.execJob.Spec.Parallelism, r.execJob.Spec.Completions
	if p == nil || n == nil || int(*p) != cfg.ExpectExecutors || int(*n) != cfg.ExpectExecutors {
		t.Errorf("executor Job: parallelism %v completions %v, want both = -expect-executors %d", deref(p), deref(n), cfg.ExpectExecutors)
	}
	if r.exec.Spec.RestartPolicy != corev1.RestartPolicyOnFailure || !slices.Contains(r.exec.Spec.Containers[0].Args, "-exit-when-done") {
		t.Errorf("executor Job: restartPolicy %q, args %q; want OnFailure and -exit-when-done", r.exec.Spec.RestartPolicy, r.exec.Spec.Containers[0].Args)
	}
	if d, od := r.execJob.Spec.ActiveDeadlineSeconds, r.orchJob.Spec.ActiveDeadlineSeconds; d == nil || od == nil || *d < *od {
		t.Errorf("executor Job: activeDeadlineSeconds %v, want at least the orchestrator's %v", deref(d), deref(od))
	}
}

// checkDeploymentForm wants long-lived workloads: no -duration (an ending
// test would restart), executors that wait for the next orchestrator.
func checkDeploymentForm(t *testing.T, r rendered, cfg app.Config) {
	t.Helper()
	if r.orchDep == nil || r.execDep == nil {
		t.Fatalf("render %q: want the orchestrator and executor Deployments", r.kinds)
	}
	if n := r.orchDep.Spec.Replicas; n == nil || *n != 1 || r.orchDep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("orchestrator Deployment: replicas %v, strategy %q; want 1 and Recreate", deref(n), r.orchDep.Spec.Strategy.Type)
	}
	if cfg.Duration != 0 || len(cfg.Thresholds) != 0 {
		t.Errorf("orchestrator Deployment: -duration %v, %d thresholds; want neither (it would exit and restart)", cfg.Duration, len(cfg.Thresholds))
	}
	if n := r.execDep.Spec.Replicas; n == nil || int(*n) != cfg.ExpectExecutors || slices.Contains(r.exec.Spec.Containers[0].Args, "-exit-when-done") {
		t.Errorf("executor Deployment: replicas %v, args %q; want -expect-executors %d and no -exit-when-done", deref(n), r.exec.Spec.Containers[0].Args, cfg.ExpectExecutors)
	}
}

// helmRules is what the orchestrator may do in its target namespace, by
// target mode.
var helmRules = map[string][]string{
	"pod":     {"list deployments.apps", "list pods", "list pods.metrics.k8s.io", "watch deployments.apps", "watch pods"},
	"service": {"list endpointslices.discovery.k8s.io", "list pods.metrics.k8s.io", "list services", "watch endpointslices.discovery.k8s.io", "watch services"},
}

// TestHelmChartApply renders the chart for every case into a namespace of
// its own on one real API server, applies the render server-side (the API
// server validates and defaults every object), reads back the stored Jobs
// and checks the orchestrator's RBAC by impersonation: exactly what its
// target mode reads, in the target namespace only; nothing in url mode;
// never Jobs or Secrets. The executors may do nothing.
func TestHelmChartApply(t *testing.T) {
	helm := cluster.Helm(t)
	e := startEnv(t)
	for _, ns := range []string{"imager", "helm-pod", "helm-target", "helm-service", "helm-url", "helm-urljob", "helm-tls", "other"} {
		if _, err := e.c.Kubectl("create", "namespace", ns); err != nil {
			t.Fatal(err)
		}
	}
	// url mode first: its (absent) rules are judged after the other
	// modes' Roles have reached the authorizer.
	cases := slices.Clone(helmCases)
	slices.SortStableFunc(cases, func(a, b helmCase) int {
		return strings.Compare(strconv.FormatBool(a.mode != "url"), strconv.FormatBool(b.mode != "url"))
	})
	for _, c := range cases {
		manifest := c.render(t, helm)
		objs := decodeObjects(t, manifest)
		out, err := e.c.KubectlInput(manifest, "apply", "--server-side", "-f", "-")
		if err != nil {
			t.Fatalf("%s: apply the render: %v", c.name, err)
		}
		if n := strings.Count(out, "serverside-applied"); n != len(objs) {
			t.Errorf("%s: applied %d objects, want %d:\n%s", c.name, n, len(objs), out)
		}
	}
	for _, c := range cases {
		if c.targetNS != "" {
			e.waitAllowed(t, e.c.ServiceAccountConfig(c.namespace, c.fullname+"-orchestrator"),
				authzv1.ResourceAttributes{Namespace: c.targetNS, Verb: "list", Group: "metrics.k8s.io", Resource: "pods"})
		}
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orchName, execName := c.fullname+"-orchestrator", c.fullname+"-executor"
			if c.job {
				orch, err := e.cs.BatchV1().Jobs(c.namespace).Get(e.ctx, orchName, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if b := orch.Spec.BackoffLimit; b == nil || *b != 0 || orch.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
					t.Errorf("stored orchestrator Job: backoffLimit %v, restartPolicy %q; want 0 and Never", deref(b), orch.Spec.Template.Spec.RestartPolicy)
				}
				exec, err := e.cs.BatchV1().Jobs(c.namespace).Get(e.ctx, execName, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				want := strconv.Itoa(c.executors)
				if p, n := exec.Spec.Parallelism, exec.Spec.Completions; p == nil || n == nil || strconv.Itoa(int(*p)) != want ||
					strconv.Itoa(int(*n)) != want || flagArg(orch.Spec.Template.Spec.Containers[0].Args, "-expect-executors") != want {
					t.Errorf("stored executor Job: parallelism %v completions %v, orchestrator args %q; want %s executors everywhere",
						deref(p), deref(n), orch.Spec.Template.Spec.Containers[0].Args, want)
				}
			} else {
				for _, name := range []string{orchName, execName} {
					if _, err := e.cs.AppsV1().Deployments(c.namespace).Get(e.ctx, name, metav1.GetOptions{}); err != nil {
						t.Errorf("Deployment %s: %v", name, err)
					}
				}
			}

			namespaces := slices.Compact(slices.Sorted(slices.Values([]string{c.namespace, c.targetNS, "other", "default"})))
			for _, ns := range namespaces {
				if ns == "" {
					continue
				}
				var want []string
				if ns == c.targetNS {
					want = helmRules[c.mode]
				}
				if got := e.grantedTo(t, c.namespace, orchName, ns); !slices.Equal(got, want) {
					t.Errorf("orchestrator may, in %s:\n%q\nwant exactly\n%q", ns, got, want)
				}
				if got := e.grantedTo(t, c.namespace, execName, ns); len(got) != 0 {
					t.Errorf("executor may, in %s: %q; want nothing", ns, got)
				}
			}
			for _, attrs := range []authzv1.ResourceAttributes{
				{Namespace: c.namespace, Verb: "create", Group: "batch", Resource: "jobs"},
				{Namespace: c.namespace, Verb: "get", Resource: "secrets", Name: c.tokenName},
				{Namespace: c.namespace, Verb: "list", Resource: "secrets"},
				{Namespace: c.namespace, Verb: "delete", Resource: "pods"},
			} {
				if e.canI(t, e.c.ServiceAccountConfig(c.namespace, orchName), attrs) {
					t.Errorf("orchestrator may %s %s/%s in %s", attrs.Verb, attrs.Group, attrs.Resource, attrs.Namespace)
				}
			}
		})
	}
}

// TestHelmInstall installs the chart with its defaults into a real API
// server with helm itself (the lookup of the token Secret, the hooks-free
// install and NOTES), then upgrades it: the random token is kept, so
// running pods and new ones agree on it.
func TestHelmInstall(t *testing.T) {
	helm := cluster.Helm(t)
	e := startEnv(t)
	const ns = "helm-install"
	install := func(verb string) string {
		t.Helper()
		out, err := helmOutputWith(helm, e.c.Kubeconfig, verb, "imager", chartDir(t), "--namespace", ns, "--create-namespace", "--timeout", "60s")
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", verb, err, out)
		}
		return out
	}
	token := func() []byte {
		t.Helper()
		s, err := e.cs.CoreV1().Secrets(ns).Get(e.ctx, "imager-control-token", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Data["token"]
	}
	out := install("install")
	if want := "kubectl -n " + ns + " wait --for=condition=complete job/imager-orchestrator"; !strings.Contains(out, "STATUS: deployed") || !strings.Contains(out, want) {
		t.Errorf("helm install printed:\n%s\nwant a deployed release and NOTES with %q", out, want)
	}
	first := token()
	if len(first) != 64 {
		t.Fatalf("created token has %d bytes, want 64", len(first))
	}
	for _, name := range []string{"imager-orchestrator", "imager-executor"} {
		if _, err := e.cs.BatchV1().Jobs(ns).Get(e.ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("Job %s after install: %v", name, err)
		}
	}
	if out := install("upgrade"); !strings.Contains(out, "REVISION: 2") {
		t.Errorf("helm upgrade printed:\n%s\nwant revision 2", out)
	}
	if second := token(); string(second) != string(first) {
		t.Errorf("the upgrade replaced the token; want it kept")
	}
}

// grantedTo is what service account saNS/name may do in namespace beyond
// what any account may.
func (e *env) grantedTo(t *testing.T, saNS, name, namespace string) []string {
	t.Helper()
	base := e.resourceRules(t, e.c.ServiceAccountConfig(saNS, "no-bindings"), namespace)
	got := e.resourceRules(t, e.c.ServiceAccountConfig(saNS, name), namespace)
	return slices.DeleteFunc(got, func(r string) bool { return slices.Contains(base, r) })
}

// deref is *p, or "<nil>" for printing.
func deref[T any](p *T) any {
	if p == nil {
		return "<nil>"
	}
	return *p
}
