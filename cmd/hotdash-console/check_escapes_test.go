package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotdash/hotdash-console/integrations/fly/flyfake"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
)

// hostileServices answers every call of the app, Chatwoot and Publer with
// escape sequences in each text field it has.
func hostileServices(t *testing.T) string {
	esc := testkit.Escapes
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/analytics/idea-pool":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(esc + "\n<html>stack trace</html>"))
		case "/api/analytics/traffic":
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "source": esc, "warning": esc})
		case "/api":
			testkit.WriteJSON(w, http.StatusOK, map[string]any{"version": esc, "queue_services": esc, "data_services": "ok"})
		case "/publer/accounts":
			testkit.WriteJSON(w, http.StatusUnauthorized, map[string]any{"errors": []string{esc, esc}})
		default:
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(esc))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestCheckPrintsWhatServicesSayInert runs check (table and JSON) against
// services that answer with escape sequences: a window title, a screen
// clear, colours and a fake green "OK all good".
func TestCheckPrintsWhatServicesSayInert(t *testing.T) {
	dir, fly, state := fakeFly(t)
	_ = flyfake.Save(state, flyfake.NewState())
	url := hostileServices(t)
	cfg := filepath.Join(dir, "hotdash.toml")
	_ = os.WriteFile(cfg, []byte("platform = \"flyctl\"\n[fly]\nbinary = \""+fly+"\"\n[[environment]]\nname = \"production\"\napp = \"hotdash-app\"\nurl = \""+url+"\"\nproduction = true\n"+
		"[chatwoot]\nurl = \""+url+"\"\n[publer]\nurl = \""+url+"/publer\"\n"), 0o600)
	t.Setenv(flyfake.StateEnv, state)
	t.Setenv("FLY_ACCESS_TOKEN", "fo1_test")

	for _, asJSON := range []bool{false, true} {
		c, out, _ := checkCLI(t)
		c.getenv = func(k string) string {
			return map[string]string{"XDG_STATE_HOME": dir, "PUBLER_API_KEY": "pub_key_for_tests", "PUBLER_WORKSPACE_ID": "ws1",
				"CHATWOOT_API_KEY": "cw_token_for_tests", "CHATWOOT_ACCOUNT_ID": "1"}[k]
		}
		args := []string{"check", "--config", cfg, "--journal", filepath.Join(dir, "journal.jsonl"), "--history", filepath.Join(dir, "h.jsonl")}
		if asJSON {
			args = append(args, "--json")
		}
		err := c.run(context.Background(), args)
		if exitCode(err) != 1 {
			t.Fatalf("json %v: %v\n%s", asJSON, err, out)
		}
		testkit.AssertInert(t, "exit message", err.Error())
		testkit.AssertInert(t, "output", out.String())
		text := out.String()
		if asJSON {
			var r runbook.CheckResult
			if err := json.Unmarshal([]byte(text), &r); err != nil {
				t.Fatal(err)
			}
			text = ""
			for _, ic := range r.Integrations {
				for _, p := range ic.Problems {
					testkit.AssertInert(t, ic.Name+" problem", p)
					text += p + "\n"
				}
			}
		}
		for _, want := range []string{"HTTP 500 Internal Server Error: OK all good <html>", "queue_services=OK all good", "Publer rejected the API key (401 OK all good; OK all good)"} {
			if !strings.Contains(text, want) {
				t.Errorf("json %v: %q is not quoted:\n%s", asJSON, want, text)
			}
		}
	}
	h, _ := runbook.ReadHistory(filepath.Join(dir, "h.jsonl"))
	if len(h.Checks) != 2 {
		t.Fatalf("history: %d checks", len(h.Checks))
	}
	data, _ := os.ReadFile(filepath.Join(dir, "h.jsonl"))
	if strings.Contains(string(data), `\u001b`) {
		t.Errorf("the history holds escapes")
	}
}
