package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// certLifetime is how long the generated certificates are valid; a test
// cluster lives for minutes.
const certLifetime = 24 * time.Hour

// authority is a certificate authority that can issue certificates.
type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// keyPair is an issued certificate and its key, PEM encoded.
type keyPair struct {
	certPEM, keyPEM []byte
}

// newAuthority creates a self-signed CA.
func newAuthority(name string) (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", name, err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(certLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("self-sign %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return &authority{cert: cert, key: key, certPEM: pemBlock("CERTIFICATE", der)}, nil
}

// certSpec says what an issued certificate is for.
type certSpec struct {
	commonName   string
	organization []string
	dnsNames     []string
	ips          []net.IP
	server       bool // server auth, else client auth
}

// issue signs a new certificate for spec.
func (a *authority) issue(spec certSpec) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate key for %s: %w", spec.commonName, err)
	}
	serial, err := newSerial()
	if err != nil {
		return keyPair{}, err
	}
	usage := x509.ExtKeyUsageClientAuth
	if spec.server {
		usage = x509.ExtKeyUsageServerAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: spec.commonName, Organization: spec.organization},
		DNSNames:     spec.dnsNames,
		IPAddresses:  spec.ips,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return keyPair{}, fmt.Errorf("sign %s: %w", spec.commonName, err)
	}
	keyPEM, err := privateKeyPEM(key)
	if err != nil {
		return keyPair{}, err
	}
	return keyPair{certPEM: pemBlock("CERTIFICATE", der), keyPEM: keyPEM}, nil
}

// tlsCertificate converts kp for use by a crypto/tls server or client.
func (kp keyPair) tlsCertificate() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(kp.certPEM, kp.keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load key pair: %w", err)
	}
	return c, nil
}

// write stores kp as dir/name.crt and dir/name.key and returns both paths.
func (kp keyPair) write(dir, name string) (certFile, keyFile string, err error) {
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, kp.certPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", certFile, err)
	}
	if err := os.WriteFile(keyFile, kp.keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", keyFile, err)
	}
	return certFile, keyFile, nil
}

// writeServiceAccountKeys writes a fresh signing key for service account
// tokens and its public half, returning both paths.
func writeServiceAccountKeys(dir string) (keyFile, pubFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate service account key: %w", err)
	}
	keyPEM, err := privateKeyPEM(key)
	if err != nil {
		return "", "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", "", fmt.Errorf("marshal service account public key: %w", err)
	}
	keyFile = filepath.Join(dir, "sa.key")
	pubFile = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", keyFile, err)
	}
	if err := os.WriteFile(pubFile, pemBlock("PUBLIC KEY", pubDER), 0o600); err != nil {
		return "", "", fmt.Errorf("write %s: %w", pubFile, err)
	}
	return keyFile, pubFile, nil
}

// privateKeyPEM encodes key as a PKCS#8 PEM block.
func privateKeyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pemBlock("PRIVATE KEY", der), nil
}

// pemBlock encodes der as one PEM block of the given type.
func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// newSerial returns a random 128-bit certificate serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return n, nil
}

// clusterPKI is the set of keys and certificates a test cluster uses, and
// the files the apiserver reads them from.
type clusterPKI struct {
	ca               *authority
	admin            keyPair
	caFile           string
	servingCert      string
	servingKey       string
	frontProxyCAFile string
	proxyCert        string
	proxyKey         string
	saKey            string
	saPub            string
}

// newClusterPKI generates the cluster's CA, serving and client
// certificates, the front-proxy CA and client for API aggregation, and the
// service account signing key, writing the files into dir.
func newClusterPKI(dir string) (*clusterPKI, error) {
	p := &clusterPKI{caFile: filepath.Join(dir, "ca.crt"), frontProxyCAFile: filepath.Join(dir, "front-proxy-ca.crt")}
	var err error
	if p.ca, err = newAuthority("imager-test-ca"); err != nil {
		return nil, err
	}
	serving, err := p.ca.issue(certSpec{
		commonName: "kube-apiserver",
		dnsNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		ips:    []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(10, 96, 0, 1)},
		server: true,
	})
	if err != nil {
		return nil, err
	}
	if p.admin, err = p.ca.issue(certSpec{commonName: AdminUser, organization: []string{"system:masters"}}); err != nil {
		return nil, err
	}
	frontCA, err := newAuthority("imager-test-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	proxy, err := frontCA.issue(certSpec{commonName: FrontProxyClient})
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.caFile, p.ca.certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write CA: %w", err)
	}
	if err := os.WriteFile(p.frontProxyCAFile, frontCA.certPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write front-proxy CA: %w", err)
	}
	if p.servingCert, p.servingKey, err = serving.write(dir, "apiserver"); err != nil {
		return nil, err
	}
	if p.proxyCert, p.proxyKey, err = proxy.write(dir, "front-proxy-client"); err != nil {
		return nil, err
	}
	if p.saKey, p.saPub, err = writeServiceAccountKeys(dir); err != nil {
		return nil, err
	}
	return p, nil
}
