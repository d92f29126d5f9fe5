package cluster

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
)

// APIServiceNamespace holds the Services that RegisterAPIService creates.
const APIServiceNamespace = "kube-system"

// BackendTLSConfig returns a server TLS configuration for an aggregated API
// server listening on loopback. Its certificate is signed by the cluster
// CA and valid for 127.0.0.1, localhost and *.kube-system.svc (the name
// the aggregator checks), so RegisterAPIService can trust it by CA bundle.
func (c *Cluster) BackendTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	kp, err := c.ca.issue(certSpec{
		commonName: "imager-test-aggregated-api",
		dnsNames:   []string{"localhost", "*." + APIServiceNamespace + ".svc"},
		ips:        []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		server:     true,
	})
	if err != nil {
		t.Fatalf("backend certificate: %v", err)
	}
	cert, err := kp.tlsCertificate()
	if err != nil {
		t.Fatalf("backend certificate: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}

// RegisterAPIService makes the apiserver serve group/version by proxying to
// the HTTPS server at addr ("127.0.0.x:port", using BackendTLSConfig), and
// waits until the APIService reports Available. It returns the APIService
// name ("<version>.<group>").
//
// The APIService points at an ExternalName Service whose external name is
// addr's host: the aggregator dials that name and the port directly. An
// ordinary Service would not do, because EndpointSlices refuse loopback
// addresses.
func (c *Cluster) RegisterAPIService(t testing.TB, group, version, addr string) string {
	t.Helper()
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("RegisterAPIService: address %q: %v", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("RegisterAPIService: port %q: %v", portText, err)
	}
	svcName := apiServiceBackendName(group, version)
	name := version + "." + group
	objects := []map[string]any{
		{
			"apiVersion": "v1",
			"kind":       "Service",
			"metadata":   map[string]any{"name": svcName, "namespace": APIServiceNamespace},
			"spec": map[string]any{
				"type":         "ExternalName",
				"externalName": host,
				"ports":        []map[string]any{{"name": "https", "port": port, "protocol": "TCP"}},
			},
		},
		{
			"apiVersion": "apiregistration.k8s.io/v1",
			"kind":       "APIService",
			"metadata":   map[string]any{"name": name},
			"spec": map[string]any{
				"group":                group,
				"version":              version,
				"groupPriorityMinimum": 100,
				"versionPriority":      100,
				"caBundle":             c.CACert, // []byte encodes as base64, as the API expects
				"service":              map[string]any{"namespace": APIServiceNamespace, "name": svcName, "port": port},
			},
		},
	}
	for _, obj := range objects {
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatalf("RegisterAPIService: encode: %v", err)
		}
		if _, err := c.KubectlInput(string(data), "apply", "--server-side", "--field-manager=imager-test", "-f", "-"); err != nil {
			t.Fatalf("RegisterAPIService: %v", err)
		}
	}
	if _, err := c.Kubectl("wait", "--for=condition=Available", "apiservice/"+name, "--timeout=90s"); err != nil {
		out, _ := c.Kubectl("get", "apiservice", name, "-o", "yaml")
		t.Fatalf("RegisterAPIService: %s not available: %v\n%s", name, err, out)
	}
	return name
}

// apiServiceBackendName derives a valid Service name from group/version.
func apiServiceBackendName(group, version string) string {
	n := "apisvc-" + strings.ReplaceAll(strings.ToLower(group), ".", "-") + "-" + strings.ToLower(version)
	if len(n) > 63 {
		n = n[:63]
	}
	return strings.TrimRight(n, "-")
}

// String describes the cluster for logs.
func (c *Cluster) String() string {
	return fmt.Sprintf("test cluster %s (etcd %s, dir %s)", c.Host, c.EtcdURL, c.Dir)
}
