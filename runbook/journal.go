package runbook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hotdash/hotdash-console/integrations"
)

// Record is one line of the journal: who did what, where, when, with what
// result. Secret values never appear in one: every text field is masked
// before it is written.
type Record struct {
	V        int       `json:"v"`
	Time     time.Time `json:"time"`
	Operator string    `json:"operator"`
	Runbook  string    `json:"runbook"` // hash of the runbook file
	Env      string    `json:"env,omitempty"`
	App      string    `json:"app,omitempty"`
	Step     string    `json:"step,omitempty"`
	Action   string    `json:"action"`
	Before   string    `json:"before,omitempty"`
	After    string    `json:"after,omitempty"`
	Result   string    `json:"result,omitempty"`
	Note     string    `json:"note,omitempty"`
	Error    string    `json:"error,omitempty"`
	Commands []string  `json:"commands,omitempty"`
	// Flags records the digest Fly showed right after the console set a
	// flag, and the value it set: later digests are compared with it.
	Flags    map[string]FlagDigest `json:"flags,omitempty"`
	Approver string                `json:"approver,omitempty"`
	DryRun   bool                  `json:"dry_run,omitempty"`
	// SecretsVersion is the app's secrets version after the write, on a
	// platform that versions them (the Machines API): a resumed console
	// reads and deploys at it.
	SecretsVersion int64 `json:"secrets_version,omitempty"`
	// Gates are the steps an override went past.
	Gates []string `json:"gates,omitempty"`
}

// FlagDigest pairs a flag value with the digest it produced.
type FlagDigest struct {
	Value  string `json:"value"`
	Digest string `json:"digest"`
}

// Journal actions.
const (
	ActSession     = "session.open"
	ActSessionEnd  = "session.close"
	ActStepStart   = "step.start"
	ActStepPass    = "step.pass"
	ActStepFail    = "step.fail"
	ActStepBlock   = "step.block"
	ActStepSkip    = "step.skip"
	ActConfirm     = "prompt.confirm"
	ActCancel      = "prompt.cancel"
	ActWriteIntent = "write.intent"
	ActWriteDone   = "write.done"
	ActWriteFail   = "write.fail"
	ActApplyIntent = "apply.intent"
	ActApplyDone   = "apply.done"
	ActApplyFail   = "apply.fail"
)

// Holder says who holds a journal's lock.
type Holder struct {
	Operator string    `json:"operator"`
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Since    time.Time `json:"since"`
}

// ErrLocked is returned when another console holds the journal.
type ErrLocked struct {
	Path   string
	Holder Holder
}

func (e *ErrLocked) Error() string {
	h := e.Holder
	who := h.Operator
	if who == "" {
		who = "another console"
	}
	return fmt.Sprintf("journal %s is in use by %s (pid %d on %s, since %s): one console per journal; use --journal FILE for another",
		e.Path, who, h.PID, h.Host, h.Since.Local().Format("Jan 2 15:04:05"))
}

// Journal is an append-only JSON-lines file, held by one console at a time.
// Append returns only once the record is on disk.
type Journal struct {
	path   string
	masker *integrations.Masker

	mu   sync.Mutex
	f    *os.File
	lock *os.File
	recs []Record // what the file holds, loaded and appended
}

// Loaded is what OpenJournal found in an existing journal.
type Loaded struct {
	Records []Record
	// Warnings are problems that lost nothing: a last line cut short by a
	// crash, a line that is not a record.
	Warnings []string
}

// DefaultJournalPath is $XDG_STATE_HOME/hotdash-console/<name>, or
// ~/.local/state/hotdash-console/<name>.
func DefaultJournalPath(name string) (string, error) {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("journal: no state directory: %w", err)
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "hotdash-console", name), nil
}

// OpenJournal locks and opens the journal at path, creating it, and reads
// what it holds.
func OpenJournal(path string, holder Holder, masker *integrations.Masker) (*Journal, *Loaded, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer lock.Close()
		return nil, nil, &ErrLocked{Path: path, Holder: lockHolder(lock)}
	}
	// The lock is ours until the process ends, however it ends.
	if b, err := json.Marshal(holder); err == nil {
		_ = lock.Truncate(0)
		_, _ = lock.WriteAt(append(b, '\n'), 0)
		_ = lock.Sync()
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	fail := func(err error) (*Journal, *Loaded, error) {
		f.Close()
		lock.Close()
		return nil, nil, err
	}
	loaded, tail, err := readRecords(f, path)
	if err != nil {
		return fail(err)
	}
	if tail {
		// A crash cut the last line short: end it, so what follows starts
		// on a line of its own. The torn bytes stay as they are.
		if _, err := f.Write([]byte("\n")); err != nil {
			return fail(fmt.Errorf("journal: %w", err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("journal: %w", err))
		}
	}
	return &Journal{path: path, masker: masker, f: f, lock: lock, recs: slices.Clone(loaded.Records)}, loaded, nil
}

// lockHolder reads who holds a lock file.
func lockHolder(lock *os.File) Holder {
	var h Holder
	if b, err := io.ReadAll(lock); err == nil {
		_ = json.Unmarshal(b, &h)
	}
	return h
}

// ReadJournal reads a journal without locking it (for reports).
func ReadJournal(path string) (*Loaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	l, _, err := readRecords(f, path)
	return l, err
}

// readRecords parses every line; it reports whether the file ends in the
// middle of a line.
func readRecords(r io.Reader, path string) (*Loaded, bool, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, false, fmt.Errorf("journal: %w", err)
	}
	l := &Loaded{}
	torn := len(data) > 0 && data[len(data)-1] != '\n'
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	lines := bytes.Count(data, []byte("\n"))
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil || rec.Action == "" {
			if torn && n == lines+1 {
				l.Warnings = append(l.Warnings, fmt.Sprintf("%s:%d: the last line was cut short (%d bytes, a crash while writing); it is kept as it is and ignored", path, n, len(line)))
			} else {
				l.Warnings = append(l.Warnings, fmt.Sprintf("%s:%d: not a journal record; ignored", path, n))
			}
			continue
		}
		l.Records = append(l.Records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("journal %s: %w", path, err)
	}
	return l, torn, nil
}

// Path is where the journal is.
func (j *Journal) Path() string { return j.path }

// Append writes one record and syncs it to disk before returning.
func (j *Journal) Append(r Record) error {
	if j == nil {
		return errors.New("journal: not open")
	}
	r.V = 1
	m := j.masker
	r.Before, r.After, r.Note, r.Error, r.Result = m.Mask(r.Before), m.Mask(r.After), m.Mask(r.Note), m.Mask(r.Error), m.Mask(r.Result)
	r.Commands = slices.Clone(r.Commands) // the caller's slice is shown elsewhere
	for i, c := range r.Commands {
		r.Commands[i] = m.Mask(c)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(b); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.recs = append(j.recs, r)
	return nil
}

// Len is how many records the journal holds.
func (j *Journal) Len() int {
	if j == nil {
		return 0
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.recs)
}

// Records returns every record the journal holds.
func (j *Journal) Records() []Record {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.recs)
}

// Close releases the journal and its lock.
func (j *Journal) Close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.f.Close()
	_ = j.lock.Close()
	return err
}

// Rotate moves an existing journal aside (journal-<time>.jsonl) so a new
// one starts; nothing is deleted. It returns where the old one went.
func Rotate(path string, now time.Time) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600); err == nil {
		defer lock.Close()
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			return "", &ErrLocked{Path: path, Holder: lockHolder(lock)}
		}
	}
	ext := filepath.Ext(path)
	to := fmt.Sprintf("%s-%s%s", path[:len(path)-len(ext)], now.UTC().Format("20060102T150405Z"), ext)
	if err := os.Rename(path, to); err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	return to, nil
}
