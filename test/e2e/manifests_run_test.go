package e2e

import (
	"cmp"
	"net"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
	"github.com/PeladoCollado/imager/orchestrator/app"
)

// TestManifestRunJobs renders deploy/run and checks that it runs one test
// to a verdict: the orchestrator Job never retries (its exit code is the
// Job's condition), runs for a set -duration with thresholds, waits for
// exactly the executor Job's pods, writes its results to a writable
// volume, and is reachable by the executors, which exit when it is done.
func TestManifestRunJobs(t *testing.T) {
	kubectl := cluster.Binaries(t).Kubectl
	objs := kustomizeBuild(t, kubectl, filepath.Join(repoRoot(t), "deploy/run"))
	jobs := map[string]*batchv1.Job{}
	services := map[string]*corev1.Service{}
	for _, o := range objs {
		switch obj := o.obj.(type) {
		case *batchv1.Job:
			jobs[obj.Name] = obj
		case *corev1.Service:
			services[obj.Name] = obj
		}
	}
	orch, exec := jobs["imager-orchestrator"], jobs["imager-executor"]
	if orch == nil || exec == nil {
		t.Fatalf("deploy/run renders Jobs %v, want imager-orchestrator and imager-executor", jobs)
	}

	// The orchestrator: one pod, one attempt.
	ospec := orch.Spec.Template.Spec
	if ospec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("orchestrator Job: restartPolicy = %q, want Never (a failed test is not re-run)", ospec.RestartPolicy)
	}
	if orch.Spec.BackoffLimit == nil || *orch.Spec.BackoffLimit != 0 {
		t.Errorf("orchestrator Job: backoffLimit = %v, want 0 (exit 99 must fail the Job at once)", deref(orch.Spec.BackoffLimit))
	}
	for name, n := range map[string]*int32{"parallelism": orch.Spec.Parallelism, "completions": orch.Spec.Completions} {
		if n != nil && *n != 1 {
			t.Errorf("orchestrator Job: %s = %d, want 1 (one orchestrator per test)", name, *n)
		}
	}
	if len(ospec.Containers) != 1 || ospec.Containers[0].Name != "orchestrator" {
		t.Fatalf("orchestrator Job: containers %+v, want one named orchestrator", ospec.Containers)
	}
	oc := ospec.Containers[0]
	cfg, err := app.ParseConfig(oc.Args)
	if err != nil {
		t.Fatalf("orchestrator rejects its args %q: %v", oc.Args, err)
	}
	if cfg.Duration <= 0 {
		t.Errorf("orchestrator: -duration = %v; a Job's test must end by itself", cfg.Duration)
	}
	if len(cfg.Thresholds) == 0 {
		t.Errorf("orchestrator args %q: no -threshold; the Job's verdict would judge nothing", oc.Args)
	}
	if flagValue(oc.Args, "-log-format") != "json" {
		t.Errorf("orchestrator args %q: want -log-format=json", oc.Args)
	}
	// The whole run, linger included, must fit the Job's deadline, or a
	// passing test fails.
	if d := orch.Spec.ActiveDeadlineSeconds; d == nil || time.Duration(*d)*time.Second < cfg.ExecutorWait+cfg.Duration+cfg.ResultsLinger+time.Minute {
		t.Errorf("orchestrator Job: activeDeadlineSeconds = %v, want at least -executor-wait (%v) + -duration (%v) + -results-linger (%v) + 1m",
			deref(d), cfg.ExecutorWait, cfg.Duration, cfg.ResultsLinger)
	}
	// The results file is fetched during the linger, the verdict read from
	// the termination message the kubelet reads at terminationMessagePath.
	if cfg.ResultsLinger <= 0 {
		t.Errorf("orchestrator: -results-linger = %v; the results file would leave with the pod", cfg.ResultsLinger)
	}
	msgPath := cmp.Or(oc.TerminationMessagePath, corev1.TerminationMessagePathDefault)
	if cfg.TerminationLog != msgPath {
		t.Errorf("orchestrator: -termination-log = %q, want the container's terminationMessagePath %q", cfg.TerminationLog, msgPath)
	}

	// -out is on a writable emptyDir mount (the root filesystem is read-only).
	if cfg.Out == "" {
		t.Errorf("orchestrator args %q: no -out", oc.Args)
	} else {
		i := slices.IndexFunc(oc.VolumeMounts, func(m corev1.VolumeMount) bool {
			return strings.HasPrefix(cfg.Out, strings.TrimSuffix(m.MountPath, "/")+"/")
		})
		switch {
		case i < 0:
			t.Errorf("orchestrator: -out=%s is not inside a volume mount", cfg.Out)
		case oc.VolumeMounts[i].ReadOnly:
			t.Errorf("orchestrator: -out=%s is on read-only mount %s", cfg.Out, oc.VolumeMounts[i].MountPath)
		default:
			name := oc.VolumeMounts[i].Name
			j := slices.IndexFunc(ospec.Volumes, func(v corev1.Volume) bool { return v.Name == name })
			if j < 0 || ospec.Volumes[j].EmptyDir == nil {
				t.Errorf("orchestrator: -out=%s is on volume %q, want an emptyDir", cfg.Out, name)
			}
		}
	}

	// The executors: as many as the orchestrator waits for, all at once,
	// each exiting 0 when the test is over.
	espec := exec.Spec.Template.Spec
	if exec.Spec.Parallelism == nil || exec.Spec.Completions == nil ||
		int(*exec.Spec.Parallelism) != cfg.ExpectExecutors || int(*exec.Spec.Completions) != cfg.ExpectExecutors {
		t.Errorf("executor Job: parallelism %v completions %v, want both = orchestrator -expect-executors (%d)",
			deref(exec.Spec.Parallelism), deref(exec.Spec.Completions), cfg.ExpectExecutors)
	}
	if cfg.ExpectExecutors < 2 {
		t.Errorf("orchestrator: -expect-executors = %d; a distributed run wants at least 2", cfg.ExpectExecutors)
	}
	if exec.Spec.CompletionMode != nil && *exec.Spec.CompletionMode != batchv1.NonIndexedCompletion {
		t.Errorf("executor Job: completionMode %q, want NonIndexed", *exec.Spec.CompletionMode)
	}
	if rp := espec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		t.Errorf("executor Job: restartPolicy = %q, want Never or OnFailure (never restart an executor that exited 0)", rp)
	}
	if d, od := exec.Spec.ActiveDeadlineSeconds, orch.Spec.ActiveDeadlineSeconds; d == nil || od == nil || *d < *od {
		t.Errorf("executor Job: activeDeadlineSeconds = %v, want at least the orchestrator's %v", deref(d), deref(od))
	}
	if len(espec.Containers) != 1 || espec.Containers[0].Name != "executor" {
		t.Fatalf("executor Job: containers %+v, want one named executor", espec.Containers)
	}
	ec := espec.Containers[0]
	if !slices.Contains(ec.Args, "-exit-when-done") {
		t.Errorf("executor args %q lack -exit-when-done; executors would outlive the test and the Job never complete", ec.Args)
	}
	if !slices.ContainsFunc(ec.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
	}) {
		t.Errorf("executor env %+v: want POD_NAME from metadata.name (each executor's id)", ec.Env)
	}

	// -orchestrator=host:port is a Service of the tree whose port reaches
	// the orchestrator pod's -grpc-port.
	host, port, err := net.SplitHostPort(flagValue(ec.Args, "-orchestrator"))
	if err != nil {
		t.Fatalf("executor -orchestrator: %v", err)
	}
	svc := services[host]
	if svc == nil || svc.Namespace != exec.Namespace {
		t.Fatalf("executor dials %s, not a Service of deploy/run in namespace %s", host, exec.Namespace)
	}
	if !labelsMatch(svc.Spec.Selector, orch.Spec.Template.Labels) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service %s selector %v does not select the orchestrator Job's pods (labels %v)", host, svc.Spec.Selector, orch.Spec.Template.Labels)
	}
	i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return strconv.Itoa(int(p.Port)) == port })
	if i < 0 {
		t.Fatalf("Service %s has no port %s", host, port)
	}
	target := svc.Spec.Ports[i].TargetPort.String()
	if !slices.ContainsFunc(oc.Ports, func(p corev1.ContainerPort) bool {
		return (p.Name == target || strconv.Itoa(int(p.ContainerPort)) == target) && int(p.ContainerPort) == cfg.GRPCPort
	}) {
		t.Errorf("Service %s port %s targets %q, not the orchestrator's -grpc-port %d", host, port, target, cfg.GRPCPort)
	}
	if m := services["imager-executor-metrics"]; m == nil || !labelsMatch(m.Spec.Selector, exec.Spec.Template.Labels) {
		t.Errorf("Service imager-executor-metrics does not select the executor Job's pods")
	}
	// Both pods read the same token Secret.
	for _, c := range []corev1.Container{oc, ec} {
		if dir := path.Dir(flagValue(c.Args, "-auth-token-file")); dir != "/var/run/secrets/imager" {
			t.Errorf("%s: -auth-token-file in %q, want /var/run/secrets/imager", c.Name, dir)
		}
	}
}
