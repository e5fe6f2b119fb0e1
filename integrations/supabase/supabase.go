// Package supabase checks the Supabase project behind the idea pool: that
// the idea_pool migration is applied, through PostgREST's table probe (REST)
// or a direct database connection (Postgres).
package supabase

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// RESTOptions configure a REST checker.
type RESTOptions struct {
	URL     string // the project's address (https://PROJECT.supabase.co)
	Key     string // the service key
	Timeout time.Duration
	// URLEnv and KeyEnv name the variables the address and the key come
	// from, so an error says what to check (default SUPABASE_URL,
	// SUPABASE_SERVICE_KEY).
	URLEnv, KeyEnv string
}

// REST probes tables through PostgREST (SUPABASE_URL/rest/v1).
type REST struct {
	o    RESTOptions
	http *resty.Client
}

var _ integrations.MigrationChecker = (*REST)(nil)

// NewREST returns a checker for the project at o.URL with the service key.
func NewREST(o RESTOptions) *REST {
	if o.URLEnv == "" {
		o.URLEnv = "SUPABASE_URL"
	}
	if o.KeyEnv == "" {
		o.KeyEnv = "SUPABASE_SERVICE_KEY"
	}
	return &REST{o: o, http: httpc.New(o.URL, o.Timeout)}
}

// CheckMigration asks for one row of the table: 200 with a JSON array
// means it exists; 404 with PGRST205 (or 42P01 on older PostgREST) means it
// does not; 401 is a bad key.
func (r *REST) CheckMigration(ctx context.Context, table string) (bool, string, error) {
	path := "/rest/v1/" + table
	req := r.http.R().SetContext(ctx).
		SetHeader("apikey", r.o.Key).
		SetHeader("Authorization", "Bearer "+r.o.Key).
		SetQueryParams(map[string]string{"select": "*", "limit": "1"})
	resp, err := httpc.Do(req, "GET", path)
	if err != nil {
		return false, "", httpc.Error("GET "+path, resp, err)
	}
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(resp.Body(), &body)
	code, message := integrations.Clip(body.Code, 20), httpc.Redact(integrations.Clip(body.Message, 300), r.o.Key)
	switch {
	case resp.StatusCode() == http.StatusOK:
		// Anything but an array is not PostgREST (a web app answering
		// every path, say): the table's existence is unknown.
		var rows []json.RawMessage
		if json.Unmarshal(resp.Body(), &rows) != nil || rows == nil {
			return false, "", fmt.Errorf("GET %s: HTTP 200 but not a PostgREST answer (%s): check %s", path, httpc.Snippet(resp.Body()), r.o.URLEnv)
		}
		return true, fmt.Sprintf("table %s exists (PostgREST answered 200)", table), nil
	case resp.StatusCode() == http.StatusNotFound && (body.Code == "PGRST205" || body.Code == "42P01"):
		return false, fmt.Sprintf("table %s is missing (PostgREST %s: %s)", table, code, message), nil
	case resp.StatusCode() == http.StatusUnauthorized:
		return false, "", integrations.Final(fmt.Errorf("the Supabase key was rejected (401 %s): check %s", message, r.o.KeyEnv))
	}
	return false, "", httpc.Error("GET "+path, resp, nil)
}
