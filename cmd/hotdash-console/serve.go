package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/activeterm"
	bm "charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/tui"
)

// The SSH server's limits.
const (
	// loginTimeout drops a connection that has not logged in by then.
	loginTimeout = 10 * time.Second
	// maxConnections caps the connections open at once, logged in or not,
	// and the sessions: one more is refused with a message.
	maxConnections = 32
	// keysPeriod is how often the authorized keys file is read again.
	keysPeriod = time.Second
	// endGrace is how long a session the server ends has to restore its
	// operator's terminal before its connection is cut.
	endGrace = 5 * time.Second
)

// serverName is who the server's own journal records name.
const serverName = "shared console"

// actKeys journals the authorized keys file becoming unusable (every login
// refused, every session ended) and usable again.
const actKeys = "ssh.keys"

// shared is the one engine every SSH session views, and the server's
// sessions.
type shared struct {
	stack   *connect.Stack
	rb      *runbook.Runbook
	runner  *runbook.Runner
	journal *runbook.Journal
	hist    string
	scen    string
	keys    *authorizedKeys
	log     *serveLog
	conns   connCap

	mu       sync.Mutex
	live     map[ssh.Session]*liveSession
	stopping bool
	wg       sync.WaitGroup // the live sessions
}

// liveSession is one connected SSH session: whose key, which seat, and
// its program once it runs.
type liveSession struct {
	sess     ssh.Session
	key      gossh.PublicKey
	operator string
	from     string // the remote address, sanitised
	seat     *runbook.Seat

	mu    sync.Mutex
	prog  *tea.Program
	model *tui.Model
	why   string      // why the server ended the session
	cut   *time.Timer // cuts the connection if the program does not quit
}

// serve is `hotdash-console serve`: the console shared over SSH. Every
// session gets its own view (focus, scroll, filters) over one engine: the
// same panes, checklist, journal and runner. One session drives at a time.
//
// The server fails closed: the authorized keys file is read at every
// login and every second, and a file that cannot be used authorizes
// nobody; a session whose key is no longer authorized is ended. Logins
// must finish within loginTimeout, at most maxConnections are open, and
// the host key must be private.
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
	e, err := c.start(ctx, g, demo, func(*config.Config) string { return serverName })
	if err != nil {
		return err
	}
	defer e.close()
	if o.hostKey == "" {
		o.hostKey = filepath.Join(filepath.Dir(e.journal.Path()), "ssh_host_ed25519")
	}
	signer, err := hostKey(o.hostKey)
	if err != nil {
		return exitError{2, err}
	}
	e.runner.Share()
	sh := &shared{stack: e.stack, rb: e.rb, runner: e.runner, journal: e.journal, hist: e.hist, scen: e.cfg.Sim.Scenario,
		log: &serveLog{w: c.stderr}, live: map[ssh.Session]*liveSession{}}
	sh.keys = &authorizedKeys{path: o.keys, problem: sh.keysProblem}
	sh.conns.log = sh.log

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return exitError{2, fmt.Errorf("serve: %w", err)}
	}
	srv, err := wish.NewServer(
		func(s *ssh.Server) error {
			s.AddHostKey(signer)
			s.HandshakeTimeout = loginTimeout
			s.ConnCallback = sh.conns.admit
			return nil
		},
		wish.WithPublicKeyAuth(sh.authorize),
		// The last middleware runs first: no terminal, no seat.
		wish.WithMiddleware(
			bm.MiddlewareWithProgramHandler(sh.program),
			sh.sessionMiddleware,
			activeterm.Middleware(),
		),
	)
	if err != nil {
		ln.Close()
		return exitError{2, fmt.Errorf("serve: %w", err)}
	}
	hostFP := gossh.FingerprintSHA256(signer.PublicKey())
	sh.log.printf("serving the console on %s (host key %s %s; %d authorized operators: %s; journal %s)",
		ln.Addr(), o.hostKey, hostFP, len(operators), operators.names(), e.journal.Path())
	sh.journalf(runbook.ActSession, serverName, "", "serve started on %s (host key %s, operators %s, pid %d)", ln.Addr(), hostFP, operators.names(), os.Getpid())
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		sh.keys.watch(watchCtx, keysPeriod, operators, sh.keysChanged)
	}()
	if c.onServe != nil {
		c.onServe(ln.Addr().String(), e.runner, e.stack)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case err := <-done:
		if err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			serveErr = err
		}
	}
	stopWatch()
	<-watched
	n := sh.stop(srv)
	note := fmt.Sprintf("serve stopped on %s (%d sessions ended)", ln.Addr(), n)
	if serveErr != nil {
		note = fmt.Sprintf("serve stopped on %s: %v (%d sessions ended)", ln.Addr(), serveErr, n)
	}
	sh.journalf(runbook.ActSessionEnd, serverName, "", "%s", note)
	sh.log.printf("%s", note)
	return serveErr
}

// stop ends every session (each operator's screen is restored and told
// why), closes the server and every connection still open, and returns
// how many sessions it ended.
func (sh *shared) stop(srv *ssh.Server) int {
	sh.conns.refuseNew()
	sh.mu.Lock()
	sh.stopping = true
	live := make([]*liveSession, 0, len(sh.live))
	for _, ls := range sh.live {
		live = append(live, ls)
	}
	sh.mu.Unlock()
	for _, ls := range live {
		sh.end(ls, "the server is stopping")
	}
	ended := make(chan struct{})
	go func() {
		sh.wg.Wait()
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(endGrace + 2*time.Second):
	}
	_ = srv.Close()
	sh.conns.closeAll()
	return len(live)
}

// authorize lets a key log in when the authorized keys file, read now,
// names it. Who the session is comes later from the key the login proved
// (sessionMiddleware), never from a key merely offered here.
func (sh *shared) authorize(_ ssh.Context, key ssh.PublicKey) bool {
	keys, err := sh.keys.read()
	if err != nil {
		return false
	}
	_, ok := keys.lookup(key)
	return ok
}

// sessionMiddleware seats the operator whose key the login proved, runs
// the session, and frees the seat when it ends, however it ends. Each
// session's open and close is journaled with the operator, the key's
// fingerprint and the remote address.
func (sh *shared) sessionMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		ls, refused := sh.open(sess)
		if refused != "" {
			wish.Fatalln(sess, "hotdash-console: "+refused)
			return
		}
		defer sh.close(ls)
		next(sess)
		if why := ls.ended(); why != "" {
			wish.Fatalln(sess, "\r\nhotdash-console: session ended: "+why)
		}
	}
}

// open registers a session and seats the operator its key names, or says
// why not. The file is read again under the lock keysChanged takes: a
// session either is registered before a change is acted on, and ended by
// it, or reads the file after it.
func (sh *shared) open(sess ssh.Session) (*liveSession, string) {
	from := integrations.Clip(fmt.Sprint(sess.RemoteAddr()), 100)
	key := sess.PublicKey()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	keys, err := sh.keys.read()
	name, ok := keys.lookup(key)
	switch {
	case err != nil || !ok:
		return nil, "this key is not authorized"
	case sh.stopping:
		return nil, "the server is stopping"
	case len(sh.live) >= maxConnections:
		sh.log.printf("session of %s from %s refused: %d sessions open", name, from, len(sh.live))
		return nil, fmt.Sprintf("too many sessions (%d open): try again later", len(sh.live))
	}
	fp := gossh.FingerprintSHA256(key)
	sh.journalf(runbook.ActSession, name, "", "ssh session from %s, key %s", from, fp)
	ls := &liveSession{sess: sess, key: key, operator: name, from: from, seat: sh.runner.Join(name)}
	sh.live[sess] = ls
	sh.wg.Add(1)
	sh.log.printf("%s connected from %s (key %s, seat %d)", name, from, fp, ls.seat.ID())
	return ls, ""
}

// close unregisters a session that ended: its seat is left (what it had
// open or proposed is withdrawn) and its close journaled.
func (sh *shared) close(ls *liveSession) {
	ls.mu.Lock()
	why, model := ls.why, ls.model
	if ls.cut != nil {
		ls.cut.Stop()
	}
	ls.mu.Unlock()
	ls.seat.Leave()
	if model != nil {
		model.Close()
	}
	if why == "" {
		why = "closed by the client"
	}
	sh.mu.Lock()
	delete(sh.live, ls.sess)
	sh.mu.Unlock()
	sh.journalf(runbook.ActSessionEnd, ls.operator, "", "ssh session from %s (seat %d) ended: %s", ls.from, ls.seat.ID(), why)
	sh.log.printf("%s's session from %s (seat %d) ended: %s", ls.operator, ls.from, ls.seat.ID(), why)
	sh.wg.Done()
}

// end ends a session from the server's side: its seat is left at once,
// so its proposals are withdrawn now; its program quits, restoring the
// operator's terminal, and they are told why. A program that does not
// quit within endGrace has its connection cut.
func (sh *shared) end(ls *liveSession, why string) {
	ls.mu.Lock()
	if ls.why != "" {
		ls.mu.Unlock()
		return
	}
	ls.why = why
	prog := ls.prog
	ls.cut = time.AfterFunc(endGrace, func() {
		if conn, ok := ls.sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
			_ = conn.Close()
		}
		_ = ls.sess.Close()
	})
	ls.mu.Unlock()
	ls.seat.Leave()
	if prog != nil {
		go prog.Quit()
	}
}

// ended says why the server ended the session, or "".
func (ls *liveSession) ended() string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.why
}

// keysChanged ends every session whose key the authorized keys file no
// longer authorizes under the same name; a file that cannot be used
// authorizes nobody.
func (sh *shared) keysChanged(keys operatorKeys, err error) {
	sh.mu.Lock()
	var gone []*liveSession
	var whys []string
	for _, ls := range sh.live {
		name, ok := keys.lookup(ls.key)
		switch {
		case err != nil:
			gone, whys = append(gone, ls), append(whys, "the authorized keys file cannot be used: nobody is authorized")
		case !ok:
			gone, whys = append(gone, ls), append(whys, ls.operator+"'s key was removed from the authorized keys")
		case name != ls.operator:
			gone, whys = append(gone, ls), append(whys, fmt.Sprintf("the authorized keys now name this key %s, not %s: connect again", name, ls.operator))
		}
	}
	sh.mu.Unlock()
	for i, ls := range gone {
		sh.end(ls, whys[i])
	}
}

// keysProblem tells the server's log and the journal that the authorized
// keys file became unusable, or usable again.
func (sh *shared) keysProblem(keys operatorKeys, err error) {
	if err != nil {
		err = integrations.SanitizeError(err, 500)
		sh.log.printf("authorized keys: %v: every login is refused and every session ended until it is fixed", err)
		sh.journalf(actKeys, serverName, err.Error(), "the authorized keys file cannot be used: every login is refused and every session ended")
		return
	}
	sh.log.printf("authorized keys %s can be used again: %d operators (%s)", sh.keys.path, len(keys), keys.names())
	sh.journalf(actKeys, serverName, "", "the authorized keys file can be used again: operators %s", keys.names())
}

// journalf appends a record of the server's; one that cannot be written
// is said in the server's log.
func (sh *shared) journalf(action, operator, problem, format string, args ...any) {
	rec := runbook.Record{Time: time.Now().UTC(), Operator: operator, Runbook: sh.rb.Hash, Action: action,
		Note: fmt.Sprintf(format, args...), Error: problem}
	if err := sh.journal.Append(rec); err != nil {
		sh.log.printf("could not record %s: %v", action, err)
	}
}

// program builds one session's view over the shared engine.
func (sh *shared) program(sess ssh.Session) *tea.Program {
	sh.mu.Lock()
	ls := sh.live[sess]
	sh.mu.Unlock()
	if ls == nil {
		return nil
	}
	m := tui.New(tui.Options{Stack: sh.stack, Runbook: sh.rb, Runner: sh.runner, Operator: ls.operator, Seat: ls.seat,
		Scenario: sh.scen, HistoryPath: sh.hist})
	p := tea.NewProgram(m, bm.MakeOptions(sess)...)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.model = m
	if ls.why != "" {
		return nil // ended before its program ran
	}
	ls.prog = p
	return p
}

// serveLog is the server's log (stderr): one line per event, with the
// time, written whole from any goroutine. Outside text in it (operator
// names, addresses, errors) is sanitised.
type serveLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *serveLog) printf(format string, args ...any) {
	line := integrations.Clip(fmt.Sprintf(format, args...), 2000)
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s serve: %s\n", time.Now().Format("2006-01-02 15:04:05"), line)
}

// connCap admits at most maxConnections connections at once, logged in or
// not; one more is told so and closed. Loginless connections are dropped
// after loginTimeout by the server itself.
type connCap struct {
	log *serveLog

	mu      sync.Mutex
	open    map[*cappedConn]struct{}
	refused int // since the cap was reached
	closed  bool
}

// cappedConn is an admitted connection; closing it frees its place.
type cappedConn struct {
	net.Conn
	c    *connCap
	once sync.Once
}

func (cc *cappedConn) Close() error {
	cc.once.Do(func() { cc.c.release(cc) })
	return cc.Conn.Close()
}

// admit is the server's connection callback: nil refuses the connection.
func (c *connCap) admit(_ ssh.Context, conn net.Conn) net.Conn {
	c.mu.Lock()
	if c.open == nil {
		c.open = map[*cappedConn]struct{}{}
	}
	if c.closed || len(c.open) >= maxConnections {
		if c.refused == 0 && !c.closed {
			c.log.printf("%d connections open: new connections are refused until one closes", len(c.open))
		}
		c.refused++
		c.mu.Unlock()
		refuse(conn, fmt.Sprintf("hotdash-console: too many connections (%d open): try again later\r\n", maxConnections))
		return nil
	}
	cc := &cappedConn{Conn: conn, c: c}
	c.open[cc] = struct{}{}
	c.mu.Unlock()
	return cc
}

// refuse tells a connection why it is refused and closes it. Before its
// version line an SSH server may send text lines (a client logs them);
// the connection is half-closed and what the client sent read away
// first, so the text is not lost to a reset.
func refuse(conn net.Conn, why string) {
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	_, _ = io.WriteString(conn, why)
	if tc, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		_, _ = io.Copy(io.Discard, io.LimitReader(conn, 64<<10))
	}
}

func (c *connCap) release(cc *cappedConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open, cc)
	if c.refused > 0 && !c.closed {
		c.log.printf("connections below the cap again (refused meanwhile: %d)", c.refused)
		c.refused = 0
	}
}

// refuseNew admits no more connections.
func (c *connCap) refuseNew() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
}

// closeAll closes every connection, logged in or not, and admits no more.
func (c *connCap) closeAll() {
	c.refuseNew()
	c.mu.Lock()
	open := make([]*cappedConn, 0, len(c.open))
	for cc := range c.open {
		open = append(open, cc)
	}
	c.mu.Unlock()
	for _, cc := range open {
		_ = cc.Close()
	}
}
