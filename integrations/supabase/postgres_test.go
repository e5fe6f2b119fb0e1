package supabase

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hotdash/hotdash-console/integrations"
)

// The tests run the checker against a real PostgreSQL 15 server, started
// once for the package in a temporary directory and stopped by TestMain.

const noPostgres = "PostgreSQL 15 is not installed: .ci/run installs it"

// The role whose password the server checks; every other role is trusted.
const (
	pwUser     = "checker"
	pwPassword = "S3cret-Passw0rd-for-tests"
)

var errNoPostgres = errors.New(noPostgres)

var (
	serverOnce sync.Once
	server     *pgServer
	serverErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.stop()
	}
	os.Exit(code)
}

// pgServer is a throwaway PostgreSQL server listening on 127.0.0.1.
type pgServer struct {
	bin  string              // directory of initdb, pg_ctl and postgres
	dir  string              // temporary directory: data, socket, log
	cred *syscall.Credential // the postgres user, when the tests run as root
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the server process has exited
	dbs  atomic.Int64
}

// postgresServer returns the package's server, starting it on first use.
// Without PostgreSQL the test is skipped, or fails on CI.
func postgresServer(t *testing.T) *pgServer {
	t.Helper()
	serverOnce.Do(func() { server, serverErr = startPostgres() })
	switch {
	case errors.Is(serverErr, errNoPostgres) && os.Getenv("CI") == "":
		t.Skip(noPostgres)
	case serverErr != nil:
		t.Fatal(serverErr)
	}
	return server
}

// findPostgres returns the directory holding the PostgreSQL 15 binaries.
func findPostgres() (string, error) {
	dir := "/usr/lib/postgresql/15/bin"
	if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
		initdb, err := exec.LookPath("initdb")
		if err != nil {
			return "", errNoPostgres
		}
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			initdb = real
		}
		dir = filepath.Dir(initdb)
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", errNoPostgres
		}
	}
	return dir, nil
}

// startPostgres initialises a cluster in a new temporary directory and
// starts a server on a free port. PostgreSQL refuses to run as root, so as
// root the cluster belongs to, and the server runs as, the postgres user.
func startPostgres() (_ *pgServer, err error) {
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	s := &pgServer{bin: bin}
	if os.Geteuid() == 0 {
		if s.cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	// As root, the directory must be where the postgres user can reach it:
	// not under a private TMPDIR.
	parent := ""
	if s.cred != nil {
		parent = "/tmp"
	}
	if s.dir, err = os.MkdirTemp(parent, "hotdash-pg-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()
	if err := os.Chmod(s.dir, 0o700); err != nil {
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return nil, err
		}
	}

	data := filepath.Join(s.dir, "data")
	initdb := s.command("initdb", "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// One role must give its password over TCP; the superuser is trusted.
	hba := filepath.Join(data, "pg_hba.conf")
	conf, err := os.ReadFile(hba)
	if err != nil {
		return nil, err
	}
	rule := fmt.Sprintf("host all %s 127.0.0.1/32 scram-sha-256\n", pwUser)
	if err := os.WriteFile(hba, append([]byte(rule), conf...), 0o600); err != nil {
		return nil, err
	}

	// The port is free when picked but may be taken before the server binds
	// it: try a few.
	for attempt := 1; ; attempt++ {
		err = s.start(data)
		if err == nil || attempt == 3 {
			break
		}
	}
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres", "", "postgres"))
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", pwUser, pwPassword)); err != nil {
		return nil, fmt.Errorf("creating role %s: %w", pwUser, err)
	}
	return s, nil
}

// postgresUser is the account the server runs as when the tests run as root.
func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, the tests run PostgreSQL as the postgres user: %w (.ci/run creates it)", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// command runs one of the PostgreSQL binaries as the cluster's owner, with
// no PG* variables of the caller's.
func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	// The server is stopped with the tests even if they crash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	return cmd
}

// start starts the server on a free port and waits until it accepts
// connections.
func (s *pgServer) start(data string) error {
	s.port = freePort()
	var log bytes.Buffer
	cmd := s.command("postgres", "-D", data,
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(s.port), "-k", s.dir,
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.url("postgres", "", "postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("postgres exited on start:\n%s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres does not accept connections after 30s: %v", err)
		}
	}
}

// stop stops the server (immediate shutdown: the data is thrown away) and
// removes its directory.
func (s *pgServer) stop() {
	if s.cmd != nil {
		stop := s.command("pg_ctl", "stop", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w")
		if err := stop.Run(); err != nil {
			_ = s.cmd.Process.Kill()
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.cmd = nil
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// url is the connection URL for user on database db.
func (s *pgServer) url(user, password, db string) string {
	u := &url.URL{Scheme: "postgres", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/" + db}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u.String()
}

// database creates a database, runs setup in it and returns its name.
func (s *pgServer) database(t *testing.T, setup string) string {
	t.Helper()
	name := fmt.Sprintf("project_%d", s.dbs.Add(1))
	s.exec(t, "postgres", "CREATE DATABASE "+name)
	if setup != "" {
		s.exec(t, name, setup)
	}
	return name
}

// exec runs sql as the superuser in database db.
func (s *pgServer) exec(t *testing.T, db, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres", "", db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// schemaMigrations is the table the Supabase CLI keeps.
const schemaMigrations = `
CREATE SCHEMA supabase_migrations;
CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY, statements text[], name text);
`

const ideaPool = `CREATE TABLE public.idea_pool (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL);`

// migrations records n migrations from 1 to 18 October 2025, none naming
// the idea pool, plus the given extra ones.
func migrations(n int, extra ...string) string {
	names := []string{"init", "customers", "orders", "add_order_status", "social_posts",
		"analytics_views", "rls_policies", "chatwoot_links", "publer_jobs", "traffic_rollup", "drop_legacy"}
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "INSERT INTO supabase_migrations.schema_migrations VALUES ('202510%02d110000', '{}', '%s');\n", i+1, names[i])
	}
	for _, m := range extra {
		version, name, _ := strings.Cut(m, " ")
		fmt.Fprintf(&b, "INSERT INTO supabase_migrations.schema_migrations VALUES ('%s', '{}', '%s');\n", version, name)
	}
	return b.String()
}

func check(t *testing.T, url, table string) (bool, string, error) {
	t.Helper()
	return NewPostgres(url, 5*time.Second).CheckMigration(t.Context(), table)
}

func TestPostgresFindsTableAndMigration(t *testing.T) {
	s := postgresServer(t)
	cases := []struct {
		name, setup, table string
		present            bool
		detail             string
	}{{
		name:    "table and migration",
		setup:   schemaMigrations + migrations(11, "20251019093000 create_idea_pool") + ideaPool,
		table:   "idea_pool",
		present: true,
		detail:  "table public.idea_pool exists; migration 20251019093000 create_idea_pool is applied (12 remote migrations)",
	}, {
		name:   "no table, no migration naming it",
		setup:  schemaMigrations + migrations(9) + "CREATE TABLE public.customers (id int);",
		table:  "idea_pool",
		detail: "table public.idea_pool is missing; no migration names it (9 remote migrations, newest 20251009110000)",
	}, {
		name:   "migration applied but table dropped since",
		setup:  schemaMigrations + migrations(2, "20251019093000 idea_pool"),
		table:  "idea_pool",
		detail: "table public.idea_pool is missing; migration 20251019093000 idea_pool is applied (3 remote migrations)",
	}, {
		name:    "table created by hand",
		setup:   schemaMigrations + migrations(1) + ideaPool,
		table:   "idea_pool",
		present: true,
		detail:  "table public.idea_pool exists; no migration names it (1 remote migration, newest 20251001110000)",
	}, {
		name:   "no schema_migrations at all",
		table:  "idea_pool",
		detail: "table public.idea_pool is missing; supabase_migrations.schema_migrations does not exist (no remote migrations)",
	}, {
		name:   "empty schema_migrations",
		setup:  schemaMigrations,
		table:  "idea_pool",
		detail: "table public.idea_pool is missing; supabase_migrations.schema_migrations is empty (no remote migrations)",
	}, {
		name: "schema_migrations from an old CLI, without names",
		setup: `CREATE SCHEMA supabase_migrations;
			CREATE TABLE supabase_migrations.schema_migrations (version text PRIMARY KEY);
			INSERT INTO supabase_migrations.schema_migrations VALUES ('20240101000000'), ('20240301000000');` + ideaPool,
		table:   "idea_pool",
		present: true,
		detail:  "table public.idea_pool exists; no migration names it (2 remote migrations, newest 20240301000000)",
	}, {
		name:   "a name that is not an identifier",
		setup:  ideaPool,
		table:  `idea_pool"; DROP TABLE idea_pool; --'`,
		detail: `table public.idea_pool"; DROP TABLE idea_pool; --' is missing; supabase_migrations.schema_migrations does not exist (no remote migrations)`,
	}, {
		name:   "names are case-sensitive, as in PostgREST",
		setup:  ideaPool,
		table:  "Idea_Pool",
		detail: "table public.Idea_Pool is missing; supabase_migrations.schema_migrations does not exist (no remote migrations)",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := s.database(t, c.setup)
			present, detail, err := check(t, s.url("postgres", "", db), c.table)
			if err != nil {
				t.Fatal(err)
			}
			if present != c.present || detail != c.detail {
				t.Errorf("got %v %q\nwant %v %q", present, detail, c.present, c.detail)
			}
		})
	}
}

func TestPostgresWithPassword(t *testing.T) {
	s := postgresServer(t)
	db := s.database(t, ideaPool)

	present, detail, err := check(t, s.url(pwUser, pwPassword, db), "idea_pool")
	if err != nil || !present || !strings.HasPrefix(detail, "table public.idea_pool exists;") {
		t.Fatalf("right password: %v %q %v", present, detail, err)
	}

	const wrong = "Wr0ng-Passw0rd-typed"
	_, _, err = check(t, s.url(pwUser, wrong, db), "idea_pool")
	if err == nil || err.Error() != "the Supabase database refused the password for user checker" {
		t.Fatalf("wrong password: %v", err)
	}
	assertNoSecret(t, err, wrong, pwPassword)
}

func TestPostgresPermissionDenied(t *testing.T) {
	s := postgresServer(t)
	db := s.database(t, ideaPool+"REVOKE ALL ON SCHEMA public FROM PUBLIC;")
	_, _, err := check(t, s.url(pwUser, pwPassword, db), "idea_pool")
	want := "looking up public.idea_pool: permission denied for schema public (SQLSTATE 42501)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if !integrations.IsFinal(err) {
		t.Error("a missing permission is not final")
	}
}

func TestPostgresUnknownDatabase(t *testing.T) {
	s := postgresServer(t)
	_, _, err := check(t, s.url("postgres", "Some-Pa55word", "nope"), "idea_pool")
	want := fmt.Sprintf(`the Supabase database at 127.0.0.1:%d/nope refused the connection: database "nope" does not exist (SQLSTATE 3D000)`, s.port)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	assertNoSecret(t, err, "Some-Pa55word")
}

func TestPostgresClosesItsConnection(t *testing.T) {
	s := postgresServer(t)
	db := s.database(t, schemaMigrations+migrations(3)+ideaPool)
	url := s.url("postgres", "", db)
	for range 5 {
		if _, _, err := check(t, url, "idea_pool"); err != nil {
			t.Fatal(err)
		}
	}
	// A closed connection's backend exits just after the client leaves.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url("postgres", "", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d connections still open after the checks", n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestPostgresUnreachable(t *testing.T) {
	const password = "Unused-Pa55word"
	port := freePort()
	url := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres", password, port)
	_, _, err := check(t, url, "idea_pool")
	want := fmt.Sprintf("cannot reach the Supabase database at 127.0.0.1:%d: connection refused", port)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	assertNoSecret(t, err, password, url)
}

func TestPostgresTimeout(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 10)
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		l.Close()
		for c := range accepted {
			c.Close()
		}
	}()

	const password = "Slow-Pa55word"
	url := fmt.Sprintf("postgres://postgres:%s@%s/postgres", password, l.Addr())
	start := time.Now()
	_, _, err = NewPostgres(url, 200*time.Millisecond).CheckMigration(t.Context(), "idea_pool")
	want := fmt.Sprintf("cannot reach the Supabase database at %s: timed out after 200ms", l.Addr())
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the check took %s with a 200ms timeout", took)
	}
	assertNoSecret(t, err, password, url)
}

func TestPostgresCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	url := fmt.Sprintf("postgres://postgres:x-Pa55word@127.0.0.1:%d/postgres", freePort())
	_, _, err := NewPostgres(url, time.Second).CheckMigration(ctx, "idea_pool")
	if err == nil || !strings.HasSuffix(err.Error(), ": cancelled") {
		t.Fatalf("got %v, want a cancelled check", err)
	}
}

func TestPostgresBadURL(t *testing.T) {
	for _, url := range []string{
		"postgres://postgres:Bad-Pa55word@127.0.0.1:notaport/postgres",
		"postgres://postgres:Bad-Pa55word@[::1/postgres",
		"host=127.0.0.1 password=Bad-Pa55word sslmode=sometimes",
	} {
		_, _, err := NewPostgres(url, time.Second).CheckMigration(t.Context(), "idea_pool")
		if err == nil || !strings.Contains(err.Error(), "URL is not valid") {
			t.Errorf("%s: got %v", url, err)
		}
		assertNoSecret(t, err, "Bad-Pa55word")
	}
}

// assertNoSecret fails if err's text contains any of secrets.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q reveals %q", err, s)
		}
	}
}

func TestPostgresIPv6OnlyHost(t *testing.T) {
	// db.<ref>.supabase.co has only an IPv6 address: on an IPv4-only
	// network the dial fails before reaching it.
	p := NewPostgres("postgres://postgres:V6-Pa55word@db.abcdefgh.supabase.co:5432/postgres", time.Second)
	cfg, err := pgx.ParseConfig(p.url)
	if err != nil {
		t.Fatal(err)
	}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
	err = p.describe(t.Context(), t.Context(), time.Now(), cfg, "", dial)
	want := "cannot reach the Supabase database at db.abcdefgh.supabase.co:5432: network is unreachable " +
		"(the direct database host is IPv6-only: the session pooler URL also works over IPv4)"
	if err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	assertNoSecret(t, err, "V6-Pa55word")
}

// countingProxy forwards connections to the server at addr and counts the
// logins: connections that open with a startup message (not with a
// request for TLS, which the server refuses here before any password).
func countingProxy(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				first := make([]byte, 8) // length, then the protocol version or request code
				if _, err := io.ReadFull(c, first); err != nil {
					return
				}
				if code := binary.BigEndian.Uint32(first[4:]); code != 80877103 && code != 80877104 { // SSLRequest, GSSENCRequest
					n.Add(1)
				}
				if _, err := s.Write(first); err != nil {
					return
				}
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(s, c); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, s); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return l.Addr().String(), &n
}

func TestPostgresAWrongPasswordIsOneLoginAndFinal(t *testing.T) {
	s := postgresServer(t)
	db := s.database(t, ideaPool)
	proxy, logins := countingProxy(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)))
	url := fmt.Sprintf("postgres://%s:%s@%s/%s", pwUser, "Wr0ng-Passw0rd-typed", proxy, db)
	_, _, err := check(t, url, "idea_pool")
	if err == nil || err.Error() != "the Supabase database refused the password for user checker" {
		t.Fatalf("got %v", err)
	}
	if !integrations.IsFinal(err) {
		t.Error("a refused password is not final: the step would log in again every few seconds")
	}
	if n := logins.Load(); n != 1 {
		t.Errorf("%d logins for one check, want 1", n)
	}
	// A server that cannot be reached now may be reached later.
	_, _, err = check(t, fmt.Sprintf("postgres://postgres:x-Pa55word@127.0.0.1:%d/postgres", freePort()), "idea_pool")
	if err == nil || integrations.IsFinal(err) {
		t.Errorf("an unreachable server: %v (final %v)", err, integrations.IsFinal(err))
	}
}

func TestPostgresTellsATableFromAView(t *testing.T) {
	s := postgresServer(t)
	base := "CREATE TABLE public.ideas (id int, title text);"
	cases := []struct {
		name, setup string
		present     bool
		detail      string
	}{
		{"a view", base + "CREATE VIEW public.idea_pool AS SELECT * FROM public.ideas;", false,
			"public.idea_pool is a view, not the table the migration creates; "},
		{"a materialized view", base + "CREATE MATERIALIZED VIEW public.idea_pool AS SELECT * FROM public.ideas;", false,
			"public.idea_pool is a materialized view, not the table the migration creates; "},
		{"a partitioned table", "CREATE TABLE public.idea_pool (id int, created date) PARTITION BY RANGE (created);", true,
			"table public.idea_pool exists; "},
		{"a table", ideaPool, true, "table public.idea_pool exists; "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := s.database(t, c.setup)
			present, detail, err := check(t, s.url("postgres", "", db), "idea_pool")
			if err != nil {
				t.Fatal(err)
			}
			if present != c.present || !strings.HasPrefix(detail, c.detail) {
				t.Errorf("got %v %q\nwant %v %q…", present, detail, c.present, c.detail)
			}
		})
	}
}

func TestPostgresALeastPrivilegeRoleGetsTheTableCheckWithANote(t *testing.T) {
	s := postgresServer(t)
	db := s.database(t, schemaMigrations+migrations(3, "20251019093000 create_idea_pool")+ideaPool)
	present, detail, err := check(t, s.url(pwUser, pwPassword, db), "idea_pool")
	if err != nil {
		t.Fatalf("blocked: %v", err)
	}
	want := "table public.idea_pool exists; supabase_migrations.schema_migrations cannot be read by user checker (permission denied for schema supabase_migrations): the table check alone decides"
	if !present || detail != want {
		t.Errorf("got %v %q\nwant %q", present, detail, want)
	}
}
