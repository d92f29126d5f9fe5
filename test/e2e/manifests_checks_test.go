package e2e

import (
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// Checks shared by manifests_test.go: the pod hardening every Deployment
// must have and the orchestrator's exact RBAC rules.

// containerImage describes an image the manifests may run.
type containerImage struct {
	binary    string // name in the harness's bin map
	readiness string // readiness probe path the binary serves
	tokenFile bool   // must read the control-plane token from the Secret
}

var knownImages = map[string]containerImage{
	"imager/orchestrator:local": {binary: "orchestrator", readiness: "/readyz", tokenFile: true},
	"imager/executor:local":     {binary: "executor", readiness: "/readyz", tokenFile: true},
	// The sumservice serves /healthz only.
	"imager/sumservice:local": {binary: "sumservice", readiness: "/healthz"},
}

// nonRootUID is the distroless nonroot user the images run as.
const nonRootUID = 65532

// tokenSecret is the Secret holding the shared control-plane token.
const tokenSecret = "imager-control-token"

// permission is one (API group, resource, verb) the orchestrator may use.
type permission struct{ group, resource, verb string }

// orchestratorPermissions is exactly what target discovery and pod metrics
// need, in the target namespace; anything more or less is a failure.
var orchestratorPermissions = func() map[permission]bool {
	m := map[permission]bool{}
	for _, r := range []struct {
		group, resource string
		verbs           []string
	}{
		{"apps", "deployments", []string{"list", "watch"}},
		{"", "pods", []string{"list", "watch"}},
		{"", "services", []string{"list", "watch"}},
		{"discovery.k8s.io", "endpointslices", []string{"list", "watch"}},
		{"metrics.k8s.io", "pods", []string{"list"}},
	} {
		for _, v := range r.verbs {
			m[permission{r.group, r.resource, v}] = true
		}
	}
	return m
}()

// checkRole fails unless role grants exactly orchestratorPermissions, with
// no wildcards, resource names or subresources.
func checkRole(t *testing.T, where string, role *rbacv1.Role) {
	t.Helper()
	got := map[permission]bool{}
	for _, r := range role.Rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("%s: rule %+v narrows by name or URL; the rules must be the plain set", where, r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if g == "*" || res == "*" || v == "*" || strings.Contains(res, "/") {
						t.Errorf("%s: rule grants %q %q %q: no wildcards or subresources", where, g, res, v)
					}
					got[permission{g, res, v}] = true
				}
			}
		}
	}
	for p := range got {
		if !orchestratorPermissions[p] {
			t.Errorf("%s: Role %s grants %s on %q in group %q, which the orchestrator does not use", where, role.Name, p.verb, p.resource, p.group)
		}
	}
	for p := range orchestratorPermissions {
		if !got[p] {
			t.Errorf("%s: Role %s lacks %s on %q in group %q", where, role.Name, p.verb, p.resource, p.group)
		}
	}
}

// checkDeployment checks the hardening of every container of dep: non-root,
// read-only root, no privilege escalation or capabilities, seccomp, bounded
// resources, probes on paths the binary serves, and, for imager's own
// processes, the control-plane token from the Secret.
func checkDeployment(t *testing.T, where string, dep *appsv1.Deployment) {
	t.Helper()
	checkPodSpec(t, where+": Deployment "+dep.Namespace+"/"+dep.Name, dep.Spec.Template.Spec)
}

// checkJob checks a Job's pods as checkDeployment does a Deployment's, and
// wants a restart policy a Job allows that never restarts a pod that
// exited 0: Never or OnFailure.
func checkJob(t *testing.T, where string, job *batchv1.Job) {
	t.Helper()
	where = where + ": Job " + job.Namespace + "/" + job.Name
	checkPodSpec(t, where, job.Spec.Template.Spec)
	if rp := job.Spec.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		t.Errorf("%s: restartPolicy = %q, want Never or OnFailure", where, rp)
	}
	if job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds <= 0 {
		t.Errorf("%s: no activeDeadlineSeconds; a Job whose pods never end must not hold the cluster forever", where)
	}
}

// podTemplate returns the pod template of a Deployment or a Job.
func podTemplate(obj any) (*corev1.PodTemplateSpec, bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template, true
	case *batchv1.Job:
		return &o.Spec.Template, true
	}
	return nil, false
}

// checkPodSpec is checkDeployment's check of one pod spec.
func checkPodSpec(t *testing.T, where string, spec corev1.PodSpec) {
	t.Helper()
	psc := spec.SecurityContext
	if psc == nil {
		psc = &corev1.PodSecurityContext{}
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Errorf("%s: uses host namespaces", where)
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			t.Errorf("%s: volume %s is a hostPath", where, v.Name)
		}
	}
	if len(spec.Containers) == 0 || len(spec.InitContainers) > 0 {
		t.Errorf("%s: has %d containers and %d init containers, want containers only", where, len(spec.Containers), len(spec.InitContainers))
	}
	for _, c := range spec.Containers {
		w := where + " container " + c.Name
		im, ok := knownImages[c.Image]
		if !ok {
			t.Errorf("%s: image %q is not one of imager's images", w, c.Image)
			continue
		}
		if c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("%s: imagePullPolicy = %q, want IfNotPresent (images are loaded into the cluster)", w, c.ImagePullPolicy)
		}
		checkSecurity(t, w, psc, c.SecurityContext)
		checkResources(t, w, c.Resources)
		checkProbe(t, w, "liveness", c.LivenessProbe, "/healthz", c.Ports)
		checkProbe(t, w, "readiness", c.ReadinessProbe, im.readiness, c.Ports)
		if im.tokenFile {
			checkTokenMount(t, w, spec, c)
		}
		if im.binary != "orchestrator" && (spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken) {
			t.Errorf("%s: mounts an API token; only the orchestrator talks to the Kubernetes API", w)
		}
	}
}

// checkSecurity checks a container's effective security settings (the
// container's own, falling back to the pod's).
func checkSecurity(t *testing.T, w string, psc *corev1.PodSecurityContext, csc *corev1.SecurityContext) {
	t.Helper()
	if csc == nil {
		t.Errorf("%s: no securityContext", w)
		return
	}
	runAsNonRoot := cmpOr(csc.RunAsNonRoot, psc.RunAsNonRoot)
	if runAsNonRoot == nil || !*runAsNonRoot {
		t.Errorf("%s: runAsNonRoot is not true", w)
	}
	if uid := cmpOr(csc.RunAsUser, psc.RunAsUser); uid == nil || *uid != nonRootUID {
		t.Errorf("%s: runAsUser = %v, want %d", w, deref(uid), nonRootUID)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", w)
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", w)
	}
	if csc.Privileged != nil && *csc.Privileged {
		t.Errorf("%s: privileged", w)
	}
	if csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(csc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities = %+v, want drop [ALL] and no add", w, csc.Capabilities)
	}
	seccomp := cmpOr(csc.SeccompProfile, psc.SeccompProfile)
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile = %+v, want RuntimeDefault", w, seccomp)
	}
}

// checkResources wants requests and limits for CPU and memory, requests no
// larger than limits.
func checkResources(t *testing.T, w string, r corev1.ResourceRequirements) {
	t.Helper()
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		if !okReq || !okLim {
			t.Errorf("%s: %s request and limit must both be set (got %v / %v)", w, name, r.Requests, r.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s exceeds limit %s", w, name, req.String(), lim.String())
		}
	}
}

// checkProbe wants an HTTP GET of path on one of the container's named ports.
func checkProbe(t *testing.T, w, kind string, p *corev1.Probe, path string, ports []corev1.ContainerPort) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: no HTTP %s probe", w, kind)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: %s probe path = %q, want %q", w, kind, p.HTTPGet.Path, path)
	}
	if !slices.ContainsFunc(ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.HTTPGet.Port.String() }) {
		t.Errorf("%s: %s probe port %q is not a named port of the container", w, kind, p.HTTPGet.Port.String())
	}
}

// checkTokenMount wants -auth-token-file to point into a read-only mount of
// the token Secret, which is not optional.
func checkTokenMount(t *testing.T, w string, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	file := flagValue(c.Args, "-auth-token-file")
	if file == "" {
		t.Errorf("%s: no -auth-token-file", w)
		return
	}
	dir, base := path.Split(file)
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == path.Clean(dir) })
	if i < 0 {
		t.Errorf("%s: -auth-token-file=%s is not inside a volume mount", w, file)
		return
	}
	m := c.VolumeMounts[i]
	if !m.ReadOnly || m.SubPath != "" {
		t.Errorf("%s: token mount %+v must be read-only and without subPath", w, m)
	}
	j := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
	if j < 0 || spec.Volumes[j].Secret == nil {
		t.Errorf("%s: token volume %q is not a Secret volume", w, m.Name)
		return
	}
	s := spec.Volumes[j].Secret
	if s.SecretName != tokenSecret {
		t.Errorf("%s: token Secret = %q, want %q", w, s.SecretName, tokenSecret)
	}
	if s.Optional == nil || *s.Optional {
		t.Errorf("%s: token Secret must be optional: false (no silent start without auth)", w)
	}
	if s.DefaultMode == nil || *s.DefaultMode != 0o440 {
		t.Errorf("%s: token Secret defaultMode = %v, want 0440", w, deref(s.DefaultMode))
	}
	if len(s.Items) != 1 || s.Items[0].Key != "token" || s.Items[0].Path != base {
		t.Errorf("%s: token Secret items = %+v, want key token at %s", w, s.Items, base)
	}
}

// flagValue returns the value of -name=value in args, or "".
func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// cmpOr returns the first non-nil pointer.
func cmpOr[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// deref prints a pointer's value, or nil.
func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
