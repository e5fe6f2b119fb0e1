package supabase

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/httpc"
)

// migrationsTable is where the Supabase CLI records the migrations it has
// pushed to the project (`supabase migration list` reads it).
const migrationsTable = "supabase_migrations.schema_migrations"

// Postgres checks migrations over a direct connection to the project's
// database (the "connection string" of the Supabase dashboard), which can
// tell both whether the table exists and which migrations the CLI applied.
type Postgres struct {
	url     string
	timeout time.Duration
}

var _ integrations.MigrationChecker = (*Postgres)(nil)

// NewPostgres returns a checker for the database at databaseURL
// (postgres://USER:PASSWORD@HOST:5432/postgres). timeout bounds a whole
// check, connection included; zero leaves it to the caller's context.
func NewPostgres(databaseURL string, timeout time.Duration) *Postgres {
	return &Postgres{url: databaseURL, timeout: timeout}
}

// migration is one row of supabase_migrations.schema_migrations.
type migration struct {
	version, name string
}

// CheckMigration connects, looks the table up in the public schema, reads
// the migrations the Supabase CLI recorded and closes the connection. The
// table existing, as a table (a view of that name is not the migration's
// table), is what makes it present; the detail also says which remote
// migration, if any, names the table. A role that may not read the
// migrations gets the table check alone, with a note. Errors are one line
// and never contain the password or the URL; a refused login or a missing
// permission is integrations.Final: a retry would be another login.
func (p *Postgres) CheckMigration(ctx context.Context, table string) (bool, string, error) {
	start := time.Now()
	if table == "" {
		return false, "", errors.New("no table to check")
	}
	cfg, err := pgx.ParseConfig(p.url)
	if err != nil {
		// The parser's own message may quote parts of the URL: say what is
		// expected instead.
		return false, "", integrations.Final(errors.New("the Supabase database URL is not valid: expected postgres://USER:PASSWORD@HOST:5432/postgres"))
	}
	// The simple protocol needs no prepared statements, so the check also
	// works through Supabase's transaction pooler (port 6543).
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol

	parent := ctx
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	fail := func(what string, err error) (bool, string, error) {
		return false, "", p.describe(parent, ctx, start, cfg, what, err)
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fail("", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()

	qualified := "public." + table
	// The table by to_regclass and what kind of relation it is; the
	// migrations table from the catalog, which needs no privilege on its
	// schema.
	var relkind string
	var migrationsExist bool
	err = conn.QueryRow(ctx,
		`SELECT coalesce((SELECT relkind::text FROM pg_catalog.pg_class WHERE oid = to_regclass($1)), ''),
		        EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		                WHERE n.nspname = 'supabase_migrations' AND c.relname = 'schema_migrations')`,
		pgx.Identifier{"public", table}.Sanitize(),
	).Scan(&relkind, &migrationsExist)
	if err != nil {
		return fail("looking up "+qualified, err)
	}

	var detail strings.Builder
	tableExists := relkind == "r" || relkind == "p" // a table, or a partitioned one
	switch {
	case tableExists:
		fmt.Fprintf(&detail, "table %s exists; ", qualified)
	case relkind == "":
		fmt.Fprintf(&detail, "table %s is missing; ", qualified)
	default:
		fmt.Fprintf(&detail, "%s is %s, not the table the migration creates; ", qualified, relkinds[relkind])
	}
	if !migrationsExist {
		detail.WriteString(migrationsTable + " does not exist (no remote migrations)")
		return tableExists, detail.String(), nil
	}

	applied, err := readMigrations(ctx, conn)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == insufficientPrivilege:
		fmt.Fprintf(&detail, "%s cannot be read by user %s (%s): the table check alone decides", migrationsTable, cfg.User, pgErr.Message)
		return tableExists, detail.String(), nil
	case err != nil:
		return fail("reading "+migrationsTable, err)
	}
	detail.WriteString(describeMigrations(applied, table))
	return tableExists, detail.String(), nil
}

// insufficientPrivilege is the SQLSTATE of "permission denied".
const insufficientPrivilege = "42501"

// relkinds name pg_class.relkind values that are not a table.
var relkinds = map[string]string{
	"v": "a view", "m": "a materialized view", "f": "a foreign table", "S": "a sequence",
	"i": "an index", "I": "a partitioned index", "c": "a composite type", "t": "a TOAST table",
}

// readMigrations returns the recorded migrations, oldest first. Projects
// last pushed by an old CLI have no name column: reading the row as JSON
// gives those an empty name instead of an error.
func readMigrations(ctx context.Context, conn *pgx.Conn) ([]migration, error) {
	rows, err := conn.Query(ctx,
		"SELECT version, coalesce(to_jsonb(m)->>'name', '') FROM "+migrationsTable+" m ORDER BY version")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (migration, error) {
		var m migration
		err := row.Scan(&m.version, &m.name)
		return m, err
	})
}

// describeMigrations says which migration names table, if any, with how
// many migrations the project has.
func describeMigrations(applied []migration, table string) string {
	if len(applied) == 0 {
		return migrationsTable + " is empty (no remote migrations)"
	}
	count := plural(len(applied), "remote migration")
	want := strings.ToLower(table)
	for _, m := range applied {
		if strings.Contains(strings.ToLower(m.name), want) {
			return fmt.Sprintf("migration %s %s is applied (%s)", m.version, m.name, count)
		}
	}
	return fmt.Sprintf("no migration names it (%s, newest %s)", count, applied[len(applied)-1].version)
}

// plural is "1 noun" or "n nouns".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// describe turns a failed connection (what == "") or query into one
// readable line naming the server by host:port/database only, with the
// password scrubbed from anything the driver or the server said, and the
// deadline that applied when it timed out. A refused login, a database
// that does not exist and a missing permission are final.
func (p *Postgres) describe(parent, ctx context.Context, start time.Time, cfg *pgx.ConnConfig, what string, err error) error {
	addr := address(cfg.Host, cfg.Port)
	where := addr + "/" + cfg.Database
	prefix := what
	if prefix == "" {
		prefix = "cannot reach the Supabase database at " + addr
	}

	var msg string
	var pgErr *pgconn.PgError
	final := false
	switch {
	case parent.Err() != nil && errors.Is(parent.Err(), context.Canceled):
		msg = prefix + ": cancelled"
	case ctx.Err() != nil:
		after, _ := httpc.Allowed(ctx, start)
		msg = fmt.Sprintf("%s: timed out after %s", prefix, after)
	case errors.As(err, &pgErr) && what == "":
		// The server refused the login: the password, the role, pg_hba,
		// the database. Asking again asks the same.
		final = strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000" || pgErr.Code == insufficientPrivilege
		switch pgErr.Code {
		case "28P01": // invalid_password
			msg = "the Supabase database refused the password for user " + cfg.User
		default:
			msg = fmt.Sprintf("the Supabase database at %s refused the connection: %s (SQLSTATE %s)", where, pgErr.Message, pgErr.Code)
		}
	case errors.As(err, &pgErr):
		final = pgErr.Code == insufficientPrivilege
		msg = fmt.Sprintf("%s: %s (SQLSTATE %s)", prefix, pgErr.Message, pgErr.Code)
	default:
		msg = prefix + ": " + reason(err)
		if errors.Is(err, syscall.ENETUNREACH) && strings.HasSuffix(cfg.Host, ".supabase.co") {
			msg += " (the direct database host is IPv6-only: the session pooler URL also works over IPv4)"
		}
	}
	msg = integrations.Clip(httpc.Redact(msg, p.url, cfg.Password), integrations.MaxText)
	if final {
		return integrations.Final(errors.New(msg))
	}
	return errors.New(msg)
}

// reason says why the connection or query failed, without the driver's
// wrapping ("failed to connect to `user=... database=...`: ...").
func reason(err error) string {
	if r, ok := httpc.NetReason(err); ok {
		return r
	}
	if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) {
		return "network is unreachable"
	}
	// A connection error joins one error per address tried: the last one
	// is the attempt that decided the outcome.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		err = ce.Unwrap()
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			if errs := joined.Unwrap(); len(errs) > 0 {
				err = errs[len(errs)-1]
			}
		}
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// address is host:port, or the socket directory for a local socket.
func address(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}
