package integrations

import (
	"strings"
	"sync"
)

// Mask is what a secret value becomes wherever text reaches the screen,
// the journal or a log.
const Mask = "••••••"

// minSecretLen keeps short values ("true", "1") from being masked: they are
// flags, not credentials, and masking them would hide every "true" in a log.
const minSecretLen = 6

// Masker replaces every known secret value in text. It is safe for
// concurrent use; the zero value masks nothing and a nil *Masker is valid.
type Masker struct {
	mu     sync.RWMutex
	values []string
}

// Add registers secret values. Short or empty values are ignored.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minSecretLen {
			continue
		}
		dup := false
		for _, have := range m.values {
			dup = dup || have == v
		}
		if !dup {
			m.values = append(m.values, v)
		}
	}
	// Longest first, so a value containing another is masked whole.
	for i := 1; i < len(m.values); i++ {
		for j := i; j > 0 && len(m.values[j]) > len(m.values[j-1]); j-- {
			m.values[j], m.values[j-1] = m.values[j-1], m.values[j]
		}
	}
}

// Mask returns s with every known secret value replaced.
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range m.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// Len reports how many values are masked.
func (m *Masker) Len() int {
	if m == nil {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.values)
}
