// Package redact keeps secrets that arrive in URLs (a database password, a token in a query
// parameter, a password in a URL nested in another's query, such as dataverse://...?endpoint=
// http://user:pw@host) out of error messages, logs and pages.
//
// [Text] is the one helper every output path uses: it masks the secrets it is given and the
// password of every URL written in the text, nested or not. [URL] and [String] show a URL
// masked; [Secrets] lists what a URL carries, so that an error quoting part of it (a driver's
// message) can be masked too.
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

// maxDepth bounds how deep URLs nested in query parameters are looked into.
const maxDepth = 4

// URL returns u as text with its password, the values of secret-looking query parameters
// ("password", "sslpassword", "...secret...", "...token...") and the passwords and secret
// parameters of URLs nested in its query parameters replaced by [Mask].
func URL(u *url.URL) string { return maskURL(u, 0) }

func maskURL(u *url.URL, depth int) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = Mask
		} else {
			changed := false
			for k, vs := range q {
				for i, v := range vs {
					if m := maskValue(k, v, depth); m != v {
						vs[i], changed = m, true
					}
				}
			}
			if changed {
				c.RawQuery = q.Encode()
			}
		}
	}
	return c.Redacted()
}

// maskValue masks a query parameter's value: all of it when the name says it is a secret, the
// secrets of the URL it holds when it holds one.
func maskValue(name, v string, depth int) string {
	if secretParam(name) {
		return Mask
	}
	if depth < maxDepth && strings.Contains(v, "://") {
		if n, err := url.Parse(v); err == nil {
			return maskURL(n, depth+1)
		}
	}
	return v
}

// Secrets returns the secrets u carries: its password, the values of secret-looking query
// parameters, and the same of URLs nested in its query parameters, each as written in the URL
// and percent-encoded.
func Secrets(u *url.URL) []string {
	var out []string
	collect(u, 0, &out)
	return out
}

func collect(u *url.URL, depth int, out *[]string) {
	if u == nil {
		return
	}
	add := func(s string) {
		if s != "" {
			*out = append(*out, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	if p, ok := u.User.Password(); ok {
		add(p)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return
	}
	for k, vs := range q {
		for _, v := range vs {
			switch {
			case secretParam(k):
				add(v)
			case depth < maxDepth && strings.Contains(v, "://"):
				if n, err := url.Parse(v); err == nil {
					collect(n, depth+1, out)
				}
			}
		}
	}
}

// Text returns s with every occurrence of each of secrets replaced by [Mask], and with the
// secrets of every URL written in s masked: the password of its user info (nested URLs too,
// written plainly or percent-encoded in a query parameter) and its secret-looking query
// parameters. Every error, log line and page that may quote a URL goes through it.
func Text(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	if !strings.Contains(s, "://") {
		return s
	}
	var found []string
	for _, raw := range urlsIn(s) {
		if u, err := url.Parse(raw); err == nil {
			found = append(found, Secrets(u)...)
		}
	}
	for _, sec := range found {
		if sec != "" && sec != Mask {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return maskUserInfo(s)
}

// urlsIn returns the URLs written in s: from a scheme before each "://" to the first space,
// quote or angle bracket, without trailing punctuation.
func urlsIn(s string) []string {
	var out []string
	for rest := s; ; {
		i := strings.Index(rest, "://")
		if i < 0 {
			return out
		}
		start := i
		for start > 0 && isSchemeChar(rest[start-1]) {
			start--
		}
		end := i + 3
		for end < len(rest) && !isURLEnd(rest[end]) {
			end++
		}
		if start < i {
			out = append(out, strings.TrimRight(rest[start:end], ".,;:)"))
		}
		rest = rest[i+3:]
	}
}

func isSchemeChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '-' || b == '.'
}

func isURLEnd(b byte) bool {
	return b <= ' ' || b == '"' || b == '\'' || b == '`' || b == '<' || b == '>'
}

// maskUserInfo masks the password of every "scheme://user:password@host" in s, nested URLs
// included, as written (whatever characters the password holds up to the host's "@").
func maskUserInfo(s string) string {
	var b strings.Builder
	last := 0
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		authStart := from + i + 3
		authEnd := authStart
		for authEnd < len(s) && !isURLEnd(s[authEnd]) && !strings.ContainsRune("/?#", rune(s[authEnd])) {
			authEnd++
		}
		auth := s[authStart:authEnd]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			if colon := strings.IndexByte(auth[:at], ':'); colon >= 0 && auth[colon+1:at] != Mask {
				b.WriteString(s[last : authStart+colon+1])
				b.WriteString(Mask)
				last = authStart + at
			}
		}
		from = authStart
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Error returns err itself when [Text] finds nothing to mask in its message; otherwise an error
// with the message masked that still unwraps to err, so errors.Is and errors.As (and the
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

// String is [URL] for a URL in text form, and raw itself when it carries no secret (so that
// discard:// stays discard://); text that does not parse as a URL is not echoed.
func String(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, hasPassword := u.User.Password(); !hasPassword && len(Secrets(u)) == 0 {
		return raw
	}
	return URL(u)
}

// SecretsOf is [Secrets] for URLs in text form, skipping the empty and the unparsable.
func SecretsOf(raws ...string) []string {
	var out []string
	for _, raw := range raws {
		if raw == "" {
			continue
		}
		if u, err := url.Parse(raw); err == nil {
			out = append(out, Secrets(u)...)
		}
	}
	return out
}

// Env returns the secrets that the variables names hold in getenv: for a URL, what [Secrets]
// finds in it; for an Azure connection string, its SharedAccessKey; for anything else (a
// webhook secret, an API key, a token), the value itself and, for a comma-separated list, each
// of its items.
func Env(getenv func(string) string, names ...string) []string {
	var out []string
	for _, name := range names {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		if _, key, ok := strings.Cut(v, "SharedAccessKey="); ok {
			key, _, _ = strings.Cut(key, ";")
			out = append(out, key)
			continue
		}
		if u, err := url.Parse(v); err == nil && u.Scheme != "" && strings.Contains(v, "://") {
			out = append(out, Secrets(u)...)
			continue
		}
		out = append(out, v)
		if strings.Contains(v, ",") {
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					out = append(out, item)
				}
			}
		}
	}
	return out
}
