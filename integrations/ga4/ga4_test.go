package ga4

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

const (
	testToken    = "ya29.a0AfB_test_access_token_0123456789"
	testProperty = "123456789"
)

// Google's own wording for the errors the console must read.
const (
	msgUnauthenticated = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgPermission      = "User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id."
	msgExhausted       = "Exhausted property tokens per day for this property."
)

// fakeGA4 answers as the Data API does: a Bearer token, the runReport
// body, and {"error":{"code","message","status"}} error answers.
type fakeGA4 struct {
	mu       sync.Mutex
	answer   string // replaces the report when set
	code     int    // its status, when set
	rows     []int64
	requests int
	method   string
	path     string
	header   http.Header
	body     []byte
}

func (f *fakeGA4) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1beta"
}

func (f *fakeGA4) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	f.method, f.path, f.header = r.Method, r.URL.Path, r.Header.Clone()
	f.body, _ = io.ReadAll(r.Body)
	property, ok := strings.CutPrefix(r.URL.Path, "/v1beta/properties/")
	property, isReport := strings.CutSuffix(property, ":runReport")
	switch {
	case !ok || !isReport || r.Method != http.MethodPost:
		apiError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
	case r.Header.Get("Authorization") != "Bearer "+testToken:
		apiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", msgUnauthenticated)
	case property != testProperty:
		apiError(w, http.StatusForbidden, "PERMISSION_DENIED", msgPermission)
	case f.answer != "":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(max(f.code, http.StatusOK))
		fmt.Fprint(w, f.answer)
	default:
		type value struct {
			Value string `json:"value"`
		}
		type row struct {
			DimensionValues []value `json:"dimensionValues"`
			MetricValues    []value `json:"metricValues"`
		}
		report := map[string]any{
			"dimensionHeaders": []map[string]string{{"name": "date"}},
			"metricHeaders":    []map[string]string{{"name": "sessions", "type": "TYPE_INTEGER"}},
			"metadata":         map[string]string{"currencyCode": "USD", "timeZone": "Europe/Paris"},
			"kind":             "analyticsData#runReport",
		}
		if len(f.rows) > 0 {
			var rows []row
			for i, n := range f.rows {
				rows = append(rows, row{
					DimensionValues: []value{{fmt.Sprintf("202510%02d", 12+i)}},
					MetricValues:    []value{{fmt.Sprint(n)}},
				})
			}
			report["rows"], report["rowCount"] = rows, len(rows)
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_ = json.NewEncoder(w).Encode(report)
	}
}

func apiError(w http.ResponseWriter, code int, status, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message, "status": status}})
}

func (f *fakeGA4) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func client(url string, mod func(*Options)) *Client {
	o := Options{BaseURL: url, PropertyID: testProperty, Token: testToken, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	return New(o)
}

func TestRequest(t *testing.T) {
	f := &fakeGA4{rows: []int64{10, 20}}
	if _, _, err := client(f.start(t), nil).RunReport(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.method != http.MethodPost || f.path != "/v1beta/properties/123456789:runReport" {
		t.Errorf("request %s %s", f.method, f.path)
	}
	if got := f.header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
	if got := f.header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("Content-Type = %q", got)
	}
	var got, want any
	if err := json.Unmarshal(f.body, &got); err != nil {
		t.Fatalf("body %s: %v", f.body, err)
	}
	_ = json.Unmarshal([]byte(`{"dateRanges":[{"startDate":"7daysAgo","endDate":"yesterday"}],"dimensions":[{"name":"date"}],"metrics":[{"name":"sessions"}]}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s", f.body)
	}
}

func TestRunReport(t *testing.T) {
	tests := []struct {
		name         string
		rows         []int64
		answer       string
		wantSessions int64
		wantRows     int
		wantErr      string
	}{
		{name: "seven days", rows: []int64{120, 98, 143, 0, 77, 210, 186}, wantSessions: 834, wantRows: 7},
		{name: "one day", rows: []int64{5}, wantSessions: 5, wantRows: 1},
		{name: "no data: no rows", wantSessions: 0, wantRows: 0},
		{name: "large", rows: []int64{3_000_000_000, 3_000_000_000}, wantSessions: 6_000_000_000, wantRows: 2},
		{name: "not a number", answer: `{"rows":[{"dimensionValues":[{"value":"20251012"}],"metricValues":[{"value":"many"}]}]}`,
			wantErr: `GA4 runReport: malformed answer (row 1 sessions "many")`},
		{name: "no metric values", answer: `{"rows":[{"dimensionValues":[{"value":"20251012"}]}]}`,
			wantErr: "GA4 runReport: malformed answer (row 1 has no sessions value)"},
		{name: "not JSON", answer: `<html>`, wantErr: "GA4 runReport: malformed answer (not a report): <html>"},
		{name: "a list", answer: `[1,2]`, wantErr: "GA4 runReport: malformed answer (not a report)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGA4{rows: tt.rows, answer: tt.answer}
			sessions, rows, err := client(f.start(t), nil).RunReport(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sessions != tt.wantSessions || rows != tt.wantRows {
				t.Errorf("got %d sessions over %d rows, want %d over %d", sessions, rows, tt.wantSessions, tt.wantRows)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		mod       func(*Options)
		answer    string
		code      int
		want      string
		wantCalls int
		wantCreds bool
	}{
		{
			name: "unauthenticated", mod: func(o *Options) { o.Token = "ya29.expired_expired_expired" },
			want:      "GA4 Data API: UNAUTHENTICATED: " + msgUnauthenticated + " (check GA4_ACCESS_TOKEN: access tokens expire after an hour)",
			wantCalls: 1, wantCreds: true,
		},
		{
			name: "unauthenticated, named variable", mod: func(o *Options) { o.Token, o.TokenEnv = "ya29.expired_expired_expired", "GA4_DEV_TOKEN" },
			want:      "GA4 Data API: UNAUTHENTICATED: " + msgUnauthenticated + " (check GA4_DEV_TOKEN: access tokens expire after an hour)",
			wantCalls: 1, wantCreds: true,
		},
		{
			name: "permission denied", mod: func(o *Options) { o.PropertyID = "987654321" },
			want:      "GA4 Data API: PERMISSION_DENIED: " + msgPermission + " (check that the token's account can read property 987654321)",
			wantCalls: 1, wantCreds: true,
		},
		{
			name: "resource exhausted", code: http.StatusTooManyRequests,
			answer:    `{"error":{"code":429,"message":"` + msgExhausted + `","status":"RESOURCE_EXHAUSTED"}}`,
			want:      "GA4 Data API: RESOURCE_EXHAUSTED: " + msgExhausted + " (the property's quota is spent for now: try again later)",
			wantCalls: 1,
		},
		{
			name: "invalid argument", code: http.StatusBadRequest,
			answer:    `{"error":{"code":400,"message":"Field sessionz is not a valid metric.","status":"INVALID_ARGUMENT"}}`,
			want:      "GA4 Data API: INVALID_ARGUMENT: Field sessionz is not a valid metric.",
			wantCalls: 1,
		},
		{
			name: "no status", code: http.StatusInternalServerError,
			answer:    `{"error":{"code":500,"message":"Internal error encountered."}}`,
			want:      "GA4 Data API: HTTP 500: Internal error encountered.",
			wantCalls: 1,
		},
		{
			name: "a proxy's page", code: http.StatusBadGateway, answer: "<html>\n502 Bad Gateway\n</html>",
			want:      "POST /properties/123456789:runReport: HTTP 502 Bad Gateway: <html> 502 Bad Gateway </html>",
			wantCalls: 1,
		},
		{
			name: "token echoed back", code: http.StatusUnauthorized,
			answer:    `{"error":{"code":401,"message":"Token ` + testToken + ` is invalid.","status":"UNAUTHENTICATED"}}`,
			want:      "GA4 Data API: UNAUTHENTICATED: Token " + integrations.Mask + " is invalid. (check GA4_ACCESS_TOKEN: access tokens expire after an hour)",
			wantCalls: 1, wantCreds: true,
		},
		{name: "no token", mod: func(o *Options) { o.Token = "" }, want: "GA4_ACCESS_TOKEN is not set"},
		{name: "no token, named variable", mod: func(o *Options) { o.Token, o.TokenEnv = " ", "GA4_DEV_TOKEN" }, want: "GA4_DEV_TOKEN is not set"},
		{name: "no property", mod: func(o *Options) { o.PropertyID = "" },
			want: "no GA4 property ID configured: set property_id under [ga4] in the console configuration (the numeric ID from Admin > Property settings)"},
		{name: "measurement ID", mod: func(o *Options) { o.PropertyID = "G-ABC123XYZ" },
			want: `GA4 property ID "G-ABC123XYZ" is a measurement ID: use the numeric property ID from Admin > Property settings`},
		{name: "resource name", mod: func(o *Options) { o.PropertyID = "properties/123456789" },
			want: `GA4 property ID "properties/123456789" is not numeric: use the numeric property ID from Admin > Property settings`},
		{name: "path tricks", mod: func(o *Options) { o.PropertyID = "123/../456" },
			want: `GA4 property ID "123/../456" is not numeric: use the numeric property ID from Admin > Property settings`},
		{name: "negative", mod: func(o *Options) { o.PropertyID = "-123" },
			want: `GA4 property ID "-123" is not numeric: use the numeric property ID from Admin > Property settings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGA4{answer: tt.answer, code: tt.code}
			c := client(f.start(t), tt.mod)
			_, _, err := c.RunReport(context.Background())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant    %s", err, tt.want)
			}
			if got := f.count(); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
			var e *Error
			if got := errors.As(err, &e) && e.CredentialsRejected(); got != tt.wantCreds {
				t.Errorf("CredentialsRejected = %v, want %v", got, tt.wantCreds)
			}

			res := c.Probe().Check(context.Background())
			if res.Problem() != tt.want {
				t.Errorf("probe Err = %q", res.Problem())
			}
			if got := res.Facts[integrations.WhenCredentialsRejected]; got != tt.wantCreds {
				t.Errorf("credentials_rejected = %v, want %v", got, tt.wantCreds)
			}
			if res.Detail != "" {
				t.Errorf("Detail = %q on failure", res.Detail)
			}
			all := fmt.Sprint(res.Answer, "|", res.Warning, "|", res.Detail, "|", res.Problem())
			if strings.Contains(all, testToken) || (c.o.Token != "" && strings.Contains(all, c.o.Token)) {
				t.Errorf("the token is in the probe result: %s", all)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	f := &fakeGA4{rows: []int64{120, 98, 143, 0, 77, 210, 186}}
	res := client(f.start(t), nil).Probe().Check(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Detail != "runReport ok: 834 sessions over 7 days" {
		t.Errorf("Detail = %q", res.Detail)
	}
	if res.Source != integrations.SourceUnknown || res.Answer != "" {
		t.Errorf("Source %v Answer %q: the Data API does not say which source the app uses", res.Source, res.Answer)
	}
	if res.Facts[integrations.WhenCredentialsRejected] {
		t.Errorf("credentials_rejected set on success")
	}
	if res.Latency <= 0 {
		t.Errorf("Latency not measured")
	}
	if all := fmt.Sprint(res); strings.Contains(all, testToken) {
		t.Errorf("the token is in the probe result")
	}
}

func TestProbeUnreachable(t *testing.T) {
	res := client(testkit.Refused(t), nil).Probe().Check(context.Background())
	if want := "POST /properties/123456789:runReport: connection refused"; res.Problem() != want {
		t.Errorf("Err = %q, want %q", res.Problem(), want)
	}
}

func TestProbeHonoursContext(t *testing.T) {
	probe := client(testkit.Hanging(t), nil).Probe()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res := probe.Check(ctx)
	testkit.TimedOut(t, res.Problem(), "POST /properties/123456789:runReport: ", 200*time.Millisecond)
}

// An access token lasts about an hour: a token from a file or a command
// is read again when the API answers 401, and the report asked once more.
func TestExpiredTokenIsReadAgainFromItsSource(t *testing.T) {
	tests := []struct {
		name      string
		tokens    []string // what the source gives, read after read
		wantErr   string
		wantReads int
		wantCalls int
	}{
		{name: "refreshed", tokens: []string{"ya29.expired_expired_expired", testToken + "\n"}, wantReads: 2, wantCalls: 2},
		{name: "fresh from the start", tokens: []string{testToken}, wantReads: 1, wantCalls: 1},
		{name: "still the old token", tokens: []string{"ya29.expired_expired_expired", "ya29.expired_expired_expired"},
			wantErr:   "GA4 Data API: UNAUTHENTICATED: " + msgUnauthenticated + " (the token was read again and is still refused: check its source (token_file or token_command))",
			wantReads: 2, wantCalls: 1},
		{name: "source fails", tokens: nil, wantErr: "GA4 token: gcloud: not logged in", wantReads: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGA4{rows: []int64{5}}
			reads := 0
			src := func(context.Context) (string, error) {
				reads++
				if reads > len(tt.tokens) {
					return "", errors.New("gcloud: not logged in")
				}
				return tt.tokens[reads-1], nil
			}
			c := client(f.start(t), func(o *Options) { o.Token, o.Source = "", src })
			_, _, err := c.RunReport(context.Background())
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if reads != tt.wantReads || f.count() != tt.wantCalls {
				t.Errorf("source read %d times, %d requests; want %d and %d", reads, f.count(), tt.wantReads, tt.wantCalls)
			}
		})
	}
	// Once refreshed, the token is kept until it is refused again.
	f := &fakeGA4{rows: []int64{5}}
	reads := 0
	c := client(f.start(t), func(o *Options) {
		o.Token, o.Source = "", func(context.Context) (string, error) { reads++; return testToken, nil }
	})
	for range 3 {
		if _, _, err := c.RunReport(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 {
		t.Errorf("a good token was read %d times for 3 reports", reads)
	}
}

// The property's quota is shared with the app: the probe runs every 5
// minutes unless configured otherwise.
func TestProbeRunsEveryFiveMinutes(t *testing.T) {
	if got := New(Options{}).Probe().Interval(); got != 5*time.Minute {
		t.Errorf("Interval = %s, want 5m", got)
	}
}

func TestDefaults(t *testing.T) {
	c := New(Options{})
	if c.o.BaseURL != DefaultBaseURL || DefaultBaseURL != "https://analyticsdata.googleapis.com/v1beta" {
		t.Errorf("BaseURL = %q", c.o.BaseURL)
	}
	if c.o.TokenEnv != "GA4_ACCESS_TOKEN" || c.o.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v", c.o)
	}
}
