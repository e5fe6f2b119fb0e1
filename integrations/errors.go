package integrations

import "errors"

// Final marks err as one that trying again cannot cure (a refused
// password, a missing permission, a database that does not exist): a step
// reports it at once instead of retrying until its deadline, which for a
// password would be a login every few seconds, and a locked account or
// banned address. Final(nil) is nil.
func Final(err error) error {
	if err == nil {
		return nil
	}
	return finalError{err}
}

// IsFinal reports whether err, or an error it wraps, was marked Final.
func IsFinal(err error) bool { return errors.As(err, new(finalError)) }

type finalError struct{ error }

func (e finalError) Unwrap() error { return e.error }
