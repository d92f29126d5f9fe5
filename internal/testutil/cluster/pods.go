package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// RunPod stands in for the scheduler and kubelet: it creates pod and then
// writes its status as Running with pod IP ip (a loopback address such as
// 127.0.0.2, where the test runs the pod's server) and the given readiness.
// The pod should leave spec.nodeName empty, so that deleting it takes
// effect at once. It returns the pod as stored.
func (c *Cluster) RunPod(ctx context.Context, pod *corev1.Pod, ip string, ready bool) (*corev1.Pod, error) {
	cs, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	created, err := cs.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	now := metav1.Now()
	created.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		HostIP:    "127.0.0.1",
		HostIPs:   []corev1.HostIP{{IP: "127.0.0.1"}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: conditionStatus(ready), LastTransitionTime: now},
			{Type: corev1.PodReady, Status: conditionStatus(ready), LastTransitionTime: now},
		},
	}
	for _, ctr := range created.Spec.Containers {
		created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, corev1.ContainerStatus{
			Name:    ctr.Name,
			Image:   ctr.Image,
			Ready:   ready,
			Started: &ready,
			State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		})
	}
	updated, err := cs.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("set status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return updated, nil
}

// SetPodReady changes a running pod's Ready and ContainersReady conditions
// and its containers' readiness, as a kubelet would when a readiness probe
// starts or stops passing.
func (c *Cluster) SetPodReady(ctx context.Context, namespace, name string, ready bool) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	pod, err := cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get pod %s/%s: %w", namespace, name, err)
	}
	now := metav1.Now()
	for i, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady || cond.Type == corev1.ContainersReady {
			if cond.Status != conditionStatus(ready) {
				pod.Status.Conditions[i].Status = conditionStatus(ready)
				pod.Status.Conditions[i].LastTransitionTime = now
			}
		}
	}
	for i := range pod.Status.ContainerStatuses {
		pod.Status.ContainerStatuses[i].Ready = ready
	}
	if _, err := cs.CoreV1().Pods(namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("set readiness of pod %s/%s: %w", namespace, name, err)
	}
	return nil
}

// conditionStatus converts a boolean to a condition status.
func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}
