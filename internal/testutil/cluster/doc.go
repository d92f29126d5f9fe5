// Package cluster runs a real kube-apiserver and etcd on 127.0.0.1 for
// tests, and the matching kubectl.
//
// The binaries are built from Go modules by the separate tools module in
// test/k8s/tools (k8s.io/kubernetes with its staging modules replaced by
// their published versions, and etcd's server module), so the main go.mod
// does not carry Kubernetes' dependencies. Binaries builds them once and
// caches them under $IMAGER_K8S_CACHE (default: the user cache directory's
// imager-k8s), in a subdirectory named by a hash of the tools module and
// the build recipe; a file lock makes concurrent test packages share one
// build. The first build takes several minutes. This package only runs the
// binaries; it never imports k8s.io/kubernetes.
//
// Start gives each test its own cluster: fresh certificates, a fresh etcd
// data directory and free ports, all stopped at test cleanup.
//
//	c := cluster.Start(t)
//	cs := kubernetes.NewForConfigOrDie(c.RESTConfig)
//	out, err := c.Kubectl("get", "namespaces")
//
// What the cluster is, and is not:
//   - Only the apiserver and etcd run. There is no controller manager,
//     scheduler or kubelet: a Deployment creates no ReplicaSet or Pods,
//     EndpointSlices are not derived from Services, namespace deletion
//     never finishes, and no "default" ServiceAccount appears. Tests create
//     the objects they need (Pods, with status written through the status
//     subresource) themselves.
//   - Pod status may carry loopback IPs (127.0.0.x), so a test can point a
//     Pod at a local server. EndpointSlice addresses may not be loopback
//     (the API refuses them), and pods/proxy refuses non-global pod IPs.
//   - A Pod with no spec.nodeName is deleted at once (no kubelet has to
//     confirm), which is how tests remove a target pod.
//   - The ServiceAccount admission plugin is off (nothing would create the
//     service accounts it requires); every other default plugin is on.
//   - Authorization is Node,RBAC. RESTConfig and Kubeconfig are the admin
//     (group system:masters); ImpersonatingConfig, ServiceAccountConfig and
//     ServiceAccountKubeconfig act as another user, so RBAC rules can be
//     checked for real.
//   - API aggregation is configured (front-proxy CA and client certificate,
//     request-header flags). RegisterAPIService serves a group/version, for
//     example metrics.k8s.io/v1beta1, from an HTTPS test server on loopback
//     that uses BackendTLSConfig.
//
// When the binaries cannot be built, Binaries and Start skip the test with
// the reason in the log, except when CI=true, where they fail it.
package cluster
