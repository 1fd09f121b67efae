package outbound

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHTTP2WhenTheServerOffersIt(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	c := New(Config{AllowPrivateNetworks: true})
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c.transport.TLSClientConfig.RootCAs = roots

	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		t.Fatalf("protocol %s, server saw %s", resp.Proto, body)
	}
}

func TestTransportIgnoresEnvironmentProxy(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
	t.Setenv("HTTP_PROXY", "http://proxy.invalid:3128")
	c := New(Config{})
	if c.transport.Proxy != nil {
		t.Fatal("the transport uses a proxy")
	}
	if c.transport.MaxIdleConnsPerHost < 100 || c.transport.DialContext == nil {
		t.Fatalf("transport = %+v", c.transport)
	}
}
