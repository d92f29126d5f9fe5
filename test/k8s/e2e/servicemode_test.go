package e2e

import (
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// podPort is the pods' container port and the EndpointSlice's port in
// service mode. Nothing listens on it: executors send to the Service's
// port at -service-host, as they would to a cluster IP.
const podPort = 8080

// endpointIPs are the EndpointSlice addresses of web-a and web-b. The API
// refuses loopback addresses there; these (TEST-NET-1) are never
// contacted.
var endpointIPs = map[string]string{"web-a": "192.0.2.10", "web-b": "192.0.2.11"}

// createWebService creates Service web (selector app=web, port http:
// port -> podPort) in namespace imager.
func (e *env) createWebService(t *testing.T, port int) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: webApp, Namespace: imagerNS},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": webApp},
			Ports: []corev1.ServicePort{{Name: portName, Port: int32(port), TargetPort: intstr.FromInt32(podPort),
				Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := e.cs.CoreV1().Services(imagerNS).Create(e.ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create service: %v", err)
	}
}

// webSlice is the EndpointSlice of Service web with one endpoint per pod,
// each ready as given, its targetRef naming the pod.
func webSlice(pods []*corev1.Pod, ready map[string]bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: webApp + "-1", Namespace: imagerNS,
			Labels: map[string]string{discoveryv1.LabelServiceName: webApp}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: new(portName), Port: new(int32(podPort)), Protocol: new(corev1.ProtocolTCP)}},
	}
	for _, p := range pods {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{endpointIPs[p.Name]},
			Conditions: discoveryv1.EndpointConditions{Ready: new(ready[p.Name])},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID},
		})
	}
	return s
}

// TestServiceMode runs the orchestrator out of cluster in service mode
// against Service web, whose EndpointSlice names pods web-a and web-b,
// sending to -service-host=127.0.0.2 where a sumservice listens on the
// Service's port. Pod usage comes through an aggregated metrics.k8s.io API:
// every backing pod's CPU and memory is exported and the round lines carry
// their sums. Endpoints that stop being ready pause dispatch; ready ones
// resume it.
func TestServiceMode(t *testing.T) {
	e := newEnv(t)
	api := startMetricsAPI(t, e)
	e.c.RegisterAPIService(t, "metrics.k8s.io", "v1beta1", api.addr)

	port := sharedPort(t, ipA)
	startSumservice(t, ipA, port)
	e.createWebService(t, port)
	pods := []*corev1.Pod{e.runWebPod(t, "web-a", ipA, podPort, true), e.runWebPod(t, "web-b", ipB, podPort, true)}
	sliceAPI := e.cs.DiscoveryV1().EndpointSlices(imagerNS)
	slice, err := sliceAPI.Create(e.ctx, webSlice(pods, map[string]bool{"web-a": true, "web-b": true}), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create endpoint slice: %v", err)
	}

	s := startStack(t, e.orchestratorKubeconfig(t), "-target-mode=service", "-target-service=web",
		"-service-host="+ipA, "-metrics-poll-interval=500ms")
	resolved := s.orch.WaitFor(t, "target resolved", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
	if want := "http://" + ipA + ":" + strconv.Itoa(port); resolved[0]["url"] != want {
		t.Errorf("target resolved to %v, want %s (the Service's port at -service-host)", resolved[0]["url"], want)
	}
	if proc.Num(t, resolved[0], "ready") != 2 {
		t.Errorf("target resolved with %v ready endpoints, want 2", resolved[0]["ready"])
	}
	s.waitRounds(t, 0, 3)

	t.Run("usage of every backing pod", func(t *testing.T) {
		for _, pod := range []string{"web-a", "web-b"} {
			s.waitGauge(t, podSeries(cpuSeries, pod), wantCPU[pod])
			s.waitGauge(t, podSeries(memorySeries, pod), wantMemory[pod])
		}
		if v, ok := s.metrics(t)[podSeries(cpuSeries, "other")]; ok {
			t.Errorf("%s = %v, want no series: the pod is not behind the Service", podSeries(cpuSeries, "other"), v)
		}
		checkRoundUsage(t, s, wantCPU["web-a"]+wantCPU["web-b"], wantMemory["web-a"]+wantMemory["web-b"])
		if _, sels := api.seen("system:serviceaccount:" + imagerNS + ":" + orchestratorSA); len(sels) == 0 || sels[len(sels)-1] != "app="+webApp {
			t.Errorf("metrics API selectors %q, want the Service's selector app=%s", sels, webApp)
		}
	})

	t.Run("no ready endpoint pauses dispatch", func(t *testing.T) {
		before := s.metrics(t)[roundsSkipped]
		slice.Endpoints = webSlice(pods, nil).Endpoints // none ready
		if slice, err = sliceAPI.Update(e.ctx, slice, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update endpoint slice: %v", err)
		}
		p := s.orch.WaitFor(t, "dispatch paused: service imager/web has no ready endpoints", eventuallyWithin,
			func(ls []map[string]any) bool { return len(ls) > 0 })
		if p[0]["level"] != "WARN" {
			t.Errorf("dispatch paused line = %v, want a WARN", p[0])
		}
		s.orch.WaitFor(t, "round skipped: no target to send to; dispatch paused", eventuallyWithin,
			func(ls []map[string]any) bool { return len(ls) >= 2 })
		m := s.metrics(t)
		if m[roundsSkipped] < before+2 || m[targetAvailable] != 0 {
			t.Errorf("while paused: %s = %v (want >= %v), %s = %v (want 0)", roundsSkipped, m[roundsSkipped], before+2,
				targetAvailable, m[targetAvailable])
		}
		// No pod backs the Service now, so no pod's usage is exported.
		s.waitNoPodSeries(t)
	})

	t.Run("a ready endpoint resumes dispatch", func(t *testing.T) {
		slice.Endpoints = webSlice(pods, map[string]bool{"web-b": true}).Endpoints
		if slice, err = sliceAPI.Update(e.ctx, slice, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("update endpoint slice: %v", err)
		}
		r := s.orch.WaitFor(t, "dispatch resumed", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
		if proc.Num(t, r[0], "ready") != 1 || proc.Num(t, r[0], "total") != 2 {
			t.Errorf("dispatch resumed with %v of %v endpoints ready, want 1 of 2", r[0]["ready"], r[0]["total"])
		}
		// Only web-b backs the Service now: web-a's gauges go.
		s.waitGauge(t, podSeries(cpuSeries, "web-b"), wantCPU["web-b"])
		checkRoundUsage(t, s, wantCPU["web-b"], wantMemory["web-b"])
		for series := range s.metrics(t) {
			if strings.Contains(series, `pod="web-a"`) {
				t.Errorf("%s still exported after web-a's endpoint stopped being ready", series)
			}
		}
		if got := s.metrics(t)[targetAvailable]; got != 1 {
			t.Errorf("%s = %v after resuming, want 1", targetAvailable, got)
		}
	})
	s.checkAccounting(t)
}
