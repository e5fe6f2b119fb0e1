package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

type ideaResult struct {
	source       string
	warning      string
	failed       string // upstream failure, when the fallback was forced
	missingCreds bool   // the fallback is for want of credentials: a warning
	items        int
	ms           int
}

// ideaPoolLocked is the app's idea-pool logic on machine m.
func (e *Env) ideaPoolLocked(a *app, m *machine) ideaResult {
	r := ideaResult{source: "mock", items: 12, ms: 3 + e.rng.IntN(10)}
	switch {
	case !integrations.IsTrue(m.env[FlagSupabase]):
		r.warning = "Supabase disabled (IDEA_POOL_SUPABASE_ENABLED not true): mock data"
	case m.env["SUPABASE_URL"] == "" || m.env["SUPABASE_SERVICE_KEY"] == "":
		r.warning = "Supabase credentials missing (SUPABASE_URL, SUPABASE_SERVICE_KEY): mock data"
		r.missingCreds = true
	case e.faults.CredentialsRevoked || m.env["SUPABASE_SERVICE_KEY"] != e.supabaseKey:
		r.warning = "Supabase rejected the credentials (401 Invalid API key): mock data"
		r.failed = "401 Invalid API key"
	case !e.migration:
		r.warning = "idea_pool table missing (migration not applied): mock data"
		r.failed = `relation "public.idea_pool" does not exist (PGRST205)`
	case e.faults.ErrorRate > 0 && e.rng.Float64() < e.faults.ErrorRate:
		r.warning = "Supabase query failed (503 Service Unavailable): mock data"
		r.failed = "503 Service Unavailable"
	default:
		r.source, r.items, r.ms = "supabase", 18+e.rng.IntN(20), 40+e.rng.IntN(90)
	}
	return r
}

func (e *Env) logIdeaPoolLocked(a *app, m *machine, at time.Time, r ideaResult) {
	switch {
	case r.failed != "":
		e.logAtLocked(a, m, at, fmt.Sprintf("[error]idea-pool: Supabase query failed: %s; falling back to mock", r.failed))
	case r.source == "supabase":
		e.logAtLocked(a, m, at, fmt.Sprintf("idea-pool: served %d ideas from supabase in %dms", r.items, r.ms))
	case r.missingCreds:
		e.logAtLocked(a, m, at, "[warn]idea-pool: "+r.warning)
	default:
		e.logAtLocked(a, m, at, fmt.Sprintf("idea-pool: served %d mock ideas (%s)", r.items, r.warning))
	}
}

type trafficResult struct {
	source   string
	warning  string
	failed   string
	sessions int
}

func (e *Env) trafficLocked(m *machine) trafficResult {
	r := trafficResult{source: "mock", sessions: 1000 + e.rng.IntN(400)}
	switch {
	case !integrations.IsTrue(m.env[FlagGA4]):
		r.warning = "GA4 disabled (ANALYTICS_REAL_DATA not true): mock data"
	case e.faults.ErrorRate > 0 && e.rng.Float64() < e.faults.ErrorRate:
		r.warning = "GA4 runReport failed (429 RESOURCE_EXHAUSTED): mock data"
		r.failed = "429 RESOURCE_EXHAUSTED"
	default:
		r.source = "ga4"
	}
	return r
}

func (e *Env) logTrafficLocked(a *app, m *machine, at time.Time, r trafficResult) {
	switch {
	case r.failed != "":
		e.logAtLocked(a, m, at, "[error]analytics/ga4: runReport failed: "+r.failed+"; falling back to mock")
	case r.source == "ga4":
		e.logAtLocked(a, m, at, fmt.Sprintf("analytics/ga4: runReport 7daysAgo..yesterday: %d sessions (%dms)", r.sessions, 120+e.rng.IntN(200)))
	default:
		e.logAtLocked(a, m, at, "analytics/ga4: traffic served from mock ("+r.warning+")")
	}
}

// postLocked is the app's POST /api/social/post, made at the given time.
func (e *Env) postLocked(a *app, m *machine, at time.Time, text string) (jobID, warning string) {
	a.jobSeq++
	live := integrations.IsTrue(m.env[FlagPubler]) && m.env["PUBLER_API_KEY"] != "" && m.env["PUBLER_WORKSPACE_ID"] != ""
	if live && (e.faults.Publer401 || e.faults.CredentialsRevoked || e.publerWorkspaceLocked(m.env["PUBLER_API_KEY"], m.env["PUBLER_WORKSPACE_ID"]) == "") {
		e.logAtLocked(a, m, at, "[error]publer-adapter: POST /posts/schedule upstream=publer status=401 (Unauthorized: check PUBLER_API_KEY); falling back to mock adapter")
		live = false
		warning = "Publer API 401 Unauthorized: mock job"
	}
	if !live {
		jobID = fmt.Sprintf("mock-job-%d-%d", a.jobSeq, at.UnixMilli())
		a.jobs[jobID] = &job{id: jobID, created: at}
		e.logAtLocked(a, m, at, fmt.Sprintf("publer: mock job %s accepted (%d chars)", jobID, len(text)))
		return jobID, warning
	}
	jobID = "real-job-" + e.hex(12)
	j := &job{id: jobID, real: true, created: at}
	if e.faults.ErrorRate > 0 && e.rng.Float64() < e.faults.ErrorRate*3 {
		j.fail = "Publer answered 502 Bad Gateway"
	}
	a.jobs[jobID] = j
	ws := m.env["PUBLER_WORKSPACE_ID"]
	if len(ws) > 4 {
		ws = ws[:4] + "…"
	}
	e.logAtLocked(a, m, at, fmt.Sprintf("publer-adapter: POST /posts/schedule upstream=publer status=202 job=%s outcome=scheduled workspace=%s", jobID, ws))
	return jobID, ""
}

// jobStatusLocked is what Publer's job_status says now.
func (e *Env) jobStatusLocked(j *job) (status string, failures map[string]string) {
	if !j.real {
		return "complete", map[string]string{}
	}
	if e.now().Sub(j.created) < e.o.JobTime {
		return "working", map[string]string{}
	}
	if j.fail != "" {
		return "failed", map[string]string{"twitter": j.fail}
	}
	return "complete", map[string]string{}
}

// progressJobsLocked logs jobs finishing by now and forgets old ones.
func (e *Env) progressJobsLocked(a *app, now time.Time) {
	for id, j := range a.jobs {
		age := now.Sub(j.created)
		if j.real && !j.logged && age >= e.o.JobTime {
			j.logged = true
			took := int(age.Seconds())
			if j.fail != "" {
				e.logAtLocked(a, nil, now, fmt.Sprintf("[error]publer: job %s failed (%s) job=%s outcome=failed took=%ds", id, j.fail, id, took))
			} else {
				e.logAtLocked(a, nil, now, fmt.Sprintf("publer: job %s complete job=%s outcome=complete took=%ds", id, id, took))
			}
		}
		if age > 10*time.Minute {
			delete(a.jobs, id)
		}
	}
}

// faulty applies the latency, timeout and 5xx faults to a handler.
func (e *Env) faulty(h http.HandlerFunc, serverErrors bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		f := e.faults
		slow := f.Latency > 0 && (f.SlowRate == 0 || e.rng.Float64() < f.SlowRate)
		fail := serverErrors && f.ServerErrors > 0 && e.rng.Float64() < f.ServerErrors
		e.mu.Unlock()
		if f.Timeouts {
			<-r.Context().Done()
			return
		}
		if slow {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(f.Latency):
			}
		}
		if fail {
			http.Error(w, "upstream connect error or disconnect/reset before headers", http.StatusBadGateway)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// appHandler serves the HotDash app's endpoints the guide calls.
func (e *Env) appHandler(appName string) http.Handler {
	mux := http.NewServeMux()
	// serve runs f on the machine the proxy picks, or answers 503.
	serve := func(w http.ResponseWriter, f func(a *app, m *machine)) {
		e.mu.Lock()
		defer e.mu.Unlock()
		a := e.apps[appName]
		m := e.pickLocked(a)
		if m == nil {
			http.Error(w, "no started machines to serve the request (all are restarting)", http.StatusServiceUnavailable)
			return
		}
		f(a, m)
	}
	mux.HandleFunc("GET /api/analytics/idea-pool", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		serve(w, func(a *app, m *machine) {
			res := e.ideaPoolLocked(a, m)
			e.logLocked(a, m, fmt.Sprintf("GET /api/analytics/idea-pool 200 source=%s", res.source))
			e.logIdeaPoolLocked(a, m, e.now(), res)
			body := map[string]any{
				"success": true,
				"source":  res.source,
				"data": map[string]any{
					"items":  ideaItems(res.items, res.source),
					"totals": map[string]int{"ideas": res.items, "approved": res.items / 3},
				},
				"timestamp": e.now().UTC().Format(time.RFC3339),
			}
			if res.warning != "" {
				body["warning"] = res.warning
			}
			writeJSON(w, http.StatusOK, body)
		})
	}, true))
	mux.HandleFunc("POST /api/social/post", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Text       string   `json:"text"`
			AccountIDs []string `json:"accountIds"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Text == "" || len(req.AccountIDs) == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"ok": false, "error": "text and accountIds are required"})
			return
		}
		serve(w, func(a *app, m *machine) {
			id, warning := e.postLocked(a, m, e.now(), req.Text)
			e.logLocked(a, m, "POST /api/social/post 200 jobId="+id)
			body := map[string]any{"ok": true, "jobId": id}
			if warning != "" {
				body["warning"] = warning
			}
			writeJSON(w, http.StatusOK, body)
		})
	}, true))
	mux.HandleFunc("GET /api/social/status/{id}", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		serve(w, func(a *app, m *machine) {
			j := a.jobs[id]
			if j == nil {
				e.logLocked(a, m, "GET /api/social/status/"+id+" 404")
				writeJSON(w, http.StatusNotFound, map[string]any{"ok": false, "error": "job not found"})
				return
			}
			st, failures := e.jobStatusLocked(j)
			e.logLocked(a, m, "publer: GET /api/social/status/"+id+" 200 job_status="+st)
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "status": map[string]any{"status": st, "payload": map[string]any{"failures": failures}}})
		})
	}, true))
	mux.HandleFunc("GET /api/analytics/traffic", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		serve(w, func(a *app, m *machine) {
			res := e.trafficLocked(m)
			e.logTrafficLocked(a, m, e.now(), res)
			body := map[string]any{"success": true, "source": res.source, "data": map[string]any{"sessions": res.sessions}, "timestamp": e.now().UTC().Format(time.RFC3339)}
			if res.warning != "" {
				body["warning"] = res.warning
			}
			writeJSON(w, http.StatusOK, body)
		})
	}, true))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		serve(w, func(*app, *machine) { writeJSON(w, http.StatusOK, map[string]any{"ok": true}) })
	})
	return mux
}

func ideaItems(n int, source string) []map[string]any {
	titles := []string{"Holiday gift guide", "Snowboard care tips", "Customer spotlight", "Behind the workshop", "Restock countdown"}
	items := make([]map[string]any, 0, min(n, 5))
	for i := range min(n, 5) {
		items = append(items, map[string]any{"id": fmt.Sprintf("%s-%d", source, i+1), "title": titles[i], "status": "proposed"})
	}
	return items
}

// chatwootHandler is the Chatwoot API: /api, /health, conversations.
func (e *Env) chatwootHandler() http.Handler {
	mux := http.NewServeMux()
	limited := func(h http.HandlerFunc) http.HandlerFunc {
		return e.faulty(func(w http.ResponseWriter, r *http.Request) {
			e.mu.Lock()
			hit := e.faults.ChatwootRateLimit > 0 && e.rng.Float64() < e.faults.ChatwootRateLimit
			e.mu.Unlock()
			if hit {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = w.Write([]byte("Retry later"))
				return
			}
			h(w, r)
		}, false)
	}
	mux.HandleFunc("GET /api", limited(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"version": "3.13.2", "timestamp": e.now().UTC().Format("2006-01-02 15:04:05"),
			"queue_services": "ok", "data_services": "ok",
		})
	}))
	mux.HandleFunc("GET /health", limited(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "woot"})
	}))
	mux.HandleFunc("GET /api/v1/accounts/{account}/conversations", limited(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		token, account := e.chatwootToken, e.chatwootAccount
		n := 5 + e.rng.IntN(30)
		e.mu.Unlock()
		switch {
		case r.Header.Get("api_access_token") != token:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Invalid Access Token"})
			return
		case r.PathValue("account") != account:
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "You are not authorized to access this account"})
			return
		}
		payload := make([]map[string]any, 0, 3)
		for i := range 3 {
			payload = append(payload, map[string]any{"id": 4100 + i, "status": "open", "messages": []any{}})
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
			"meta":    map[string]int{"mine_count": n / 3, "assigned_count": n / 2, "unassigned_count": n - n/2, "all_count": n},
			"payload": payload,
		}})
	}))
	return mux
}

// supabaseHandler is PostgREST's table probe and the auth health check.
func (e *Env) supabaseHandler() http.Handler {
	mux := http.NewServeMux()
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		e.mu.Lock()
		ok := r.Header.Get("apikey") == e.supabaseKey && !e.faults.CredentialsRevoked
		e.mu.Unlock()
		if !ok {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."})
		}
		return ok
	}
	mux.HandleFunc("GET /rest/v1/idea_pool", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		if !e.Migration() {
			writeJSON(w, http.StatusNotFound, map[string]any{
				"code": "PGRST205", "message": "Could not find the table 'public.idea_pool' in the schema cache",
				"details": nil, "hint": nil,
			})
			return
		}
		writeJSON(w, http.StatusOK, []map[string]any{{"id": 1, "title": "Holiday gift guide", "status": "proposed"}})
	}, false))
	mux.HandleFunc("GET /auth/v1/health", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"version": "v2.170.0", "name": "GoTrue"})
	})
	return mux
}

// publerHandler is Publer's API: the key and workspace checks, the
// accounts of the workspace, and job status. A rejected key is 401; a
// missing or foreign workspace, or a key without the scope a call needs,
// is 403 with Publer's reason in "errors".
func (e *Env) publerHandler() http.Handler {
	mux := http.NewServeMux()
	// auth answers a request that cannot go on (401 for a key Publer does
	// not know, 403 for a workspace the key cannot use or a scope it
	// lacks), and returns the name of the workspace it opens.
	auth := func(w http.ResponseWriter, r *http.Request, scope string) (string, bool) {
		ws := r.Header.Get("Publer-Workspace-Id")
		key, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer-API ")
		e.mu.Lock()
		name := e.publerWorkspaceLocked(key, ws)
		known := key == e.publerKey || key == e.publerDevKey
		bad, noScope := e.faults.Publer401 || e.faults.CredentialsRevoked, e.faults.PublerScope
		e.mu.Unlock()
		switch {
		case ws == "":
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Workspace not selected"}})
		case bad || !bearer || !known:
			writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []string{"Unauthorized"}})
		case name == "":
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"You don't have access to this workspace"}})
		case noScope && scope != "":
			writeJSON(w, http.StatusForbidden, map[string]any{"errors": []string{"Missing required scope: " + scope}})
		default:
			return name, true
		}
		return "", false
	}
	mux.HandleFunc("GET /api/v1/users/me", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth(w, r, "users"); ok {
			writeJSON(w, http.StatusOK, map[string]any{"id": "5f1b2c", "name": "HotDash Ops", "email": "ops@hotdash.example"})
		}
	}, false))
	mux.HandleFunc("GET /api/v1/workspaces", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := auth(w, r, "workspaces"); ok {
			writeJSON(w, http.StatusOK, []map[string]any{{"id": r.Header.Get("Publer-Workspace-Id"), "name": name}})
		}
	}, false))
	mux.HandleFunc("GET /api/v1/accounts", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := auth(w, r, "accounts"); ok {
			writeJSON(w, http.StatusOK, []map[string]any{{"id": "63f1c2a4b5d6e7f8091a2b3c", "provider": "twitter", "name": name + " (test account)", "type": "profile"}})
		}
	}, false))
	mux.HandleFunc("GET /api/v1/job_status/{id}", e.faulty(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth(w, r, ""); !ok {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, a := range e.apps {
			if j := a.jobs[r.PathValue("id")]; j != nil {
				st, failures := e.jobStatusLocked(j)
				writeJSON(w, http.StatusOK, map[string]any{"status": st, "payload": map[string]any{"failures": failures}})
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{"Job not found"}})
	}, false))
	return mux
}
