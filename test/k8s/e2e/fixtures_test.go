package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// The namespace and service accounts of deploy/k8s. The target tests put
// their Deployment or Service in this namespace, so the orchestrator runs
// with exactly the Role that deploy/k8s/rbac.yaml ships.
const (
	imagerNS         = "imager"
	orchestratorSA   = "imager-orchestrator"
	executorSA       = "imager-executor"
	roundMillis      = 500
	roundInterval    = roundMillis * time.Millisecond
	rps              = 20
	plannedPerRound  = rps * roundMillis / 1000
	webApp           = "web"
	portName         = "http"
	testTimeout      = 3 * time.Minute
	eventuallyWithin = 30 * time.Second
)

// env is a test cluster with deploy/k8s's namespace and RBAC applied.
type env struct {
	c   *cluster.Cluster
	cs  kubernetes.Interface
	ctx context.Context
}

// newEnv starts a cluster, applies deploy/k8s/namespace.yaml and rbac.yaml
// as they are, and waits until the orchestrator's service account may list
// pods in namespace imager.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := startEnv(t)
	c := e.c
	root := repoRoot(t)
	for _, f := range []string{"deploy/k8s/namespace.yaml", "deploy/k8s/rbac.yaml"} {
		if _, err := c.Kubectl("apply", "--server-side", "-f", filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	e.waitAllowed(t, c.ServiceAccountConfig(imagerNS, orchestratorSA),
		authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "watch", Resource: "pods"})
	return e
}

// startEnv starts a cluster with nothing applied.
func startEnv(t *testing.T) *env {
	t.Helper()
	c := cluster.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return &env{c: c, cs: kubernetes.NewForConfigOrDie(c.RESTConfig), ctx: ctx}
}

// canI asks the API server, as the user of cfg, whether it may do attrs.
func (e *env) canI(t *testing.T, cfg *rest.Config, attrs authzv1.ResourceAttributes) bool {
	t.Helper()
	review := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}}
	got, err := kubernetes.NewForConfigOrDie(cfg).AuthorizationV1().SelfSubjectAccessReviews().Create(e.ctx, review, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectAccessReview %+v: %v", attrs, err)
	}
	return got.Status.Allowed
}

// waitAllowed waits until the RBAC authorizer's cache has the new rules.
func (e *env) waitAllowed(t *testing.T, cfg *rest.Config, attrs authzv1.ResourceAttributes) {
	t.Helper()
	deadline := time.Now().Add(eventuallyWithin)
	for !e.canI(t, cfg, attrs) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still not allowed %+v", cfg.Impersonate.UserName, attrs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// orchestratorKubeconfig is a kubeconfig acting as the orchestrator's
// service account, so its requests are authorized by the shipped RBAC.
func (e *env) orchestratorKubeconfig(t *testing.T) string {
	return e.c.ServiceAccountKubeconfig(t, imagerNS, orchestratorSA)
}

// createWebDeployment creates Deployment web (selector app=web, container
// port http: port) in namespace imager. No controller acts on it: the test
// creates its pods.
func (e *env) createWebDeployment(t *testing.T, port int) {
	t.Helper()
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: webApp, Namespace: imagerNS},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": webApp}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": webApp}},
				Spec:       webPodSpec(port),
			},
		},
	}
	if _, err := e.cs.AppsV1().Deployments(imagerNS).Create(e.ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
}

// webPodSpec is the pod spec of the web Deployment. It leaves nodeName
// empty, so deleting a pod takes effect at once.
func webPodSpec(port int) corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{
		Name:  "sumservice",
		Image: "example.invalid/sumservice:test",
		Ports: []corev1.ContainerPort{{Name: portName, ContainerPort: int32(port)}},
	}}}
}

// runWebPod creates pod name of the web Deployment with pod IP ip and the
// given readiness, as a kubelet would report it.
func (e *env) runWebPod(t *testing.T, name, ip string, port int, ready bool) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: imagerNS, Labels: map[string]string{"app": webApp}},
		Spec:       webPodSpec(port),
	}
	got, err := e.c.RunPod(e.ctx, pod, ip, ready)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// deletePod deletes a pod of namespace imager; with no node it is gone at
// once.
func (e *env) deletePod(t *testing.T, name string) {
	t.Helper()
	if err := e.cs.CoreV1().Pods(imagerNS).Delete(e.ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
}

// startSumservice runs a sumservice on host:port and waits until it
// answers.
func startSumservice(t *testing.T, host string, port int) *proc.Proc {
	t.Helper()
	addr := host + ":" + strconv.Itoa(port)
	p := start(t, "sumservice", "-listen", addr)
	proc.WaitHTTP(t, "http://"+addr+"/healthz", 20*time.Second)
	return p
}

// stack is an orchestrator run out of cluster and its executor.
type stack struct {
	orch     *proc.Proc
	orchHTTP string
	exec     *proc.Proc
}

// startStack starts the orchestrator with kubeconfig and the target flags
// in targetArgs, random-sum requests at a constant 20 rps in 500ms rounds,
// and one executor, and waits until the executor has joined.
func startStack(t *testing.T, kubeconfig string, targetArgs ...string) *stack {
	t.Helper()
	httpPort, grpcPort, execPort := proc.FreePort(t), proc.FreePort(t), proc.FreePort(t)
	args := append([]string{
		"-in-cluster=false", "-kubeconfig=" + kubeconfig,
		"-target-namespace=" + imagerNS, "-target-port-name=" + portName,
		"-request-source-type=random-sum", "-random-sum-path=/sum", "-seed=7",
		"-load-calculator=step", "-min-rps=" + strconv.Itoa(rps), "-max-rps=" + strconv.Itoa(rps), "-step-rps=1",
		"-round-interval=" + roundInterval.String(), "-request-timeout=5s", "-executor-timeout=5s",
		"-listen-port=" + strconv.Itoa(httpPort), "-grpc-port=" + strconv.Itoa(grpcPort),
		"-log-format=json",
	}, targetArgs...)
	s := &stack{orch: start(t, "orchestrator", args...), orchHTTP: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	proc.WaitHTTP(t, s.orchHTTP+"/healthz", 20*time.Second)
	s.exec = start(t, "executor", fmt.Sprintf("-orchestrator=127.0.0.1:%d", grpcPort), "-id=exec-1", "-workers=1",
		fmt.Sprintf("-metrics-port=%d", execPort), "-log-format=json")
	s.orch.WaitFor(t, "executor joined", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) >= 1 })
	return s
}

// metrics scrapes the orchestrator.
func (s *stack) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	return proc.Scrape(t, s.orchHTTP+"/metrics")
}

// lastRound is the highest index of a finished round, or -1.
func (s *stack) lastRound(t *testing.T) int {
	t.Helper()
	last := -1
	for _, r := range s.orch.Logs("round finished") {
		last = max(last, int(proc.Num(t, r, "round")))
	}
	return last
}

// fresh is the first round index sure to be planned after now: the round
// after the last finished one may be running and the next one planned
// (rounds are planned half an interval ahead), so skip a further margin.
func (s *stack) fresh(t *testing.T) int {
	t.Helper()
	return s.lastRound(t) + 4
}

// waitRounds waits until n rounds with index >= from have finished and
// wants every one of them to have succeeded in full. It returns them.
func (s *stack) waitRounds(t *testing.T, from, n int) []map[string]any {
	t.Helper()
	since := func(ls []map[string]any) []map[string]any {
		return slices.DeleteFunc(slices.Clone(ls), func(r map[string]any) bool { return proc.Num(t, r, "round") < float64(from) })
	}
	got := since(s.orch.WaitFor(t, "round finished", eventuallyWithin, func(ls []map[string]any) bool {
		return len(since(ls)) >= n
	}))
	for _, r := range got {
		if proc.Num(t, r, "planned") != plannedPerRound || proc.Num(t, r, "success") != plannedPerRound {
			t.Errorf("round %v: %v of %v requests succeeded (failed %v, timeouts %v, dropped %v, lost %v); want all %d",
				r["round"], r["success"], r["planned"], r["failed"], r["timeouts"], r["dropped"], r["lost"], plannedPerRound)
		}
	}
	return got
}

// checkAccounting wants every finished round to account for each planned
// request exactly once, and to plan rps * interval requests.
func (s *stack) checkAccounting(t *testing.T) {
	t.Helper()
	rounds := s.orch.Logs("round finished")
	if len(rounds) == 0 {
		t.Fatal("no round finished")
	}
	for _, r := range rounds {
		planned := proc.Num(t, r, "planned")
		sum := proc.Num(t, r, "success") + proc.Num(t, r, "failed") + proc.Num(t, r, "timeouts") + proc.Num(t, r, "dropped") + proc.Num(t, r, "lost")
		if planned != sum {
			t.Errorf("round %v: planned %v != success+failed+timeouts+dropped+lost %v", r["round"], planned, sum)
		}
		if planned != plannedPerRound || proc.Num(t, r, "planned_rps") != rps {
			t.Errorf("round %v: planned %v requests at %v rps, want %d at %d", r["round"], planned, r["planned_rps"], plannedPerRound, rps)
		}
	}
}

// waitGauge polls the orchestrator's metrics until series has value want.
func (s *stack) waitGauge(t *testing.T, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(eventuallyWithin)
	for {
		got, ok := s.metrics(t)[series]
		if ok && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (present %v), want %v", series, got, ok, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitNoPodSeries polls the orchestrator's metrics until it exports no
// pod CPU or memory series.
func (s *stack) waitNoPodSeries(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(eventuallyWithin)
	for {
		var left []string
		for series := range s.metrics(t) {
			if strings.HasPrefix(series, cpuSeries+"{") || strings.HasPrefix(series, memorySeries+"{") {
				left = append(left, series)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still exported: %q", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
