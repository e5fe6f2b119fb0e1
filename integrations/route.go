package integrations

import "strings"

// Router assigns log lines to integrations by their log tags, the way the
// guide's `grep idea-pool` and `--filter publer` do: a substring match on
// the message, first integration in runbook order wins.
type Router struct {
	tags [][]string
}

// NewRouter builds a router over defs, in order.
func NewRouter(defs []*Definition) *Router {
	r := &Router{tags: make([][]string, len(defs))}
	for i, d := range defs {
		r.tags[i] = d.LogTags
	}
	return r
}

// Route returns the index of the integration msg belongs to, or -1.
func (r *Router) Route(msg string) int {
	for i, tags := range r.tags {
		for _, t := range tags {
			if strings.Contains(msg, t) {
				return i
			}
		}
	}
	return -1
}
