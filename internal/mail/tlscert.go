package mail

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertificateFiles serves a certificate from PEM files and reads them
// again when they change, so a renewed certificate (certbot, an ACME
// client) is used without a restart.
type CertificateFiles struct {
	certFile, keyFile string

	mu       sync.Mutex
	cert     *tls.Certificate
	modified time.Time // the later modification time of the two files when read
}

// LoadCertificate reads a certificate and its key; an error says which
// file is at fault.
func LoadCertificate(certFile, keyFile string) (*CertificateFiles, error) {
	c := &CertificateFiles{certFile: certFile, keyFile: keyFile}
	if _, err := c.current(); err != nil {
		return nil, err
	}
	return c, nil
}

// TLSConfig is a server configuration that uses the files.
func (c *CertificateFiles) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.current() },
	}
}

func (c *CertificateFiles) current() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var latest time.Time
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			if c.cert != nil {
				return c.cert, nil // being replaced: keep serving the one we have
			}
			return nil, fmt.Errorf("the TLS certificate: %w", err)
		}
		if fi.ModTime().After(latest) {
			latest = fi.ModTime()
		}
	}
	if c.cert != nil && latest.Equal(c.modified) {
		return c.cert, nil
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		if c.cert != nil {
			return c.cert, nil // half-written during a renewal: the next handshake tries again
		}
		return nil, fmt.Errorf("the TLS certificate %s with key %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.modified = &cert, latest
	return c.cert, nil
}
