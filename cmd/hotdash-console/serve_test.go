package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/runbook/runbooktest"
)

// lockedBuffer is a buffer written by one goroutine and read by another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type served struct {
	addr    string
	runner  *runbook.Runner
	stack   *connect.Stack
	dir     string
	keys    map[string]gossh.Signer
	lines   map[string]string // each operator's authorized_keys line
	keyFile string
	log     *lockedBuffer // the server's stderr
	stop    func() error  // stops the server; its error
}

// serveForTest runs `serve` on the simulator with keys for the named
// operators in its authorized_keys (each named by the key's comment).
func serveForTest(t *testing.T, operators ...string) *served {
	t.Helper()
	dir := t.TempDir()
	s := &served{dir: dir, keys: map[string]gossh.Signer{}, lines: map[string]string{}, keyFile: filepath.Join(dir, "authorized_keys")}
	for _, name := range append(operators, "stranger") {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		signer, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		s.keys[name] = signer
		block, _ := gossh.MarshalPrivateKey(priv, name)
		_ = os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600)
		if name != "stranger" { // a key nobody authorized
			s.lines[name] = strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name
		}
	}
	s.authorize(t, operators...)
	c, _, _ := testCLI()
	s.log = &lockedBuffer{}
	c.stderr = s.log
	ready := make(chan struct{})
	c.onServe = func(addr string, r *runbook.Runner, st *connect.Stack) {
		s.addr, s.runner, s.stack = addr, r, st
		close(ready)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", s.keyFile,
			"--host-key", filepath.Join(dir, "host_key"), "--journal", filepath.Join(dir, "journal.jsonl")})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	var once sync.Once
	var err error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = s.stop() })
	return s
}

// authorize writes the authorized keys file with the named operators' keys.
func (s *served) authorize(t *testing.T, operators ...string) {
	t.Helper()
	var b strings.Builder
	for _, name := range operators {
		b.WriteString(s.lines[name] + "\n")
	}
	s.writeKeys(t, b.String())
}

// writeKeys replaces the authorized keys file with text, as an operator
// editing it would.
func (s *served) writeKeys(t *testing.T, text string) {
	t.Helper()
	if fi, err := os.Stat(s.keyFile); err == nil && fi.IsDir() {
		if err := os.Remove(s.keyFile); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.keyFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *served) journal(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(s.dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// waitLog waits until the server's log says every want.
func (s *served) waitLog(t *testing.T, want ...string) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() error {
		if m := testkit.Missing(s.log.String(), want...); m != "" {
			return fmt.Errorf("the server's log never said %q:\n%s", m, s.log.String())
		}
		return nil
	})
}

// sshTerm is one operator's SSH session shown on a terminal emulator: the
// screen an operator would see, whatever way the renderer sent it.
type sshTerm struct {
	t      *testing.T
	cli    *gossh.Client
	sess   *gossh.Session
	inMu   sync.Mutex
	in     io.Writer
	mu     sync.Mutex
	term   *vt.Emulator
	stderr lockedBuffer
	done   chan struct{} // closed when the session has ended
}

const termW, termH = 160, 45

func (s *served) dial(name string) (*gossh.Client, error) {
	return gossh.Dial("tcp", s.addr, &gossh.ClientConfig{
		User: name, Auth: []gossh.AuthMethod{gossh.PublicKeys(s.keys[name])},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
}

func (s *served) connect(t *testing.T, name string) (*sshTerm, error) {
	t.Helper()
	client, err := s.dial(name)
	if err != nil {
		return nil, err
	}
	sess, err := client.NewSession()
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := sess.RequestPty("xterm-256color", termH, termW, gossh.TerminalModes{}); err != nil {
		client.Close()
		return nil, err
	}
	tm := &sshTerm{t: t, sess: sess, cli: client, term: vt.NewEmulator(termW, termH), done: make(chan struct{})}
	tm.in, _ = sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	sess.Stderr = &tm.stderr
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := out.Read(buf)
			tm.mu.Lock()
			_, _ = tm.term.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// What the terminal answers (its size, colours, modes) goes back to
	// the program, as a real terminal's does.
	go func() {
		buf := make([]byte, 4<<10)
		for {
			n, err := tm.term.Read(buf)
			if err != nil {
				return
			}
			tm.inMu.Lock()
			_, _ = tm.in.Write(buf[:n])
			tm.inMu.Unlock()
		}
	}()
	if err := sess.Shell(); err != nil {
		client.Close()
		return nil, err
	}
	go func() {
		_ = sess.Wait()
		close(tm.done)
	}()
	t.Cleanup(func() { tm.close() })
	return tm, nil
}

func (tm *sshTerm) close() {
	_ = tm.sess.Close()
	_ = tm.cli.Close()
}

// screen is what the terminal shows now.
func (tm *sshTerm) screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.term.String()
}

// waitFor waits until the screen shows every want at once.
func (tm *sshTerm) waitFor(want ...string) string {
	tm.t.Helper()
	var s string
	testkit.Eventually(tm.t, 60*time.Second, func() error {
		s = tm.screen()
		if m := testkit.Missing(s, want...); m != "" {
			return fmt.Errorf("the screen never showed %q:\n%s", m, s)
		}
		return nil
	})
	return s
}

// waitEnded waits until the server has ended the session, and returns
// what the session's error stream said.
func (tm *sshTerm) waitEnded() string {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(60 * time.Second):
		tm.t.Fatalf("the session was never ended; the screen shows:\n%s", tm.screen())
	}
	return tm.stderr.String()
}

// send types keys, each as the terminal sends it.
func (tm *sshTerm) send(keys ...string) {
	tm.inMu.Lock()
	defer tm.inMu.Unlock()
	for _, k := range keys {
		_, _ = tm.in.Write([]byte(k))
	}
}

const (
	enter = "\r"
	ctrlT = "\x14"
	right = "\x1b[C"
)

// runNext opens the checklist, presses enter on the next step and waits
// until the screen shows want.
func (tm *sshTerm) runNext(want string) {
	tm.t.Helper()
	tm.send("c")
	tm.waitFor("Production Integration Activation Guide")
	tm.send("n", enter)
	tm.waitFor(want)
}

// seat is the first connected seat of operator.
func (s *served) seat(t *testing.T, operator string) *runbook.Seat {
	t.Helper()
	for _, si := range s.runner.State().Seats {
		if si.Operator == operator {
			return s.runner.Seat(si.ID)
		}
	}
	t.Fatalf("%s has no seat", operator)
	return nil
}

func waitState(t *testing.T, r *runbook.Runner, what string, cond func(*runbook.State) bool) {
	t.Helper()
	testkit.Eventually(t, 60*time.Second, func() error {
		if !cond(r.State()) {
			return fmt.Errorf("never: %s (seats: %s)", what, runbook.Presence(r.State().Seats))
		}
		return nil
	})
}

// mustConnect connects operator and waits for the dashboard.
func (s *served) mustConnect(t *testing.T, operator string) *sshTerm {
	t.Helper()
	tm, err := s.connect(t, operator)
	if err != nil {
		t.Fatalf("%s: %v", operator, err)
	}
	tm.waitFor("Supabase (Idea Pool)")
	return tm
}

// aliceDriving serves alice and bob, connects alice, who drives, then
// each of watchers (bob, or alice again), who sees alice drive.
func aliceDriving(t *testing.T, watchers ...string) (*served, *sshTerm, []*sshTerm) {
	t.Helper()
	s := serveForTest(t, "alice", "bob")
	alice := s.mustConnect(t, "alice")
	alice.waitFor("you drive")
	var w []*sshTerm
	for _, name := range watchers {
		tm := s.mustConnect(t, name)
		tm.waitFor("alice driving")
		w = append(w, tm)
	}
	return s, alice, w
}

// passTo1_1 passes the pre-activation steps and 1.1 from alice's seat.
func passTo1_1(t *testing.T, s *served) {
	t.Helper()
	runbooktest.Pass(t, s.runner, s.seat(t, "alice"), nil, append(runbooktest.Pre, "1.1")...)
}

// proposeOnProduction has alice, driving, propose 1.2 on production from
// her console, as she would: the checklist, the step, its name typed.
func proposeOnProduction(t *testing.T, s *served, alice *sshTerm) {
	t.Helper()
	passTo1_1(t, s)
	alice.runNext("Type hotdash-app to confirm")
	confirm(alice)
	waitState(t, s.runner, "alice's proposal awaiting approval", func(st *runbook.State) bool { return st.Prompt != nil && st.Prompt.Awaiting })
}

// open1_2 opens the production confirmation of 1.2 from alice's seat, as
// her enter on the step does; answer confirms it, proposing the write.
func open1_2(t *testing.T, s *served) (answer func()) {
	t.Helper()
	seat := s.seat(t, "alice")
	p, err := s.runner.Run("1.2", seat)
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := s.runner.Answer(p.ID, runbook.Answer{Typed: p.TypeToConfirm, By: seat}); err != nil {
			t.Fatal(err)
		}
		waitState(t, s.runner, "alice's proposal awaiting approval", func(st *runbook.State) bool { return st.Prompt != nil && st.Prompt.Awaiting })
	}
}

// confirm types the app's name into the open production confirmation
// and confirms it.
func confirm(tm *sshTerm) {
	tm.t.Helper()
	tm.typeText("Type hotdash-app to confirm", "hotdash-app")
	tm.waitFor("[ Set ]") // until the name is typed it says "Set (type hotdash-app)"
	tm.send(enter, enter)
}

// typeText types text into a dialog's field, the line below the one that
// shows label, one key at a time as an operator does, each waited for on
// the screen: a key is a render on the server, which on a loaded machine
// under the race detector takes seconds.
func (tm *sshTerm) typeText(label, text string) {
	tm.t.Helper()
	for i := range len(text) {
		tm.send(text[i : i+1])
		want := text[:i+1]
		testkit.Eventually(tm.t, 60*time.Second, func() error {
			scr := tm.screen()
			if got := field(scr, label); got != want {
				return fmt.Errorf("the field below %q shows %q, not %q:\n%s", label, got, want, scr)
			}
			return nil
		})
	}
}

// field is the text inside a dialog's box on the line below label.
func field(screen, label string) string {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.Contains(l, label) && i+1 < len(lines) {
			parts := strings.Split(lines[i+1], "│")
			if len(parts) > 1 {
				return strings.TrimSpace(parts[1])
			}
		}
	}
	return ""
}

func TestSharedConsoleOverSSH(t *testing.T) {
	// The same live dashboard for both, and who drives.
	s, alice, w := aliceDriving(t, "bob")
	bob := w[0]
	bob.waitFor("alice driving, bob watching")
	alice.waitFor("alice driving, bob watching")

	// Only the driver acts: bob's enter on a step does nothing.
	bob.send("c")
	bob.waitFor("Production Integration Activation Guide")
	bob.send(enter)
	bob.waitFor("alice is driving: ctrl+t takes control")
	if st := s.runner.State(); st.Running != "" || st.Prompt != nil {
		t.Fatalf("a watcher started something: %+v", st.Prompt)
	}

	// Alice proposes 1.2 on production; bob approves it from his session.
	proposeOnProduction(t, s, alice)
	bob.waitFor("alice proposes: 1.2 Set feature flag on hotdash-app (production)", "[ Approve ]")
	if len(s.stack.Sim.Writes()) != 0 {
		t.Fatal("the write did not wait for the approval")
	}
	bob.send(right, right, enter) // past Not now and Reject

	waitState(t, s.runner, "1.2 passed", func(st *runbook.State) bool { return st.Step("1.2").State == runbook.Passed })
	if st := s.runner.State().Step("1.2"); st.Operator != "alice" || st.Approver != "bob" {
		t.Errorf("1.2 by %q approved by %q", st.Operator, st.Approver)
	}

	// Handover: bob takes control; alice can no longer act.
	bob.send(ctrlT)
	bob.waitFor("Take control?")
	bob.send(right, enter)
	bob.waitFor("you drive", "bob driving, alice watching")
	alice.waitFor("bob driving, alice watching")
	if _, err := s.runner.Run("1.3", s.seat(t, "alice")); err == nil || !strings.Contains(err.Error(), "bob is driving") {
		t.Fatalf("alice acted after bob took control: %v", err)
	}
	data := s.journal(t)
	for _, want := range []string{`"action":"driver.take","note":"took control from alice"`, `"step":"1.2","action":"step.pass"`, `"approver":"bob"`} {
		if !strings.Contains(data, want) {
			t.Errorf("the journal lacks %s", want)
		}
	}
}

// Every SSH session and the server itself open and close in the journal:
// who, with which key, from where; and the server's log says the same.
func TestServeJournalsItsSessions(t *testing.T) {
	s := serveForTest(t, "alice")
	alice := s.mustConnect(t, "alice")
	fp := gossh.FingerprintSHA256(s.keys["alice"].PublicKey())
	from := alice.cli.LocalAddr().String()
	alice.close()
	waitState(t, s.runner, "alice gone", func(st *runbook.State) bool { return len(st.Seats) == 0 })
	s.waitLog(t, "alice connected from "+from+" (key "+fp, "alice's session from "+from+" (seat 1) ended")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	j := s.journal(t)
	for _, want := range []string{
		`"operator":"shared console","runbook":`,
		`"action":"session.open","note":"serve started on 127.0.0.1:`,
		`"operator":"alice","runbook":`,
		`"action":"session.open","note":"ssh session from ` + from + `, key ` + fp + `"`,
		`"action":"session.close","note":"ssh session from ` + from + ` (seat 1) ended: closed by the client"`,
		`"action":"session.close","note":"serve stopped on 127.0.0.1:`,
	} {
		if !strings.Contains(j, want) {
			t.Errorf("the journal lacks %s:\n%s", want, j)
		}
	}
	s.waitLog(t, "serve stopped on 127.0.0.1:")
}

func TestUnknownKeysAreRefused(t *testing.T) {
	s := serveForTest(t, "alice")
	if _, err := s.connect(t, "stranger"); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("a stranger's key got in: %v", err)
	}
}

// A driver dropping mid-prompt closes the prompt, and whoever connects
// next, even the driver again, watches until they take control.
func TestADriverDroppingMidPromptReleasesEverything(t *testing.T) {
	s, alice, w := aliceDriving(t, "bob")
	bob := w[0]
	passTo1_1(t, s)
	alice.runNext("Type hotdash-app to confirm")
	waitState(t, s.runner, "the prompt open", func(st *runbook.State) bool { return st.Prompt != nil })
	alice.close()
	waitState(t, s.runner, "alice gone", func(st *runbook.State) bool {
		return st.Prompt == nil && runbook.Presence(st.Seats) == "nobody driving, bob watching"
	})
	bob.waitFor("nobody driving, bob watching")
	if n := len(s.stack.Sim.Writes()); n != 0 {
		t.Errorf("%d writes", n)
	}

	// alice comes back: she watches, and acts only once she takes control.
	again := s.mustConnect(t, "alice")
	again.waitFor("nobody driving, bob, alice watching")
	again.runNext("nobody drives: ctrl+t takes control")
	if st := s.runner.State(); st.Prompt != nil {
		t.Fatalf("a session that arrived opened a prompt: %+v", st.Prompt)
	}
	again.send(ctrlT)
	again.waitFor("Take control?", "Now nobody drives")
	again.send(right, enter)
	again.waitFor("you drive", "alice driving, bob watching")
}

// A second session of the driver's, watching, cannot open a production
// write or review the driver's proposal: rules compare sessions, not names.
func TestAWatchingSessionOfTheDriverCannotWriteOverSSH(t *testing.T) {
	s, _, w := aliceDriving(t, "alice")
	alice2 := w[0]
	alice2.waitFor("alice driving, alice watching")
	passTo1_1(t, s)
	alice2.runNext("alice drives from another session: ctrl+t takes control here")
	if st := s.runner.State(); st.Prompt != nil {
		t.Fatalf("alice's watching session opened %q", st.Prompt.Title)
	}

	bob := s.mustConnect(t, "bob")
	bob.waitFor("alice driving")
	propose := open1_2(t, s)
	alice2.waitFor("alice is confirming: 1.2 Set feature flag")
	alice2.send(enter) // Hide
	propose()
	bob.waitFor("alice proposes: 1.2 Set feature flag on hotdash-app (production)", "[ Approve ]")
	alice2.send("a", "?") // review, then the help: once it shows, "a" was read
	alice2.waitFor("Log (the focused pane's, or full screen)")
	if scr := alice2.screen(); strings.Contains(scr, "[ Approve ]") || strings.Contains(scr, "a to review") {
		t.Fatalf("alice's second session is offered her own proposal:\n%s", scr)
	}
	if len(s.stack.Sim.Writes()) != 0 {
		t.Fatal("a write happened without bob's approval")
	}
}

// A key removed from the file ends its sessions within seconds: the
// operator is told why, the seat is left, so the proposal it made is
// withdrawn, and the key cannot log in again.
func TestARemovedKeyEndsItsSessions(t *testing.T) {
	s, alice, w := aliceDriving(t, "alice", "bob")
	alice2, bob := w[0], w[1]
	passTo1_1(t, s)
	open1_2(t, s)()
	bob.waitFor("alice proposes: 1.2")

	s.authorize(t, "bob")
	for _, tm := range []*sshTerm{alice, alice2} {
		if said := tm.waitEnded(); !strings.Contains(said, "session ended: alice's key was removed from the authorized keys") {
			t.Errorf("alice was told %q", said)
		}
		tm.mu.Lock()
		alt := tm.term.IsAltScreen()
		tm.mu.Unlock()
		if alt {
			t.Error("alice's terminal was left on the console's screen")
		}
	}
	waitState(t, s.runner, "alice's seats left, her proposal withdrawn", func(st *runbook.State) bool {
		return st.Prompt == nil && runbook.Presence(st.Seats) == "nobody driving, bob watching"
	})
	bob.waitFor("alice's proposal for 1.2 was withdrawn: proposer disconnected")
	if _, err := s.connect(t, "alice"); err == nil {
		t.Fatal("a removed key logged in")
	}
	if len(s.stack.Sim.Writes()) != 0 {
		t.Fatal("the withdrawn proposal wrote")
	}
	s.waitLog(t, "alice's session from", "ended: alice's key was removed from the authorized keys")
	if j := s.journal(t); !strings.Contains(j, `ended: alice's key was removed from the authorized keys"`) {
		t.Errorf("the journal does not say why alice's sessions ended:\n%s", j)
	}
}

// The authorized keys file fails closed: unreadable, malformed, emptied
// or deleted, it lets nobody in, ends every session, and the server's log
// and the journal say why. What was read before is never used instead.
func TestAuthorizedKeysFailClosed(t *testing.T) {
	s := serveForTest(t, "alice")
	for _, tt := range []struct {
		name  string
		spoil func()
		why   string
	}{
		{"malformed", func() { s.writeKeys(t, s.lines["alice"]+"\nssh-ed25519 AAAAnot-a-key bob\n") }, "authorized_keys:2: not an authorized key"},
		{"emptied", func() { s.writeKeys(t, "") }, "authorized_keys has no keys: nobody could connect"},
		{"deleted", func() { _ = os.Remove(s.keyFile) }, "no such file or directory"},
		{"unreadable", func() { _ = os.Remove(s.keyFile); _ = os.Mkdir(s.keyFile, 0o700) }, "is a directory"},
		{"a key with options", func() { s.writeKeys(t, `from="10.0.0.1" `+s.lines["alice"]+"\n") }, `key options (from="10.0.0.1") are not enforced by serve`},
		{"one key, two names", func() { s.writeKeys(t, s.lines["alice"]+"\n"+s.lines["alice"]+"x\n") }, "the key of line 1 again: one key, one operator"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.authorize(t, "alice")
			alice := s.mustConnect(t, "alice")
			tt.spoil()
			if said := alice.waitEnded(); !strings.Contains(said, "session ended: the authorized keys file cannot be used: nobody is authorized") {
				t.Errorf("alice was told %q", said)
			}
			if _, err := s.connect(t, "alice"); err == nil {
				t.Fatal("a login got in with the file " + tt.name)
			}
			s.waitLog(t, tt.why, "every login is refused and every session ended until it is fixed")
			if j := s.journal(t); !strings.Contains(j, `"action":"ssh.keys"`) || !strings.Contains(j, strings.ReplaceAll(tt.why, `"`, `\"`)) {
				t.Errorf("the journal does not say why:\n%s", j)
			}
			s.authorize(t, "alice")
			s.mustConnect(t, "alice").close()
			s.waitLog(t, "can be used again: 1 operators (alice)")
		})
	}
}

// Connections that never log in are dropped after the login timeout, and
// no more than the cap are held at once: 300 idle connections are refused
// or dropped within a minute, and operators get in again afterwards.
func TestIdleConnectionsAreDroppedAndCapped(t *testing.T) {
	s := serveForTest(t, "alice")
	const n = 300
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", s.addr, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		t.Cleanup(func() { c.Close() })
	}
	type result struct {
		said   string
		closed time.Duration
	}
	start := time.Now()
	results := make(chan result, n)
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(90 * time.Second))
			data, _ := io.ReadAll(c) // until the server closes it
			results <- result{string(data), time.Since(start)}
		}()
	}
	// While they are held, an operator is refused with the reason.
	if _, err := s.connect(t, "alice"); err == nil {
		t.Error("the cap let a connection past it")
	}
	refused, held := 0, 0
	for range n {
		r := <-results
		if r.closed > 60*time.Second {
			t.Fatalf("a connection that never logged in was held %s", r.closed.Round(time.Second))
		}
		if strings.Contains(r.said, "hotdash-console: too many connections (32 open): try again later") {
			refused++
		} else {
			held++
		}
	}
	if held > maxConnections || refused < n-maxConnections {
		t.Errorf("%d held, %d refused: the cap is %d", held, refused, maxConnections)
	}
	s.waitLog(t, "32 connections open: new connections are refused until one closes", "connections below the cap again (refused meanwhile: ")
	s.mustConnect(t, "alice")
}

// The host key is refused when others could read or replace it, and the
// error names the file and what is wrong.
func TestHostKeyMustBePrivate(t *testing.T) {
	good := func(path string) {
		if _, err := hostKey(path); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name  string
		setup func(dir string) string // returns the host key path
		want  string
	}{
		{"readable by others", func(dir string) string {
			p := filepath.Join(dir, "host_key")
			good(p)
			_ = os.Chmod(p, 0o644)
			return p
		}, "host_key is readable or writable by others (mode 0644): chmod 600 "},
		{"writable by the group", func(dir string) string {
			p := filepath.Join(dir, "host_key")
			good(p)
			_ = os.Chmod(p, 0o620)
			return p
		}, "(mode 0620)"},
		{"in a world-writable directory", func(dir string) string {
			d := filepath.Join(dir, "shared")
			_ = os.Mkdir(d, 0o700)
			_ = os.Chmod(d, 0o777)
			return filepath.Join(d, "host_key")
		}, "shared is writable by everyone (mode 0777)"},
		{"no key in it", func(dir string) string {
			p := filepath.Join(dir, "host_key")
			_ = os.WriteFile(p, []byte("not a key\n"), 0o600)
			return p
		}, "host_key: ssh: no key found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(dir)
			_, err := hostKey(path)
			if err == nil || !strings.Contains(err.Error(), path) && !strings.Contains(err.Error(), filepath.Dir(path)) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want the file named and %q", err, tt.want)
			}
		})
	}

	// serve refuses to start on it, with the reason.
	dir := t.TempDir()
	keys := filepath.Join(dir, "operators")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	_ = os.WriteFile(keys, append(bytes.TrimSpace(gossh.MarshalAuthorizedKey(signer.PublicKey())), " alice\n"...), 0o600)
	host := filepath.Join(dir, "host_key")
	good(host)
	_ = os.Chmod(host, 0o640)
	c, _, _ := testCLI()
	err := c.run(context.Background(), []string{"serve", "--authorized-keys", keys, "--host-key", host, "--listen", "127.0.0.1:0", "--journal", filepath.Join(dir, "j.jsonl")})
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), host+" is readable or writable by others (mode 0640)") {
		t.Fatalf("serve with a readable host key: %v", err)
	}
	// A generated key is this user's only.
	fresh := filepath.Join(dir, "new", "host_key")
	good(fresh)
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o600 {
		t.Errorf("a generated host key has mode %04o", fi.Mode().Perm())
	}
}

func TestEndToEndPairingWithOpenSSH(t *testing.T) {
	if _, err := os.Stat("/usr/bin/ssh"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the OpenSSH client is not installed: .ci/run installs it")
		}
		t.Skip("no OpenSSH client")
	}
	s := serveForTest(t, "alice", "bob")
	host, port, _ := strings.Cut(s.addr, ":")
	ssh := func(name string) []string {
		return []string{"ssh", "-F", "/dev/null", "-i", filepath.Join(s.dir, name), "-p", port, "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-tt", name + "@" + host}
	}
	a := newTmux(t, 160, 45, []string{"TERM=xterm-256color"}, ssh("alice")...)
	a.waitFor("Supabase (Idea Pool)", "you drive")
	b := newTmux(t, 160, 45, []string{"TERM=xterm-256color"}, ssh("bob")...)
	b.waitFor("Supabase (Idea Pool)", "alice driving, bob watching", "IDEA_POOL_SUPABASE_ENABLED unset (off)")
	a.waitFor("alice driving, bob watching")
	b.keys("C-t")
	b.waitFor("Take control?")
	b.keys("Right", "Enter")
	b.waitFor("you drive (bob driving, alice watching)")
	a.waitFor("bob driving, alice watching")

	// bob's key is removed: his terminal is given back with the reason.
	s.authorize(t, "alice")
	b.waitFor("hotdash-console: session ended: bob's key was removed from the authorized keys")
	a.waitFor("nobody driving, alice watching")
}
