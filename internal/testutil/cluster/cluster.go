package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// Timing limits for bringing a cluster up.
const (
	etcdReadyTimeout      = time.Minute
	apiserverReadyTimeout = 3 * time.Minute
	startAttempts         = 3 // fresh ports after an "address already in use"
)

// ServiceCIDR is the service IP range the apiserver allocates from. No
// address in it is ever contacted: nothing proxies Services here.
const ServiceCIDR = "10.96.0.0/24"

// AdminUser is the user name of the admin client certificate; it is in
// the system:masters group.
const AdminUser = "imager-test-admin"

// FrontProxyClient is the common name of the certificate the aggregator
// presents to aggregated API servers.
const FrontProxyClient = "front-proxy-client"

// Cluster is a running etcd and kube-apiserver on 127.0.0.1, with no
// controller manager, scheduler or kubelet: objects are stored, validated,
// admitted and authorized, but nothing acts on them.
type Cluster struct {
	// Host is the apiserver's URL, https://127.0.0.1:<port>.
	Host string
	// Kubeconfig is the path of a kubeconfig file for the admin user.
	Kubeconfig string
	// RESTConfig authenticates as the admin user (group system:masters).
	RESTConfig *rest.Config
	// CACert is the PEM of the CA that signed the apiserver's serving
	// certificate and the client certificates it accepts.
	CACert []byte
	// EtcdURL is etcd's client URL.
	EtcdURL string
	// Dir holds the cluster's certificates, data and logs
	// (etcd.log, kube-apiserver.log).
	Dir string
	// Bin holds the binaries the cluster runs.
	Bin Paths

	ca        *authority
	clientPEM keyPair
	etcd      *process
	apiserver *process
	stopOnce  sync.Once
}

// Start runs etcd and kube-apiserver on free loopback ports and waits
// until the apiserver is ready. Both processes are stopped when the test
// ends. It skips or fails the test as Binaries does when the binaries
// cannot be built.
func Start(t testing.TB) *Cluster {
	t.Helper()
	bin := Binaries(t)
	begin := time.Now()
	dir := t.TempDir()
	pki, err := newClusterPKI(dir)
	if err != nil {
		t.Fatalf("cluster certificates: %v", err)
	}
	c := &Cluster{Dir: dir, Bin: bin, CACert: pki.ca.certPEM, ca: pki.ca, clientPEM: pki.admin}
	t.Cleanup(func() {
		if t.Failed() {
			c.logTails(t)
		}
		stopping := time.Now()
		c.Stop()
		t.Logf("test cluster: stopped in %s", time.Since(stopping).Round(time.Millisecond))
	})
	for attempt := 1; ; attempt++ {
		err = c.start(pki)
		if err == nil {
			break
		}
		portClash := c.portClash()
		c.Stop()
		if !portClash || attempt == startAttempts {
			t.Fatalf("start test cluster: %v", err)
		}
		t.Logf("test cluster: port taken, retrying with new ports: %v", err)
		c.stopOnce = sync.Once{}
	}
	c.RESTConfig = c.restConfig()
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := c.writeKubeconfig(c.Kubeconfig, "", nil); err != nil {
		t.Fatalf("write kubeconfig: %v", err)
	}
	t.Logf("test cluster: kube-apiserver %s ready at %s in %s (dir %s)",
		Version, c.Host, time.Since(begin).Round(time.Millisecond), dir)
	return c
}

// start launches etcd and the apiserver on fresh ports and waits for both.
func (c *Cluster) start(pki *clusterPKI) error {
	c.etcd, c.apiserver = nil, nil
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	c.EtcdURL = clientURL
	c.Host = "https://127.0.0.1:" + strconv.Itoa(ports[2])

	c.etcd, err = startProcess("etcd", c.Bin.Etcd, filepath.Join(c.Dir, "etcd.log"), []string{
		"--name=test",
		"--data-dir=" + filepath.Join(c.Dir, "etcd-data-"+strconv.Itoa(ports[0])),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=test=" + peerURL,
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	})
	if err != nil {
		return err
	}
	if err := waitReady(c.etcd, &http.Client{Timeout: 2 * time.Second}, clientURL+"/health", etcdReadyTimeout); err != nil {
		return err
	}
	c.apiserver, err = startProcess("kube-apiserver", c.Bin.KubeAPIServer, filepath.Join(c.Dir, "kube-apiserver.log"),
		apiserverArgs(pki, clientURL, ports[2]))
	if err != nil {
		return err
	}
	client, err := c.httpClient()
	if err != nil {
		return err
	}
	return waitReady(c.apiserver, client, c.Host+"/readyz", apiserverReadyTimeout)
}

// apiserverArgs are the kube-apiserver flags for a loopback-only server.
func apiserverArgs(pki *clusterPKI, etcdURL string, port int) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + pki.servingCert,
		"--tls-private-key-file=" + pki.servingKey,
		"--client-ca-file=" + pki.caFile,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saPub,
		"--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--endpoint-reconciler-type=none",
		// No controller manager creates the default service account, so the
		// ServiceAccount admission plugin would refuse every Pod.
		"--disable-admission-plugins=ServiceAccount",
		"--requestheader-client-ca-file=" + pki.frontProxyCAFile,
		"--requestheader-allowed-names=" + FrontProxyClient,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki.proxyCert,
		"--proxy-client-key-file=" + pki.proxyKey,
		// The aggregator resolves an APIService's Service to its cluster
		// IP, or for an ExternalName Service to that name. EndpointSlices
		// may not hold loopback addresses, so endpoint routing could never
		// reach a test server; RegisterAPIService uses ExternalName.
		"--enable-aggregator-routing=false",
		"--profiling=false",
	}
}

// waitReady polls url until it answers 200, p exits or timeout passes.
func waitReady(p *process, client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return p.exitError()
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready at %s after %s (last: %v); end of %s:\n%s",
		p.name, url, timeout, last, p.logPath, p.logTail(4096))
}

// portClash reports whether a process failed because a port was taken.
func (c *Cluster) portClash() bool {
	for _, p := range []*process{c.etcd, c.apiserver} {
		if p != nil && p.logContains("address already in use") {
			return true
		}
	}
	return false
}

// Stop ends the apiserver and then etcd and waits for both. It runs at
// test cleanup; calling it earlier (to test what a client does when the
// API goes away) is fine, and later calls do nothing.
func (c *Cluster) Stop() {
	c.stopOnce.Do(func() {
		for _, p := range []*process{c.apiserver, c.etcd} {
			if p != nil {
				p.stop()
			}
		}
	})
}

// logTails writes the end of both processes' logs to the test log.
func (c *Cluster) logTails(t testing.TB) {
	t.Helper()
	for _, p := range []*process{c.etcd, c.apiserver} {
		if p != nil {
			t.Logf("end of %s:\n%s", p.logPath, p.logTail(8192))
		}
	}
}

// httpClient returns a client that trusts the cluster CA and presents the
// admin certificate.
func (c *Cluster) httpClient() (*http.Client, error) {
	cert, err := c.clientPEM.tlsCertificate()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.ca.cert)
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs:      pool,
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
		}},
	}, nil
}

// restConfig is the admin client configuration.
func (c *Cluster) restConfig() *rest.Config {
	return &rest.Config{
		Host: c.Host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.CACert,
			CertData: c.clientPEM.certPEM,
			KeyData:  c.clientPEM.keyPEM,
		},
		// No Timeout: it would cut watches, and informers would then
		// re-list.
		QPS:   100,
		Burst: 200,
	}
}

// kubeconfig is the subset of the kubeconfig file format written here.
type kubeconfig struct {
	APIVersion     string          `json:"apiVersion"`
	Kind           string          `json:"kind"`
	Clusters       []namedCluster  `json:"clusters"`
	Users          []namedUser     `json:"users"`
	Contexts       []namedContext  `json:"contexts"`
	CurrentContext string          `json:"current-context"`
	Preferences    json.RawMessage `json:"preferences"`
}

type namedCluster struct {
	Name    string `json:"name"`
	Cluster struct {
		Server                   string `json:"server"`
		CertificateAuthorityData []byte `json:"certificate-authority-data"`
	} `json:"cluster"`
}

type namedUser struct {
	Name string `json:"name"`
	User struct {
		ClientCertificateData []byte   `json:"client-certificate-data"`
		ClientKeyData         []byte   `json:"client-key-data"`
		As                    string   `json:"as,omitempty"`
		AsGroups              []string `json:"as-groups,omitempty"`
	} `json:"user"`
}

type namedContext struct {
	Name    string `json:"name"`
	Context struct {
		Cluster   string `json:"cluster"`
		User      string `json:"user"`
		Namespace string `json:"namespace"`
	} `json:"context"`
}

// writeKubeconfig writes a kubeconfig for the admin certificate, acting as
// user and groups when user is not empty (kubeconfig "as" fields).
func (c *Cluster) writeKubeconfig(path, user string, groups []string) error {
	var cl namedCluster
	cl.Name = "imager-test"
	cl.Cluster.Server = c.Host
	cl.Cluster.CertificateAuthorityData = c.CACert
	var u namedUser
	u.Name = "admin"
	u.User.ClientCertificateData = c.clientPEM.certPEM
	u.User.ClientKeyData = c.clientPEM.keyPEM
	if user != "" {
		u.Name = "as-user"
		u.User.As, u.User.AsGroups = user, groups
	}
	var ctx namedContext
	ctx.Name = "imager-test"
	ctx.Context.Cluster, ctx.Context.User, ctx.Context.Namespace = cl.Name, u.Name, "default"
	data, err := json.MarshalIndent(kubeconfig{
		APIVersion: "v1", Kind: "Config",
		Clusters: []namedCluster{cl}, Users: []namedUser{u}, Contexts: []namedContext{ctx},
		CurrentContext: ctx.Name, Preferences: json.RawMessage("{}"),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago; Start retries if one is taken before a server binds it.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// runContext bounds one helper command such as a kubectl call.
func runContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}
