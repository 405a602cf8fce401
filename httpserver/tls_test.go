package httpserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline/httpserver"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key to dir and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "hookline test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func tlsClient(pool *x509.CertPool, maxVersion uint16) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: maxVersion}}}
}

// With a certificate the server speaks HTTPS only, at TLS 1.2 or later.
func TestTLSFromFiles(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	r := newRig(t, rigOptions{})
	srv, err := httpserver.New(r.webhook, r.pipe, &httpserver.Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	s := serveOn(t, srv, "https")
	c := tlsClient(pool, 0)
	if st, err := r.post(c, s.base+"/webhook", "cus_tls", nil); err != nil || st != 200 {
		t.Fatalf("webhook over TLS answered %d, %v", st, err)
	}
	resp, err := c.Get(s.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("connection state %+v", resp.TLS)
	}
	if _, err := tlsClient(pool, tls.VersionTLS11).Get(s.base + "/healthz"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	// Plain HTTP on the TLS port is refused (net/http answers 400), never served.
	if st, _ := get(t, client, "http"+s.base[len("https"):]+"/healthz"); st != http.StatusBadRequest {
		t.Fatalf("plain HTTP on the TLS port answered %d", st)
	}
}

// A TLSConfig that allows TLS 1.0 is raised to TLS 1.2.
func TestTLSConfigMinVersionRaised(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, rigOptions{})
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10}
	srv, err := httpserver.New(r.webhook, r.pipe, &httpserver.Options{TLSConfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	s := serveOn(t, srv, "https")
	if st, _ := get(t, tlsClient(pool, 0), s.base+"/readyz"); st != 200 {
		t.Fatalf("/readyz over TLS = %d", st)
	}
	if _, err := tlsClient(pool, tls.VersionTLS11).Get(s.base + "/healthz"); err == nil {
		t.Fatal("a TLS 1.1 client was served")
	}
	if cfg.MinVersion != tls.VersionTLS10 {
		t.Error("the caller's TLSConfig was modified")
	}
}
