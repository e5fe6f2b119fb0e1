package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/hotdash/hotdash-console/integrations"
)

// maxKeysFile bounds the authorized keys and host key files serve reads.
const maxKeysFile = 1 << 20

// maxOperatorName bounds an operator's name (a key's comment).
const maxOperatorName = 64

// authorizedKey is an authorized key and its operator's name.
type authorizedKey struct {
	key  gossh.PublicKey
	name string
}

// operatorKeys are the authorized keys.
type operatorKeys []authorizedKey

func (k operatorKeys) lookup(key ssh.PublicKey) (string, bool) {
	if key == nil {
		return "", false
	}
	for _, e := range k {
		if ssh.KeysEqual(e.key, key) {
			return e.name, true
		}
	}
	return "", false
}

// names lists the operators: "alice, bob".
func (k operatorKeys) names() string {
	var out []string
	for _, e := range k {
		out = append(out, e.name)
	}
	return strings.Join(out, ", ")
}

// same reports whether k and o authorize the same keys under the same names.
func (k operatorKeys) same(o operatorKeys) bool {
	if len(k) != len(o) {
		return false
	}
	for i := range k {
		if k[i].name != o[i].name || !ssh.KeysEqual(k[i].key, o[i].key) {
			return false
		}
	}
	return true
}

// readAuthorizedKeys reads an authorized_keys file; each key's comment
// names its operator. Anything serve cannot take exactly as written is an
// error, and an error authorizes nobody: a missing, unreadable or empty
// file, a line that is not a key, a key without a name or with options
// (from=, command=: serve would not enforce them), one key under two
// names.
func readAuthorizedKeys(path string) (operatorKeys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeysFile+1))
	if err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	if len(data) > maxKeysFile {
		return nil, fmt.Errorf("authorized keys %s is over 1 MB: not an authorized keys file", path)
	}
	var out operatorKeys
	at := map[string]int{} // key → the line that named it
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxKeysFile)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not an authorized key: %v", path, n, err)
		}
		if len(options) > 0 {
			return nil, fmt.Errorf("%s:%d: key options (%s) are not enforced by serve: remove them", path, n, integrations.Clip(strings.Join(options, ","), 80))
		}
		name := strings.TrimSpace(comment)
		if name == "" {
			// The comment is the operator's name; without it one key could
			// log in under two names and approve its own writes.
			return nil, fmt.Errorf("%s:%d: the key has no comment: end the line with its operator's name (ssh-ed25519 AAAA… alice)", path, n)
		}
		if integrations.Clip(name, maxOperatorName) != name {
			return nil, fmt.Errorf("%s:%d: the operator's name (the key's comment) must be printable text of at most %d characters", path, n, maxOperatorName)
		}
		fp := gossh.FingerprintSHA256(key)
		if first, ok := at[fp]; ok {
			return nil, fmt.Errorf("%s:%d: the key of line %d again: one key, one operator", path, n, first)
		}
		at[fp] = n
		out = append(out, authorizedKey{key, name})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("authorized keys %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no keys: nobody could connect", path)
	}
	return out, nil
}

// authorizedKeys is the authorized keys file as the server trusts it now.
// It is read at every login and, by watch, every second. It fails closed:
// a file that cannot be read, is malformed, emptied or deleted authorizes
// nobody; what was read before is never used instead.
type authorizedKeys struct {
	path string
	// problem is told when the file becomes unusable (and why) and again
	// when it is usable again (problem nil), once each time.
	problem func(keys operatorKeys, err error)

	mu   sync.Mutex
	last string // the problem last told, "" while the file is usable
}

// read reads the file now; an error means nobody is authorized.
func (a *authorizedKeys) read() (operatorKeys, error) {
	keys, err := readAuthorizedKeys(a.path)
	state := ""
	if err != nil {
		state = err.Error()
	}
	a.mu.Lock()
	changed := state != a.last
	a.last = state
	a.mu.Unlock()
	if changed && a.problem != nil {
		a.problem(keys, err)
	}
	return keys, err
}

// watch reads the file every period until ctx ends and calls changed with
// what it authorizes whenever that changes (from keys, what it authorized
// when the server started). A change counts once two reads in a row
// agree, so a file caught half-written by an editor is not acted on.
func (a *authorizedKeys) watch(ctx context.Context, period time.Duration, keys operatorKeys, changed func(operatorKeys, error)) {
	type reading struct {
		keys operatorKeys
		err  string
	}
	same := func(x, y reading) bool { return x.err == y.err && x.keys.same(y.keys) }
	acted := reading{keys: keys}
	prev := acted
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		k, err := a.read()
		now := reading{keys: k}
		if err != nil {
			now.err = err.Error()
		}
		if same(now, prev) && !same(now, acted) {
			acted = now
			changed(k, err)
		}
		prev = now
	}
}

// hostKey loads serve's host key, generating it on first run. A key that
// others could read or replace is refused, naming the file and what is
// wrong: a file readable or writable by group or others, or of another
// user, or in a directory everyone may write to.
func hostKey(path string) (gossh.Signer, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host key directory: %w", err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("host key directory: %w", err)
	}
	if di.Mode().Perm()&0o002 != 0 {
		return nil, fmt.Errorf("host key %s: its directory %s is writable by everyone (mode %04o): anyone could replace the key; keep it in a private directory (--host-key)", path, dir, di.Mode().Perm())
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := generateHostKey(path); err != nil {
			return nil, err
		}
		fi, err = os.Stat(path)
	}
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("host key %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("host key %s is readable or writable by others (mode %04o): chmod 600 %s", path, perm, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("host key %s belongs to another user (uid %d): it must be this user's (uid %d)", path, st.Uid, os.Getuid())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeysFile))
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	var pass *gossh.PassphraseMissingError
	switch {
	case errors.As(err, &pass):
		return nil, fmt.Errorf("host key %s is protected by a passphrase: serve needs one without", path)
	case err != nil:
		return nil, fmt.Errorf("host key %s: %v", path, err)
	}
	return signer, nil
}

// generateHostKey writes a new ed25519 host key to path, readable by this
// user only; it never replaces a file that exists.
func generateHostKey(path string) error {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "hotdash-console host key")
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("generate host key %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("generate host key %s: %w", path, err)
	}
	return nil
}
