// Package redact keeps secrets that arrive in URLs (a database password, a token in a query
// parameter) out of error messages and logs.
package redact

import (
	"net/url"
	"strings"
)

// Mask replaces a secret in text.
const Mask = "xxxxx"

// secretParam reports whether a query parameter named name holds a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "password") || strings.Contains(n, "secret") || strings.Contains(n, "token")
}

// URL returns u as text with its password and the values of secret-looking query parameters
// ("password", "sslpassword", "...secret...", "...token...") replaced by [Mask].
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = Mask
		} else {
			for k, vs := range q {
				if secretParam(k) {
					for i := range vs {
						vs[i] = Mask
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.Redacted()
}

// Secrets returns the secrets u carries: its password and the values of secret-looking query
// parameters, each as written in the URL and percent-decoded.
func Secrets(u *url.URL) []string {
	if u == nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
	}
	if p, ok := u.User.Password(); ok {
		add(p)
	}
	if q, err := url.ParseQuery(u.RawQuery); err == nil {
		for k, vs := range q {
			if secretParam(k) {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	return out
}

// Text returns s with every occurrence of each secret replaced by [Mask].
func Text(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

// Error returns err itself when its message contains none of secrets; otherwise an error with the
// secrets masked in its message that still unwraps to err, so errors.Is and errors.As (and the
// classification of hookline.Code) keep working.
func Error(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := Text(msg, secrets); clean != msg {
		return &masked{msg: clean, err: err}
	}
	return err
}

type masked struct {
	msg string
	err error
}

func (m *masked) Error() string { return m.msg }
func (m *masked) Unwrap() error { return m.err }

// String is [URL] for a URL in text form; text that does not parse as a URL is not echoed.
func String(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return URL(u)
}
