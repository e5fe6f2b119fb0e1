package runbook

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// TestCrashChild is the console that gets killed: it runs the Supabase
// activation up to the apply and says when the apply is under way. It runs
// only as the child of TestCrashBetweenSetAndApplyResumes.
func TestCrashChild(t *testing.T) {
	path := os.Getenv("HDC_CRASH_JOURNAL")
	if path == "" {
		t.Skip("runs as a child process only")
	}
	st := testStack(t, "healthy")
	rb := fastRunbook()
	j, loaded, err := OpenJournal(path, Holder{Operator: "alice", PID: os.Getpid(), Host: "test"}, st.Masker)
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := Replay(rb, path, loaded, false, st.Book)
	r := NewRunner(Options{Runbook: rb, Stack: st, Journal: j, Operator: "alice", History: hist})
	h := &harness{t: t, st: st, rb: rb, j: j, r: r, alice: r.Join("alice"), path: path}
	h.pass(pre...)
	h.pass("1.1", "1.2")
	// Make the restart slow enough to be killed in the middle of it.
	st.Sim.SetRestartTime(5 * time.Second)
	if _, err := r.Run("1.3", h.alice); err != nil {
		t.Fatal(err)
	}
	p := r.State().Prompt
	if err := r.Answer(p.ID, Answer{Typed: p.TypeToConfirm, By: h.alice}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool {
		data, _ := os.ReadFile(path)
		return strings.Contains(string(data), `"action":"apply.intent"`)
	})
	os.Stdout.WriteString("APPLYING\n")
	time.Sleep(time.Minute) // killed before this ends
}

func TestCrashBetweenSetAndApplyResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	killChildAt(t, "TestCrashChild", "APPLYING", "HDC_CRASH_JOURNAL="+path)

	// A new console on the same journal: the lock died with the process.
	h := newHarnessAt(t, path)
	s := h.r.State()
	if !strings.Contains(s.Resume, "1.3 Restart app: apply on hotdash-app was in flight") || !strings.Contains(s.Resume, "re-apply (enter) or roll back (r)?") {
		t.Errorf("resume message: %q", s.Resume)
	}
	for _, id := range append(pre, "1.1", "1.2") {
		if st := s.Step(id); st.State != Passed || st.Operator != "alice" {
			t.Errorf("step %s after resume: %s by %q", id, st.State, st.Operator)
		}
	}
	if st := s.Step("1.3"); st.State != Failed || !strings.HasPrefix(st.Result, "interrupted: ") {
		t.Errorf("1.3 after resume: %s %q", st.State, st.Result)
	}
	if s.Next() != "1.3" {
		t.Errorf("resumes at %q, want 1.3", s.Next())
	}
	// The digest the dead console recorded is known: the flag reads true.
	if v, ok := h.st.Book.Lookup("hotdash-app", "IDEA_POOL_SUPABASE_ENABLED", digestOf(t, path, "IDEA_POOL_SUPABASE_ENABLED")); !ok || v != "true" {
		t.Errorf("digest book after resume: %q %v", v, ok)
	}
}

func digestOf(t *testing.T, path, flag string) string {
	l, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range l.Records {
		if fd, ok := r.Flags[flag]; ok {
			return fd.Digest
		}
	}
	t.Fatalf("no digest for %s", flag)
	return ""
}

// killChildAt runs the test named as a child process with env added,
// and kills it (-9) once it prints marker.
func killChildAt(t *testing.T, test, marker string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if sc.Text() == marker {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(seen) == 0 || seen[len(seen)-1] != marker {
		t.Fatalf("the child never printed %s:\n%s", marker, strings.Join(seen, "\n"))
	}
}

// newHarnessAt opens a runner on an existing journal.
func newHarnessAt(t *testing.T, path string) *harness {
	t.Helper()
	return harnessOn(t, testStack(t, "healthy"), path, "bob", false)
}

func TestReplayFlagSetApplyNotConfirmed(t *testing.T) {
	rb := Default()
	recs := []Record{
		{Runbook: rb.Hash, Time: time.Now(), Operator: "alice", Step: "2.4", App: "hotdash-app-dev", Action: ActStepStart},
		{Runbook: rb.Hash, Time: time.Now(), Operator: "alice", Step: "2.4", App: "hotdash-app-dev", Action: ActWriteIntent, Result: "pending", Commands: []string{"fly secrets set PUBLER_LIVE=true -a hotdash-app-dev --stage"}},
		{Runbook: rb.Hash, Time: time.Now(), Operator: "alice", Step: "2.4", App: "hotdash-app-dev", Action: ActWriteDone, Result: "ok",
			Flags: map[string]FlagDigest{"PUBLER_LIVE": {Value: "true", Digest: "abc123"}}},
	}
	book := integrations.NewDigestBook()
	h, err := Replay(rb, "j", &Loaded{Records: recs}, false, book)
	if err != nil {
		t.Fatal(err)
	}
	if h.InFlight == nil || h.InFlight.Message != "2.4 Activate dev environment: flag set, apply not confirmed: re-apply (enter) or roll back (r)?" {
		t.Errorf("in flight: %+v", h.InFlight)
	}
	if v, _ := book.Lookup("hotdash-app-dev", "PUBLER_LIVE", "abc123"); v != "true" {
		t.Error("digest not replayed")
	}
	// The intent alone: Fly may or may not have it.
	h, _ = Replay(rb, "j", &Loaded{Records: recs[:2]}, false, book)
	if !strings.Contains(h.InFlight.Message, "was in flight, not confirmed: Fly may or may not have it") {
		t.Errorf("intent only: %q", h.InFlight.Message)
	}
}

func TestJournalForAnotherRunbookIsRefused(t *testing.T) {
	rb := Default()
	_, err := Replay(rb, "/tmp/j.jsonl", &Loaded{Records: []Record{{Runbook: "0123456789abcdef", Action: ActSession, Time: time.Now()}}}, false, integrations.NewDigestBook())
	if err == nil || !strings.Contains(err.Error(), "was written for another runbook (hash 0123456789abcdef") || !strings.Contains(err.Error(), "--new-journal") {
		t.Fatalf("err = %v", err)
	}
}

func TestTruncatedLastLineIsToleratedAndReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	good := `{"v":1,"time":"2026-11-27T09:00:00Z","operator":"alice","runbook":"x","action":"session.open"}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"v":1,"time":"2026-11-27T09:01:00Z","oper`), 0o600); err != nil {
		t.Fatal(err)
	}
	j, loaded, err := OpenJournal(path, Holder{Operator: "alice"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Records) != 1 || len(loaded.Warnings) != 1 || !strings.Contains(loaded.Warnings[0], "journal.jsonl:2: the last line was cut short") {
		t.Fatalf("loaded %d records, warnings %q", len(loaded.Records), loaded.Warnings)
	}
	if err := j.Append(Record{Operator: "alice", Runbook: "x", Action: ActSession, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	l, _ := ReadJournal(path)
	if len(l.Records) != 2 || len(l.Warnings) != 1 || !strings.Contains(l.Warnings[0], ":2: not a journal record") {
		t.Errorf("after appending: %d records, %q", len(l.Records), l.Warnings)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), `"oper`+"\n") {
		t.Error("the torn bytes were not kept")
	}
}

func TestSecondConsoleOnTheSameJournalIsRefusedNamingTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _, err := OpenJournal(path, Holder{Operator: "alice", PID: 4242, Host: "ops-laptop", Since: time.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	_, _, err = OpenJournal(path, Holder{Operator: "bob"}, nil)
	if err == nil || !strings.Contains(err.Error(), "is in use by alice (pid 4242 on ops-laptop") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Rotate(path, time.Now()); err == nil {
		t.Error("a journal in use was rotated")
	}
	j.Close()
	if _, _, err := OpenJournal(path, Holder{Operator: "bob"}, nil); err != nil {
		t.Errorf("after the holder closed: %v", err)
	}
}
