package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/activeterm"
	bm "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/tui"
)

type ctxKey string

const (
	operatorKey ctxKey = "hotdash-operator"
	sessionKey  ctxKey = "hotdash-session"
)

// shared is the one engine every SSH session views.
type shared struct {
	stack  *connect.Stack
	rb     *runbook.Runbook
	runner *runbook.Runner
	hist   string
	scen   string
}

// serve is `hotdash-console serve`: the console shared over SSH. Every
// session gets its own view (focus, scroll, filters) over one engine: the
// same panes, checklist, journal and runner. One session drives at a time.
func (c *cli) serve(ctx context.Context, o serveOptions) error {
	g := o.globalFlags
	if o.keys == "" {
		return usageError("serve needs --authorized-keys FILE: the operators' public keys, each named by its comment")
	}
	operators, err := readAuthorizedKeys(o.keys)
	if err != nil {
		return exitError{2, err}
	}
	demo := g.config == ""
	e, err := c.start(ctx, g, demo, func(*config.Config) string { return "shared console" })
	if err != nil {
		return err
	}
	defer e.close()
	if o.hostKey == "" {
		o.hostKey = filepath.Join(filepath.Dir(e.journal.Path()), "ssh_host_ed25519")
	}
	if err := os.MkdirAll(filepath.Dir(o.hostKey), 0o700); err != nil {
		return exitError{2, err}
	}
	e.runner.Share()
	sh := &shared{stack: e.stack, rb: e.rb, runner: e.runner, hist: e.hist, scen: e.cfg.Sim.Scenario}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return exitError{2, fmt.Errorf("serve: %w", err)}
	}
	srv, err := wish.NewServer(
		wish.WithHostKeyPath(o.hostKey),
		wish.WithPublicKeyAuth(func(sctx ssh.Context, key ssh.PublicKey) bool {
			// Read the file again on every login: adding or removing an
			// operator needs no restart.
			current, err := readAuthorizedKeys(o.keys)
			if err != nil {
				current = operators
			}
			name, ok := current.lookup(key)
			if ok {
				sctx.SetValue(operatorKey, name)
			}
			return ok
		}),
		// The last middleware runs first: no terminal, no seat.
		wish.WithMiddleware(
			bm.MiddlewareWithProgramHandler(sh.program),
			sh.seatMiddleware,
			activeterm.Middleware(),
		),
	)
	if err != nil {
		ln.Close()
		return exitError{2, fmt.Errorf("serve: %w", err)}
	}
	fmt.Fprintf(c.stderr, "serving the console on %s (host key %s; %d authorized operators; journal %s)\n", ln.Addr(), o.hostKey, len(operators), e.journal.Path())
	if c.onServe != nil {
		c.onServe(ln.Addr().String(), e.runner, e.stack)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-done:
		if err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			return err
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return nil
}

// seatMiddleware seats the operator for the session and frees the seat
// when the session ends, however it ends.
func (sh *shared) seatMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		name, _ := sess.Context().Value(operatorKey).(string)
		seat := sh.runner.Join(name)
		sess.Context().SetValue(sessionKey, seat)
		defer seat.Leave()
		next(sess)
	}
}

// program builds one session's view over the shared engine.
func (sh *shared) program(sess ssh.Session) *tea.Program {
	seat, _ := sess.Context().Value(sessionKey).(*runbook.Seat)
	if seat == nil {
		return nil
	}
	m := tui.New(tui.Options{Stack: sh.stack, Runbook: sh.rb, Runner: sh.runner, Operator: seat.Operator, Seat: seat,
		Scenario: sh.scen, HistoryPath: sh.hist})
	go func() {
		<-sess.Context().Done()
		m.Close()
	}()
	return tea.NewProgram(m, bm.MakeOptions(sess)...)
}

// authorizedKey is an authorized key and its operator's name.
type authorizedKey struct {
	key  gossh.PublicKey
	name string
}

// operatorKeys are the authorized keys.
type operatorKeys []authorizedKey

func (k operatorKeys) lookup(key ssh.PublicKey) (string, bool) {
	for _, e := range k {
		if ssh.KeysEqual(e.key, key) {
			return e.name, true
		}
	}
	return "", false
}

// readAuthorizedKeys reads an authorized_keys file; each key's comment
// names its operator.
func readAuthorizedKeys(path string) (operatorKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	defer f.Close()
	var out operatorKeys
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not an authorized key: %v", path, n, err)
		}
		if strings.TrimSpace(comment) == "" {
			// The comment is the operator's name; without it one key could
			// log in under two names and approve its own writes.
			return nil, fmt.Errorf("%s:%d: the key has no comment: end the line with its operator's name (ssh-ed25519 AAAA… alice)", path, n)
		}
		out = append(out, authorizedKey{key, strings.TrimSpace(comment)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no keys: nobody could connect", path)
	}
	return out, sc.Err()
}
