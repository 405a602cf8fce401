package httpserver

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// tlsConfig returns the TLS configuration the options ask for, or nil for plain HTTP.
func tlsConfig(o *Options) (*tls.Config, error) {
	if o.TLSConfig == nil && o.CertFile == "" && o.KeyFile == "" {
		return nil, nil
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return nil, errors.New("httpserver: CertFile and KeyFile must be set together")
	}
	cfg := &tls.Config{}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			// The error names the files, never their contents.
			return nil, fmt.Errorf("httpserver: load certificate: %w", err)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, errors.New("httpserver: TLSConfig has no certificate (set Certificates or GetCertificate, or CertFile and KeyFile)")
	}
	return cfg, nil
}
