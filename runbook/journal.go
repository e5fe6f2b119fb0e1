package runbook

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
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
	if h.PID == 0 {
		return fmt.Sprintf("journal %s is in use by %s: one console per journal; use --journal FILE for another", e.Path, who)
	}
	return fmt.Sprintf("journal %s is in use by %s (pid %d on %s, since %s): one console per journal; use --journal FILE for another",
		e.Path, who, h.PID, h.Host, h.Since.Local().Format("Jan 2 15:04:05"))
}

// Journal is an append-only JSON-lines file, held by one console at a time.
// Append returns only once the record is on disk; a record it could not
// write whole is taken back out, so the file holds whole records only,
// each on a line of its own.
type Journal struct {
	path   string // as given, for messages
	masker *integrations.Masker

	mu   sync.Mutex
	f    journalFile
	lock *os.File
	end  int64    // the file's length up to its last whole record
	torn bool     // bytes of a failed append may follow end
	recs []Record // what the file holds, loaded and appended
}

// journalFile is what the journal needs of its open file (an *os.File;
// tests put a failing disk in its place).
type journalFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// MaxRecord is the longest line a journal record may be (16 MB): a longer
// line is skipped, with its line number, when the journal is read.
const MaxRecord = 16 << 20

// maxField bounds each text of a record: what a service said is quoted,
// never copied whole.
const maxField = 4000

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
// what it holds. The lock is taken on the file path leads to: a symbolic
// link to a journal another console holds is refused like the journal.
func OpenJournal(path string, holder Holder, masker *integrations.Masker) (*Journal, *Loaded, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	real, err := resolve(path)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(real), 0o700); err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := os.OpenFile(real+".lock", os.O_RDWR|os.O_CREATE, 0o600)
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
	f, err := os.OpenFile(real, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	fail := func(err error) (*Journal, *Loaded, error) {
		f.Close()
		lock.Close()
		return nil, nil, err
	}
	// The journal file is locked too: a hard link under another name
	// shares it.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fail(&ErrLocked{Path: path})
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
	fi, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("journal: %w", err))
	}
	return &Journal{path: path, masker: masker, f: f, lock: lock, end: fi.Size(), recs: slices.Clone(loaded.Records)}, loaded, nil
}

// resolve follows the symbolic links in path, its last element included
// when the link's target does not exist yet (it is created there).
func resolve(path string) (string, error) {
	for range 40 {
		real, err := filepath.EvalSymlinks(path)
		if err == nil {
			return filepath.Abs(real)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			// path does not exist yet: it is created in its directory.
			dir, err := filepath.EvalSymlinks(filepath.Dir(path))
			if errors.Is(err, fs.ErrNotExist) {
				return filepath.Abs(path) // a directory still to be made
			}
			if err != nil {
				return "", err
			}
			return filepath.Abs(filepath.Join(dir, filepath.Base(path)))
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
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
// middle of a line. Lines that are not records are skipped with a warning
// naming their line, whatever their length. What records hold is
// sanitised: a journal written by an older console may hold raw escapes.
func readRecords(r io.Reader, path string) (*Loaded, bool, error) {
	l := &Loaded{}
	var torn bool
	err := eachLine(r, MaxRecord, func(n int, line []byte, long int64, last bool) {
		torn = last
		switch {
		case long > 0:
			l.Warnings = append(l.Warnings, fmt.Sprintf("%s:%d: a line of %s, over the %d MB a record may be; ignored", path, n, megabytes(long), MaxRecord>>20))
			return
		case len(bytes.TrimSpace(line)) == 0:
			return
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil || rec.Action == "" {
			if last {
				l.Warnings = append(l.Warnings, fmt.Sprintf("%s:%d: the last line was cut short (%d bytes, a crash while writing); it is kept as it is and ignored", path, n, len(line)))
			} else {
				l.Warnings = append(l.Warnings, fmt.Sprintf("%s:%d: not a journal record; ignored", path, n))
			}
			return
		}
		rec.clean(nil)
		l.Records = append(l.Records, rec)
	})
	if err != nil {
		return nil, false, fmt.Errorf("journal %s: %w", path, err)
	}
	return l, torn, nil
}

// eachLine calls fn with each line of r, numbered from 1, without its
// line break. A line longer than limit is not held in memory: fn gets its
// length in long and no bytes. last says the line is the end of r without
// a line break (a write cut short).
func eachLine(r io.Reader, limit int, fn func(n int, line []byte, long int64, last bool)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		var size int64
		var err error
		for {
			var part []byte
			part, err = br.ReadSlice('\n')
			size += int64(len(part))
			if size <= int64(limit)+1 {
				buf = append(buf, part...)
			}
			if err != bufio.ErrBufferFull {
				break
			}
		}
		if err != nil && err != io.EOF {
			return err
		}
		if size == 0 {
			return nil // the end, after a line break
		}
		ended := size > 0 && err == nil // ReadSlice stopped at '\n'
		length := size
		if ended {
			length--
		}
		if length > int64(limit) {
			fn(n, nil, length, !ended)
		} else {
			fn(n, buf[:length], 0, !ended)
		}
		if !ended {
			return nil
		}
	}
}

// megabytes says a size the way a warning does: "17.0 MB".
func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

// Path is where the journal is.
func (j *Journal) Path() string { return j.path }

// Append writes one record and syncs it to disk before returning. Every
// text is masked and sanitised first (records quote what services and
// fly said). When the write or the sync fails (a full disk), what was
// written of the record is cut off again before the error is returned,
// so the journal holds whole records only and the next Append, once there
// is room, works.
func (j *Journal) Append(r Record) error {
	if j == nil {
		return errors.New("journal: not open")
	}
	r.V = 1
	r.clean(j.masker)
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.write(b); err != nil {
		return fmt.Errorf("journal %s: %w (the record was not saved)", j.path, err)
	}
	j.recs = append(j.recs, r)
	return nil
}

// write appends b, a whole record, and syncs it; on failure it takes back
// what reached the file.
func (j *Journal) write(b []byte) error {
	if j.torn && j.f.Truncate(j.end) == nil {
		j.torn = false
	}
	if j.torn {
		// The rest of an earlier failed record could not be cut off:
		// this one starts on a line of its own, after it.
		b = append([]byte{'\n'}, b...)
	}
	_, err := j.f.Write(b)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		j.torn = true
		if j.f.Truncate(j.end) == nil && j.f.Sync() == nil {
			j.torn = false
		}
		return err
	}
	fi, err := j.f.Stat()
	if err != nil {
		return err // the record is on disk; where the file ends is not known
	}
	j.end, j.torn = fi.Size(), false
	return nil
}

// clean masks known secrets (m may be nil) and sanitises and bounds every
// text of the record.
func (r *Record) clean(m *integrations.Masker) {
	text := func(s string) string {
		if s == "" {
			return s
		}
		return integrations.Clip(m.Mask(s), maxField)
	}
	for _, p := range []*string{&r.Operator, &r.Runbook, &r.Env, &r.App, &r.Step, &r.Action, &r.Before, &r.After, &r.Result, &r.Note, &r.Error, &r.Approver} {
		*p = text(*p)
	}
	r.Commands = slices.Clone(r.Commands) // the caller's slice is shown elsewhere
	for i, c := range r.Commands {
		r.Commands[i] = text(c)
	}
	if r.Flags != nil {
		flags := make(map[string]FlagDigest, len(r.Flags))
		for _, name := range slices.Sorted(maps.Keys(r.Flags)) {
			fd := r.Flags[name]
			flags[text(name)] = FlagDigest{Value: text(fd.Value), Digest: text(fd.Digest)}
		}
		r.Flags = flags
	}
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
// one starts; nothing is deleted. It returns where the old one went. When
// path is a symbolic link, the file it leads to is moved.
func Rotate(path string, now time.Time) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	real, err := resolve(path)
	if err != nil {
		return "", fmt.Errorf("journal: %w", err)
	}
	path = real
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
