package runbook

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hotdash/hotdash-console/integrations"
)

// Trouble is one troubleshooting entry of the guide: what the operator
// sees, why, what to check and what fixes it, with the guide's commands.
// Texts are Markdown (commands in `code`) and may use {app}.
type Trouble struct {
	Title string
	// Integrations are the ids whose troubleshooting this is; none: every
	// integration's.
	Integrations []string
	Symptoms     []string
	Cause        string
	Checks       []string
	Fix          []string
}

// For reports whether the entry is part of integration id's
// troubleshooting.
func (t *Trouble) For(id string) bool {
	return len(t.Integrations) == 0 || slices.Contains(t.Integrations, id)
}

type fileTrouble struct {
	Title        string   `toml:"title"`
	Integrations []string `toml:"integrations"`
	Symptoms     []string `toml:"symptoms"`
	Cause        string   `toml:"cause"`
	Checks       []string `toml:"checks"`
	Fix          []string `toml:"fix"`
}

// placeholderRE finds {name} placeholders; troubleshooting knows {app}.
var placeholderRE = regexp.MustCompile(`\{[a-z_]+\}`)

// troubleshooting converts and checks the [[troubleshooting]] entries.
func (p *parser) troubleshooting(rb *Runbook, entries []fileTrouble) {
	for i, ft := range entries {
		bad := func(key, format string, args ...any) { p.fail("troubleshooting."+key, i, format, args...) }
		t := Trouble(ft)
		switch {
		case t.Title == "":
			bad("title", "every [[troubleshooting]] needs a title")
		case len(t.Symptoms) == 0 && t.Cause == "":
			bad("symptoms", "%q says neither its symptoms nor its cause", t.Title)
		case len(t.Fix) == 0:
			bad("fix", "%q needs fix: what to do", t.Title)
		}
		for _, id := range t.Integrations {
			if rb.Integration(id) == nil {
				bad("integrations", "%q names integration %q, which is not defined", t.Title, id)
			}
		}
		for _, f := range []struct {
			key   string
			texts []string
		}{{"title", []string{t.Title}}, {"symptoms", t.Symptoms}, {"cause", []string{t.Cause}}, {"checks", t.Checks}, {"fix", t.Fix}} {
			key := f.key
			for _, s := range f.texts {
				if ph := slices.DeleteFunc(placeholderRE.FindAllString(s, -1), func(ph string) bool { return ph == "{app}" }); len(ph) > 0 {
					bad(key, "%q: %s is not a placeholder here (only {app} is)", t.Title, ph[0])
				}
				if strings.Count(s, "`")%2 == 1 {
					bad(key, "%q: a ` is not closed in %q", t.Title, s)
				}
			}
		}
		rb.Trouble = append(rb.Trouble, t)
	}
}

// lintTroubleshooting is what only lint asks of the troubleshooting: every
// integration has some, so the console always has something to show.
func (p *parser) lintTroubleshooting(rb *Runbook) {
	for i, d := range rb.Integrations {
		if !slices.ContainsFunc(rb.Trouble, func(t Trouble) bool { return t.For(d.ID) }) {
			p.fail("integration.id", i, "integration %q has no troubleshooting: add a [[troubleshooting]] with integrations = [%q]", d.ID, d.ID)
		}
	}
}

// TroubleFor returns integration id's troubleshooting: its own entries
// first, then those for several or every integration, in file order.
func (rb *Runbook) TroubleFor(id string) []Trouble {
	var own, shared []Trouble
	for _, t := range rb.Trouble {
		switch {
		case !t.For(id):
		case len(t.Integrations) == 1:
			own = append(own, t)
		default:
			shared = append(shared, t)
		}
	}
	return append(own, shared...)
}

// TroubleMarkdown is integration id's troubleshooting on app as Markdown:
// each entry's symptoms, cause, checks and fixes, {app} expanded and every
// text sanitised.
func (rb *Runbook) TroubleMarkdown(id, app string) string {
	text := func(s string) string { return integrations.Sanitize([]byte(Expand(s, app))) }
	var b strings.Builder
	list := func(label string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(&b, "**%s**\n\n", label)
		for _, s := range items {
			fmt.Fprintf(&b, "- %s\n", text(s))
		}
		b.WriteString("\n")
	}
	entries := rb.TroubleFor(id)
	if len(entries) == 0 {
		name := id
		if d := rb.Integration(id); d != nil {
			name = d.Name
		}
		fmt.Fprintf(&b, "The runbook has no troubleshooting for %s.\n", text(name))
	}
	for _, t := range entries {
		fmt.Fprintf(&b, "## %s\n\n", text(t.Title))
		list("Symptoms", t.Symptoms)
		if t.Cause != "" {
			fmt.Fprintf(&b, "**Cause:** %s\n\n", text(t.Cause))
		}
		list("Check", t.Checks)
		list("Fix", t.Fix)
	}
	return b.String()
}
