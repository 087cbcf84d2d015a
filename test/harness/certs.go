package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The names the API server's certificate is valid for beside its IPs: the
// kubernetes Service's names, which in-cluster clients may use.
var servingNames = []string{
	"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
}

// writeAPIServerCerts writes into certDir the files envtest would otherwise
// generate (it leaves a directory that has them alone): a serving
// certificate valid for 127.0.0.1, the kubernetes Service's IP and the
// in-cluster names (envtest's names 127.0.0.1 and localhost only, so a pod
// could not verify it), and the ServiceAccount token signing key pair.
// It returns the serving CA's certificate (PEM).
func writeAPIServerCerts(certDir string, serviceIP net.IP) ([]byte, error) {
	caKey, caCert, caPEM, err := newCA("kubectl-flows-harness-ca")
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := certTemplate("kube-apiserver")
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.DNSNames = servingNames
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), serviceIP}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	if err := writePEMPair(certDir, "apiserver", der, key); err != nil {
		return nil, err
	}
	// The token signer: a key pair whose certificate the API server reads
	// the public key from (envtest's file names).
	saKey, saCert, _, err := newCA("kubectl-flows-harness-sa-signer")
	if err != nil {
		return nil, err
	}
	if err := writePEMPair(certDir, "sa-signer", saCert.Raw, saKey); err != nil {
		return nil, err
	}
	return caPEM, nil
}

func certTemplate(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
	}
}

// WriteSelfSignedPair writes dir/NAME.crt and dir/NAME.key: a self-signed
// certificate for cn, for a server that must be handed one to start but is
// never called over it (Kueue's manager with its webhooks unregistered).
func WriteSelfSignedPair(dir, name, cn string) error {
	key, cert, _, err := newCA(cn)
	if err != nil {
		return err
	}
	return writePEMPair(dir, name, cert.Raw, key)
}

// newCA makes a self-signed CA.
func newCA(cn string) (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := certTemplate(cn)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// writePEMPair writes NAME.crt and NAME.key.
func writePEMPair(dir, name string, certDER []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER}), 0o640); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
}
