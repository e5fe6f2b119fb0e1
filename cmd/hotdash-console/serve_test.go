package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/testkit"
	"github.com/hotdash/hotdash-console/runbook"
	"github.com/hotdash/hotdash-console/runbook/runbooktest"
)

type served struct {
	addr   string
	runner *runbook.Runner
	stack  *connect.Stack
	dir    string
	keys   map[string]gossh.Signer
}

// serveForTest runs `serve` on the simulator with keys for the named
// operators in its authorized_keys (each named by the key's comment).
func serveForTest(t *testing.T, operators ...string) *served {
	t.Helper()
	dir := t.TempDir()
	s := &served{dir: dir, keys: map[string]gossh.Signer{}}
	var auth bytes.Buffer
	for _, name := range append(operators, "stranger") {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		signer, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		s.keys[name] = signer
		if name == "stranger" {
			continue // a key nobody authorized
		}
		auth.WriteString(strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name + "\n")
		block, _ := gossh.MarshalPrivateKey(priv, name)
		_ = os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600)
	}
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, auth.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, _ := testCLI()
	ready := make(chan struct{})
	c.onServe = func(addr string, r *runbook.Runner, st *connect.Stack) {
		s.addr, s.runner, s.stack = addr, r, st
		close(ready)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--authorized-keys", keys,
			"--host-key", filepath.Join(dir, "host_key"), "--journal", filepath.Join(dir, "journal.jsonl")})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s
}

// sshTerm is one operator's SSH session, with what it has shown so far.
type sshTerm struct {
	t     *testing.T
	in    io.WriteCloser
	sess  *gossh.Session
	cli   *gossh.Client
	mu    sync.Mutex
	out   bytes.Buffer
	since int
}

func (s *served) connect(t *testing.T, name string) (*sshTerm, error) {
	t.Helper()
	client, err := gossh.Dial("tcp", s.addr, &gossh.ClientConfig{
		User: name, Auth: []gossh.AuthMethod{gossh.PublicKeys(s.keys[name])},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	sess, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	if err := sess.RequestPty("xterm-256color", 45, 160, gossh.TerminalModes{}); err != nil {
		return nil, err
	}
	tm := &sshTerm{t: t, sess: sess, cli: client}
	tm.in, _ = sess.StdinPipe()
	out, _ := sess.StdoutPipe()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := out.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := sess.Shell(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { tm.close() })
	return tm, nil
}

func (tm *sshTerm) close() {
	_ = tm.sess.Close()
	_ = tm.cli.Close()
}

// text is what the session has shown since the last mark, as plain text.
func (tm *sshTerm) text() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return ansi.Strip(tm.out.String()[tm.since:])
}

// mark forgets what was shown so far.
func (tm *sshTerm) mark() {
	tm.mu.Lock()
	tm.since = tm.out.Len()
	tm.mu.Unlock()
}

func (tm *sshTerm) waitFor(want string) {
	tm.t.Helper()
	testkit.Eventually(tm.t, 60*time.Second, func() error {
		if txt := tm.text(); !strings.Contains(txt, want) {
			return fmt.Errorf("the session never showed %q; it showed:\n%s", want, tail(txt, 3000))
		}
		return nil
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (tm *sshTerm) send(keys ...string) {
	for _, k := range keys {
		_, _ = tm.in.Write([]byte(k))
		time.Sleep(30 * time.Millisecond)
	}
}

const (
	enter = "\r"
	ctrlT = "\x14"
	right = "\x1b[C"
)

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
			return fmt.Errorf("never: %s", what)
		}
		return nil
	})
}

func TestSharedConsoleOverSSH(t *testing.T) {
	s := serveForTest(t, "alice", "bob")
	alice, err := s.connect(t, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFor("Supabase (Idea Pool)")
	alice.waitFor("you drive")
	bob, err := s.connect(t, "bob")
	if err != nil {
		t.Fatal(err)
	}
	// The same live dashboard for both, and who drives.
	bob.waitFor("Supabase (Idea Pool)")
	bob.waitFor("alice driving, bob watching")
	// Alice's screen was drawn before bob came: only what changed is sent.
	alice.waitFor("bob watching")

	// Only the driver acts: bob's enter on a step does nothing.
	bob.send("c")
	bob.waitFor("Production Integration Activation Guide")
	bob.mark()
	bob.send(enter)
	bob.waitFor("alice is driving: ctrl+t takes control")
	if st := s.runner.State(); st.Running != "" || st.Prompt != nil {
		t.Fatalf("a watcher started something: %+v", st.Prompt)
	}

	// Prepare the production write: the pre-activation steps and 1.1.
	runbooktest.Pass(t, s.runner, s.seat(t, "alice"), nil, append(runbooktest.Pre, "1.1")...)

	// Alice proposes 1.2 on production; bob approves it from his session.
	alice.send("c")
	alice.waitFor("Production Integration Activation Guide")
	alice.send("n", enter)
	alice.waitFor("Type hotdash-app to confirm")
	bob.mark()
	alice.send("hotdash-app", enter, enter)
	waitState(t, s.runner, "alice's proposal awaiting approval", func(st *runbook.State) bool { return st.Prompt != nil && st.Prompt.Awaiting })
	bob.waitFor("alice proposes: 1.2 Set feature flag on hotdash-app (production)")
	if len(s.stack.Sim.Writes()) != 0 {
		t.Fatal("the write did not wait for the approval")
	}
	bob.send(right, right, enter) // past Not now and Reject

	waitState(t, s.runner, "1.2 passed", func(st *runbook.State) bool { return st.Step("1.2").State == runbook.Passed })
	if st := s.runner.State().Step("1.2"); st.Operator != "alice" || st.Approver != "bob" {
		t.Errorf("1.2 by %q approved by %q", st.Operator, st.Approver)
	}

	// Handover: bob takes control; alice can no longer act.
	bob.mark()
	bob.send(ctrlT)
	bob.waitFor("Take control?")
	bob.send(right, enter)
	bob.waitFor("you drive")
	waitState(t, s.runner, "bob drives", func(st *runbook.State) bool {
		return runbook.Presence(st.Seats) == "bob driving, alice watching"
	})
	if _, err := s.runner.Run("1.3", s.seat(t, "alice")); err == nil || !strings.Contains(err.Error(), "bob is driving") {
		t.Fatalf("alice acted after bob took control: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(s.dir, "journal.jsonl"))
	for _, want := range []string{`"action":"driver.take","note":"took control from alice"`, `"step":"1.2","action":"step.pass"`, `"approver":"bob"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the journal lacks %s", want)
		}
	}
}

func TestUnknownKeysAreRefused(t *testing.T) {
	s := serveForTest(t, "alice")
	if _, err := s.connect(t, "stranger"); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("a stranger's key got in: %v", err)
	}
}

func TestADriverDroppingMidPromptReleasesEverything(t *testing.T) {
	s := serveForTest(t, "alice", "bob")
	alice, err := s.connect(t, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFor("you drive")
	bob, err := s.connect(t, "bob")
	if err != nil {
		t.Fatal(err)
	}
	bob.waitFor("bob watching")
	runbooktest.Pass(t, s.runner, s.seat(t, "alice"), nil, append(runbooktest.Pre, "1.1")...)
	alice.send("c")
	alice.waitFor("Production Integration Activation Guide")
	alice.send("n", enter)
	alice.waitFor("Type hotdash-app to confirm")
	waitState(t, s.runner, "the prompt open", func(st *runbook.State) bool { return st.Prompt != nil })
	alice.close()
	waitState(t, s.runner, "alice gone", func(st *runbook.State) bool {
		return st.Prompt == nil && runbook.Presence(st.Seats) == "nobody driving, bob watching"
	})
	bob.waitFor("nobody driving, bob watching")
	if n := len(s.stack.Sim.Writes()); n != 0 {
		t.Errorf("%d writes", n)
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
}
