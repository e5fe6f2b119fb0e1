package runbook

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/testkit"
)

// skip is the record of step id skipped by alice, long enough (about 12
// KB, three pages) to be cut in two by a full disk.
func skip(id string) Record {
	long := strings.Repeat("the dashboard agrees; ", 180)
	return Record{Operator: "alice", Runbook: Default().Hash, Step: id, Action: ActStepSkip, Time: time.Now().UTC(),
		Note: "done by hand: " + long, Result: long, Before: long}
}

// smallDisk returns a directory on a 64 KB tmpfs, or "" when this system
// cannot mount one (mounting needs root).
func smallDisk(t *testing.T) string {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Logf("no tmpfs (%v): the disk is simulated", err)
		return ""
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill takes all the room left on the file system of dir but about free
// bytes, and returns the function that gives it back.
func fill(t *testing.T, dir string, free int64) func() {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1024)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	fi, _ := f.Stat()
	if err := f.Truncate(fi.Size() - free); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// fullDisk is a file on a disk with room bytes left: a write that does not
// fit writes what fits and fails with ENOSPC, as a full file system does.
type fullDisk struct {
	*os.File
	room       int
	noTruncate bool // truncating fails too
}

func (d *fullDisk) Write(b []byte) (int, error) {
	if len(b) <= d.room {
		d.room -= len(b)
		return d.File.Write(b)
	}
	n, _ := d.File.Write(b[:d.room])
	d.room -= n
	return n, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
}

func (d *fullDisk) Truncate(size int64) error {
	if d.noTruncate {
		return &os.PathError{Op: "truncate", Path: d.Name(), Err: syscall.EIO}
	}
	return d.File.Truncate(size)
}

func open(t *testing.T, path string) (*Journal, *Loaded) {
	t.Helper()
	j, l, err := OpenJournal(path, Holder{Operator: "alice", PID: os.Getpid(), Host: "test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j, l
}

func TestAnAppendOnAFullDiskLeavesAReadableJournalAndTheNextOneWorks(t *testing.T) {
	dir := smallDisk(t)
	onTmpfs := dir != ""
	if !onTmpfs {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, "journal.jsonl")
	j, _ := open(t, path)
	defer func() { j.Close() }()
	for _, id := range []string{"pre.1", "pre.2"} {
		if err := j.Append(skip(id)); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := os.ReadFile(path)

	// The next record fits only in part.
	var free func()
	if onTmpfs {
		free = fill(t, dir, 4096)
	} else {
		disk := &fullDisk{File: j.f.(*os.File), room: 3000}
		j.f, free = disk, func() { disk.room = 1 << 30 }
	}
	err := j.Append(skip("pre.3"))
	if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "the record was not saved") {
		t.Fatalf("append on a full disk: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Fatalf("the failed record left %d bytes behind", len(after)-len(before))
	}

	// Room again: the skip is saved, and the journal reopens with every
	// record and nothing torn.
	free()
	if err := j.Append(skip("pre.3")); err != nil {
		t.Fatalf("append once there is room: %v", err)
	}
	j.Close()
	j, loaded := open(t, path)
	if len(loaded.Records) != 3 || len(loaded.Warnings) != 0 {
		t.Fatalf("reopened: %d records, warnings %q", len(loaded.Records), loaded.Warnings)
	}
	hist, err := Replay(Default(), path, loaded, false, integrations.NewDigestBook())
	if err != nil {
		t.Fatal(err)
	}
	if st := hist.Steps["pre.3"].State; st != Skipped {
		t.Errorf("pre.3 after restart: %v, want skipped", st)
	}
}

func TestARecordCutShortThatCannotBeTakenBackLeavesTheNextOnALineOfItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path)
	if err := j.Append(skip("pre.1")); err != nil {
		t.Fatal(err)
	}
	disk := &fullDisk{File: j.f.(*os.File), room: 1000, noTruncate: true}
	j.f = disk
	if err := j.Append(skip("pre.2")); err == nil {
		t.Fatal("the append did not fail")
	}
	disk.room = 1 << 30
	if err := j.Append(skip("pre.3")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	l, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 2 || l.Records[1].Step != "pre.3" || len(l.Warnings) != 1 || !strings.HasSuffix(l.Warnings[0], "journal.jsonl:2: not a journal record; ignored") {
		t.Errorf("records %d, warnings %q", len(l.Records), l.Warnings)
	}
}

func TestASymlinkedJournalIsLockedAsTheFileItLeadsTo(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "journal.jsonl")
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink("journal.jsonl", link); err != nil {
		t.Fatal(err)
	}
	// The link leads to a journal that does not exist yet: opening it
	// creates the file it leads to.
	j, _ := open(t, link)
	defer j.Close()
	if err := j.Append(skip("pre.1")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(real); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("the journal behind the link: %v", err)
	}
	for _, other := range []string{real, link} {
		if _, _, err := OpenJournal(other, Holder{Operator: "bob"}, nil); !errors.As(err, new(*ErrLocked)) || !strings.Contains(err.Error(), "is in use by alice") {
			t.Errorf("a second console on %s: %v", filepath.Base(other), err)
		}
	}
	hard := filepath.Join(dir, "hard.jsonl")
	if err := os.Link(real, hard); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenJournal(hard, Holder{Operator: "bob"}, nil); !errors.As(err, new(*ErrLocked)) {
		t.Errorf("a second console on a hard link: %v", err)
	}
}

func TestAnOverlongLineIsSkippedWithItsLineNumber(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	rec := `{"v":1,"time":"2026-11-27T09:00:00Z","operator":"alice","runbook":"x","action":"session.open"}` + "\n"
	long := `{"v":1,"note":"` + strings.Repeat("x", MaxRecord+1) + `","action":"step.skip"}` + "\n"
	if err := os.WriteFile(path, []byte(rec+long+rec), 0o600); err != nil {
		t.Fatal(err)
	}
	j, loaded := open(t, path)
	j.Close()
	if len(loaded.Records) != 2 || len(loaded.Warnings) != 1 || !strings.Contains(loaded.Warnings[0], "journal.jsonl:2: a line of 16.0 MB, over the 16 MB a record may be; ignored") {
		t.Errorf("records %d, warnings %q", len(loaded.Records), loaded.Warnings)
	}
}

func TestEachLineSaysWhereALineEnds(t *testing.T) {
	type line struct {
		text string
		long int64
		last bool
	}
	for in, want := range map[string][]line{
		"":              nil,
		"a\n":           {{"a", 0, false}},
		"a\nb":          {{"a", 0, false}, {"b", 0, true}},
		"\n\nc\n":       {{"", 0, false}, {"", 0, false}, {"c", 0, false}},
		"12345\n123456": {{"", 5, false}, {"", 6, true}},
		"1234\n":        {{"1234", 0, false}},
	} {
		var got []line
		err := eachLine(strings.NewReader(in), 4, func(n int, b []byte, long int64, last bool) {
			if n != len(got)+1 {
				t.Errorf("%q: line %d numbered %d", in, len(got)+1, n)
			}
			got = append(got, line{string(b), long, last})
		})
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
}

func TestRecordsQuotingOutsideTextAreSanitised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, _ := open(t, path)
	r := Record{Operator: "alice", Runbook: "x", Action: ActRollbackDone, Time: time.Now(), App: "hotdash-app",
		Result: "machine iad" + testkit.Escapes + " failed", Note: testkit.Escapes, After: testkit.Escapes, Error: testkit.Escapes,
		Commands: []string{"fly status" + testkit.Escapes}, Flags: map[string]FlagDigest{"PUBLER_LIVE": {Value: "true", Digest: "ab" + testkit.Escapes}}}
	if err := j.Append(r); err != nil {
		t.Fatal(err)
	}
	j.Close()
	data, _ := os.ReadFile(path)
	if bytes.Contains(data, []byte(`\u001b`)) || bytes.Contains(data, []byte(`\u0007`)) || bytes.Contains(data, []byte{0x1b}) {
		t.Errorf("the journal holds escapes: %s", data)
	}
	// A journal written before holds them raw: reading cleans them.
	old := `{"v":1,"time":"2026-11-27T09:00:00Z","operator":"alice","runbook":"x","action":"rollback.done","result":"\u001b]0;x\u0007\u001b[2Jok"}` + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	l, _ := ReadJournal(path)
	if len(l.Records) != 1 || l.Records[0].Result != "ok" {
		t.Errorf("read back: %+v", l.Records)
	}
}
