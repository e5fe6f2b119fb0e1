package integrations

import (
	"slices"
	"strings"
	"sync"
)

// DigestBook remembers which value produced which secret digest. Fly never
// shows values and how it computes digests is not documented, so the
// console records the digest it sees right after it sets a value itself and
// compares later digests with those. It also keeps the secrets version of
// the console's last write on each app, which a versioned platform (the
// Machines API) passes on reads and deploys. The journal holds both, so a
// resumed console has them back. It is safe for concurrent use.
type DigestBook struct {
	mu       sync.RWMutex
	m        map[digestKey]string
	versions map[string]int64 // app -> secrets version of the last write
}

type digestKey struct{ app, name, digest string }

// NewDigestBook returns an empty book.
func NewDigestBook() *DigestBook {
	return &DigestBook{m: map[digestKey]string{}, versions: map[string]int64{}}
}

// RecordSecretsVersion notes the secrets version a write on app produced.
// A version older than one already known changes nothing: versions only
// grow.
func (b *DigestBook) RecordSecretsVersion(app string, version int64) {
	if version <= 0 {
		return
	}
	b.mu.Lock()
	if version > b.versions[app] {
		b.versions[app] = version
	}
	b.mu.Unlock()
}

// SecretsVersion is the version of the last write on app, if one is known.
func (b *DigestBook) SecretsVersion(app string) (int64, bool) {
	if b == nil {
		return 0, false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, ok := b.versions[app]
	return v, ok
}

// Record notes that digest on app's secret name means value.
func (b *DigestBook) Record(app, name, digest, value string) {
	if digest == "" {
		return
	}
	b.mu.Lock()
	b.m[digestKey{app, name, digest}] = value
	b.mu.Unlock()
}

// Lookup returns the value recorded for the digest.
func (b *DigestBook) Lookup(app, name, digest string) (string, bool) {
	if b == nil {
		return "", false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	v, ok := b.m[digestKey{app, name, digest}]
	return v, ok
}

// FlagFrom works out a flag's state from the app's secrets list.
func FlagFrom(app, flag string, secrets []Secret, book *DigestBook) FlagStatus {
	if flag == "" {
		return FlagStatus{State: FlagNone}
	}
	st := FlagStatus{Name: flag, State: FlagUnset}
	for _, s := range secrets {
		if s.Name != flag {
			continue
		}
		st.Digest = s.Digest
		v, known := book.Lookup(app, flag, s.Digest)
		switch {
		case s.Pending():
			st.State = FlagStaged
			st.Pending = v
			st.Detail = "staged, not deployed"
			if s.Status == SecretPartial {
				st.Detail = "partially deployed"
			}
		case !known:
			st.State = FlagUnknown
			st.Detail = "changed outside the console"
		case IsTrue(v):
			st.State = FlagTrue
		default:
			st.State = FlagFalse
		}
		return st
	}
	return st
}

// IsTrue is how the HotDash app reads a flag: "true" (any case) or "1".
func IsTrue(v string) bool {
	v = strings.TrimSpace(v)
	return strings.EqualFold(v, "true") || v == "1"
}

// ExpectedSource is the source a flag implies: live when deployed true (or
// when there is no flag), mock when off, unknown while it is in flux.
func ExpectedSource(f FlagStatus) SourceKind {
	switch f.State {
	case FlagNone, FlagTrue:
		return SourceLive
	case FlagUnset, FlagFalse:
		return SourceMock
	}
	return SourceUnknown
}

// Facts are what the console knows when it explains a source.
type Facts struct {
	App      string // replaces {app} in the runbook's texts
	Flag     FlagStatus
	Secrets  []Secret // nil when the list could not be read
	Probe    ProbeResult
	Observed SourceKind
	Expected SourceKind // what the flag implies: ExpectedSource(Flag)
	// Migration is the console's own migration check, when it looked.
	Migration *MigrationFact
	// Rejected: a service turned the credentials away (401/403 to the
	// app's requests, or to the console's probe).
	Rejected bool
}

// MissingCredentials lists the credential secrets absent from the app.
func MissingCredentials(def *Definition, secrets []Secret) []string {
	if secrets == nil {
		return nil
	}
	var missing []string
	for _, c := range def.Credentials {
		if !slices.ContainsFunc(secrets, func(s Secret) bool { return s.Name == c }) {
			missing = append(missing, c)
		}
	}
	slices.Sort(missing)
	return missing
}

// Diagnose returns the runbook's explanations that apply: when the app
// reports mock though its flag says live (or contradicts its flag), the
// causes the console can establish itself (the secrets list, its own
// migration check, the probes), in the runbook's words; when a service
// rejects the credentials, that; when the console's own check fails, what
// the runbook says to run. It returns nil when nothing is amiss.
func Diagnose(def *Definition, f Facts) []string {
	onMock := f.Observed == SourceMock && f.Flag.State != FlagUnset && f.Flag.State != FlagFalse
	amiss := onMock || mismatch(f.Observed, f.Expected)
	failing := f.Probe.Err != nil
	if !amiss && !failing && !f.Rejected {
		return nil
	}
	missing := MissingCredentials(def, f.Secrets)
	var out []string
	for _, d := range def.Diagnoses {
		var applies bool
		switch d.When {
		case WhenAlways:
			applies = amiss
		case WhenFlagNotSet:
			applies = amiss && def.HasFlag() && (f.Flag.State == FlagUnset || f.Flag.State == FlagFalse)
		case WhenFlagNotDeployed:
			applies = amiss && f.Flag.State == FlagStaged
		case WhenCredentialsMissing:
			// The app's secrets list says so; without it, the app's own
			// warning. The console's own variables are not the app's.
			applies = amiss && (len(missing) > 0 || f.Secrets == nil && f.Probe.Facts[WhenCredentialsMissing])
		case WhenCredentialsRejected:
			// Set, and turned away: not "not set".
			applies = f.Rejected && len(missing) == 0
		case WhenMigrationMissing:
			// The console's own look at the table wins over the app's words.
			applies = amiss && (f.Migration.Missing() || !f.Migration.Known() && f.Probe.Facts[WhenMigrationMissing])
		case WhenCheckFailing:
			applies = failing
		}
		if applies {
			out = append(out, strings.ReplaceAll(d.Text, "{app}", f.App))
		}
	}
	return out
}
