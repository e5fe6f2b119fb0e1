package connect

import (
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/fly/flyfake"
	"github.com/hotdash/hotdash-console/integrations/hotdash"
)

func TestGA4TokenFileThatCannotBeReadIsReported(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	if err := flyfake.Save(state, flyfake.NewState()); err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(flyfake.AppHandler(state, "hotdash-app"))
	defer app.Close()

	cfg := config.Default()
	tokenFile := filepath.Join(dir, "ga4-token")
	cfg.Services.GA4.PropertyID = "123456789"
	cfg.Services.GA4.TokenFile = tokenFile
	ec := cfg.Environments[0]
	e := &Env{Config: ec, App: ec.App, Client: hotdash.New(app.URL, 5*time.Second), Services: cfg.ServicesFor(&ec)}
	defs := []*integrations.Definition{{ID: "ga4", Source: integrations.SourceSpec{
		Kind: "http", Method: "GET", Path: "/api/analytics/traffic", Field: "source", Live: []string{"ga4"}, Mock: []string{"mock"},
	}}}
	st := &Stack{Config: cfg}
	probes := st.probes(e, Options{Defs: defs, Getenv: func(string) string { return "" }})

	res := probes["ga4"].Check(t.Context())
	if res.Err == nil || !strings.Contains(res.Err.Error(), "GA4 token file: open "+tokenFile) {
		t.Errorf("err = %v, want the token file's own error", res.Err)
	}
	if res.Source != integrations.SourceMock {
		t.Errorf("source = %v: the app's answer is still read", res.Source)
	}
}
