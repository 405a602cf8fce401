package dataverse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/dataverse"
)

func TestOpenThroughRegistryWithEveryParameter(t *testing.T) {
	srv := newDouble(t)
	t.Setenv(dataverse.EnvToken, testTok)
	u := "dataverse://" + orgHost + "?key=" + keyCol + "&eventtime=" + timeCol + "&eventid=" + idCol +
		"&entityset=contacts&mode=upsert&delete=hard&concurrency=4&batch=10&bypass=sync,flows&endpoint=" + srv.URL()
	s, err := sink.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds := s.(*dataverse.Sink)
	mustWrite(t, ds, customer("cus_u", "customer.created", "evt_1", 0, `{"email":"a@example.com"}`))
	if c := ds.Concurrency(); c != 4 {
		t.Errorf("concurrency %d, want 4", c)
	}
	mustWrite(t, ds, customer("cus_u", "customer.deleted", "evt_2", 1, `{}`))
	if _, ok := srv.Row(contacts, "cus_u"); ok {
		t.Fatal("delete=hard did not delete the row")
	}
}

func TestOpenCreateOnlyFromURL(t *testing.T) {
	srv := newDouble(t)
	s, err := dataverse.Open(context.Background(), "dataverse://"+orgHost+"?key="+keyCol+"&eventtime="+timeCol+
		"&mode=createonly&endpoint="+srv.URL(), &dataverse.Options{Token: testTok})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustWrite(t, s, customer("cus_c", "customer.created", "evt_1", 0, `{}`))
	mustWrite(t, s, customer("cus_c", "customer.updated", "evt_2", 1, `{}`))
	if got := srv.Requests(); got["GET"] != 0 {
		t.Errorf("mode=createonly made %d GETs", got["GET"])
	}
}

func TestOpenErrors(t *testing.T) {
	t.Setenv(dataverse.EnvToken, testTok)
	base := "dataverse://" + orgHost + "?key=" + keyCol + "&eventtime=" + timeCol
	cases := []struct{ url, want string }{
		{base + "&colour=blue", `unknown URL parameter "colour"`},
		{"dataverse://" + orgHost + "?eventtime=x", "key column"},
		{"dataverse://" + orgHost + "?key=x", "event-time column"},
		{base + "&mode=merge", "mode="},
		{base + "&delete=soft", "delete="},
		{base + "&concurrency=53", "out of range"},
		{base + "&concurrency=x", "whole number"},
		{base + "&key=bad-name", "given 2 times"},
		{"dataverse://" + orgHost + "?key=bad-name&eventtime=b", "logical name"},
		{base + "&entityset=a(b)", "logical name"},
		{base + "&endpoint=http://example.com", "loopback"},
		{base + "&endpoint=http://10.0.0.1:8080", "loopback"},
		{base + "&endpoint=ftp://127.0.0.1", "scheme"},
		{base + "&endpoint=https://host/?a=b", "base URL"},
		{"dataverse:///path?key=a&eventtime=b", "dataverse://<org host>"},
		{"dataverse://user:pw@" + orgHost + "?key=a&eventtime=b", "dataverse://<org host>"},
	}
	for _, c := range cases {
		_, err := sink.Open(context.Background(), c.url)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), testTok) {
			t.Errorf("Open(%s): error contains the token", c.url)
		}
	}
}

func TestLoopbackEndpointsAllowed(t *testing.T) {
	t.Setenv(dataverse.EnvToken, testTok)
	for _, ep := range []string{"http://127.0.0.1:9", "http://127.1.2.3", "http://[::1]:9", "http://localhost:9/x/",
		"https://proxy.example.com/dv"} {
		s, err := sink.Open(context.Background(), "dataverse://"+orgHost+"?key=a&eventtime=b&endpoint="+ep)
		if err != nil {
			t.Errorf("endpoint %s: %v", ep, err)
			continue
		}
		s.Close()
	}
}
