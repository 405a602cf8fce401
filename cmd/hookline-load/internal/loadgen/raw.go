package loadgen

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawConn is a minimal HTTP/1.1 keep-alive client for one connection, like wrk's: it writes a
// prepared request and parses only the status line and Content-Length of the answer. net/http's
// client costs the load generator more CPU than the server it measures spends, and on two cores
// the two compete; this one leaves the CPU to the server.
type rawConn struct {
	conn   net.Conn
	r      *bufio.Reader
	req    []byte
	head   []byte // request line and fixed headers, up to the signature value
	mac    hash.Hash
	secret string
	sig    []byte
}

func dialRaw(target, secret string) (*rawConn, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	head := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json; charset=utf-8\r\nStripe-Signature: ", u.RequestURI(), u.Host)
	return &rawConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), head: head,
		mac: hmac.New(sha256.New, []byte(secret)), secret: secret}, nil
}

// post sends body signed as Stripe signs (t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<body>")))
// and returns the response status.
func (c *rawConn) post(body []byte, now time.Time) (int, error) {
	ts := strconv.AppendInt(nil, now.Unix(), 10)
	c.mac.Reset()
	c.mac.Write(ts)
	c.mac.Write([]byte{'.'})
	c.mac.Write(body)
	c.sig = c.mac.Sum(c.sig[:0])
	req := append(c.req[:0], c.head...)
	req = append(req, "t="...)
	req = append(req, ts...)
	req = append(req, ",v1="...)
	req = hex.AppendEncode(req, c.sig)
	req = append(req, "\r\nContent-Length: "...)
	req = strconv.AppendInt(req, int64(len(body)), 10)
	req = append(req, "\r\n\r\n"...)
	req = append(req, body...)
	c.req = req
	if _, err := c.conn.Write(req); err != nil {
		return 0, err
	}
	return c.readResponse()
}

var errBadResponse = errors.New("malformed HTTP response")

func (c *rawConn) readResponse() (int, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, errBadResponse
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errBadResponse
	}
	length := -1
	for {
		line, err = c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		const cl = "content-length:"
		if len(line) > len(cl) && bytes.EqualFold(line[:len(cl)], []byte(cl)) {
			length, err = strconv.Atoi(string(bytes.TrimSpace(line[len(cl):])))
			if err != nil {
				return 0, errBadResponse
			}
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	_, err = c.r.Discard(length)
	return status, err
}

func (c *rawConn) close() error { return c.conn.Close() }
