// Package runbook holds the activation procedure as data (the default is
// the HotDash guide, embedded), the runner that executes its steps through
// the integrations layer, and the journal that records every action.
package runbook

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
)

//go:embed hotdash.toml
var defaultFile []byte

// DefaultName is how the embedded runbook is named in messages.
const DefaultName = "runbook/hotdash.toml (embedded)"

// Runbook is a parsed procedure.
type Runbook struct {
	Title         string
	Owner         string
	Updated       string
	Estimated     string
	Prerequisites string

	Integrations []*integrations.Definition
	// Fallbacks check, by integration, that a rollback reached mock.
	Fallbacks  map[string]Check
	Phases     []Phase
	Steps      []*Step
	Monitoring []Monitoring
	Success    []Criterion
	Decision   Decision
	Contacts   []Contact
	Trouble    []Trouble

	// File is where it was read from; Hash identifies its exact bytes, so a
	// journal written for another runbook is not resumed against this one.
	File string
	Hash string

	envLines map[string]int // step id -> the line of its env, for errors
}

// Default returns the embedded HotDash runbook.
func Default() *Runbook {
	rb, err := Parse(DefaultName, defaultFile)
	if err != nil {
		panic("embedded runbook: " + err.Error())
	}
	return rb
}

// DefaultBytes is the embedded runbook's text.
func DefaultBytes() []byte { return slices.Clone(defaultFile) }

// Load reads a runbook file.
func Load(path string) (*Runbook, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("runbook: %w", err)
	}
	return Parse(path, data)
}

// Integration returns the definition with the given id.
func (rb *Runbook) Integration(id string) *integrations.Definition {
	for _, d := range rb.Integrations {
		if d.ID == id {
			return d
		}
	}
	return nil
}

// Fallback is the check that a rollback of integration id reached mock:
// the runbook's own, or the integration reporting its mock source.
func (rb *Runbook) Fallback(id string) Check {
	if c, ok := rb.Fallbacks[id]; ok {
		return c
	}
	return Check{Call: "source", Want: []string{"mock"}}
}

// file mirrors the TOML layout.
type file struct {
	Runbook struct {
		Title         string `toml:"title"`
		Owner         string `toml:"owner"`
		Updated       string `toml:"updated"`
		Estimated     string `toml:"estimated"`
		Prerequisites string `toml:"prerequisites"`
	} `toml:"runbook"`
	Integration     []fileIntegration `toml:"integration"`
	Phase           []filePhase       `toml:"phase"`
	Step            []fileStep        `toml:"step"`
	Monitoring      []fileMonitoring  `toml:"monitoring"`
	Success         []fileCriterion   `toml:"success"`
	Decision        fileDecision      `toml:"decision"`
	Contact         []fileContact     `toml:"contact"`
	Troubleshooting []fileTrouble     `toml:"troubleshooting"`
}

type fileIntegration struct {
	ID          string   `toml:"id"`
	Name        string   `toml:"name"`
	Flag        string   `toml:"flag"`
	Risk        string   `toml:"risk"`
	Ready       *bool    `toml:"ready"`
	NotReady    string   `toml:"not_ready"`
	LogTags     []string `toml:"log_tags"`
	Credentials []string `toml:"credentials"`
	Source      struct {
		Kind       string   `toml:"kind"`
		Method     string   `toml:"method"`
		Path       string   `toml:"path"`
		Body       string   `toml:"body"`
		Field      string   `toml:"field"`
		Live       []string `toml:"live"`
		Mock       []string `toml:"mock"`
		LiveMarker string   `toml:"live_marker"`
		MockMarker string   `toml:"mock_marker"`
	} `toml:"source"`
	Threshold []struct {
		Name     string          `toml:"name"`
		Kind     string          `toml:"kind"`
		Match    string          `toml:"match"`
		Of       string          `toml:"of"`
		Upstream string          `toml:"upstream"`
		Statuses []int           `toml:"statuses"`
		Max      float64         `toml:"max"`
		Window   config.Duration `toml:"window"`
	} `toml:"threshold"`
	Diagnosis []struct {
		When string `toml:"when"`
		Text string `toml:"text"`
	} `toml:"diagnosis"`
	Fallback *fileCheck `toml:"fallback"`
}

// Parse reads a runbook from data; name is used in error messages. It
// returns the first problem; Lint returns them all.
func Parse(name string, data []byte) (*Runbook, error) {
	rb, errs := parse(name, data)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return rb, nil
}

// Lint checks a runbook and returns every problem found, each naming the
// file and line, one error per cause. It asks more than Parse: every
// integration has troubleshooting, and the environments steps run on are
// checked against envs, the environments a configuration defines (without
// any: the ones the console knows without a configuration, production and
// dev).
func Lint(name string, data []byte, envs ...string) []error {
	rb, errs := parse(name, data)
	if rb == nil {
		return errs
	}
	p := &parser{name: name, data: data}
	p.lintTroubleshooting(rb)
	errs = append(errs, p.errs...)
	where := "the configuration"
	if len(envs) == 0 {
		where = "the default configuration"
		for _, e := range config.Default().Environments {
			envs = append(envs, e.Name)
		}
	}
	return append(errs, rb.undefinedEnvs(envs, where)...)
}

// undefinedEnvs are the steps that run on an environment not in envs.
func (rb *Runbook) undefinedEnvs(envs []string, where string) []error {
	var errs []error
	for _, s := range rb.Steps {
		if s.Env != "" && !slices.Contains(envs, s.Env) {
			errs = append(errs, &config.FileError{File: rb.File, Line: rb.envLines[s.ID], Key: "step.env",
				Msg: fmt.Sprintf("step %q runs on environment %q, which %s does not define (it has %s)", s.ID, s.Env, where, strings.Join(envs, ", "))})
		}
	}
	return errs
}

func parse(name string, data []byte) (*Runbook, []error) {
	var f file
	if err := config.DecodeStrict(name, data, &f); err != nil {
		return nil, []error{err}
	}
	sum := sha256.Sum256(data)
	rb := &Runbook{
		Title:         f.Runbook.Title,
		Owner:         f.Runbook.Owner,
		Updated:       f.Runbook.Updated,
		Estimated:     f.Runbook.Estimated,
		Prerequisites: f.Runbook.Prerequisites,
		File:          name,
		Hash:          hex.EncodeToString(sum[:8]),
		Fallbacks:     map[string]Check{},
	}
	p := &parser{name: name, data: data}
	rb.envLines = map[string]int{}
	for i, fi := range f.Integration {
		// An integration with a problem is still defined: what names it
		// is not reported again.
		d := p.integration(i, fi)
		if fb := fi.Fallback; fb != nil {
			switch {
			case d.Flag == "":
				p.fail("integration.fallback", i, "integration %q has no flag to roll back", d.ID)
			case fb.Call != "source" && fb.Call != "post":
				p.fail("integration.fallback.call", i, "%q: a fallback is checked with \"source\" or \"post\"", fb.Call)
			case len(fb.Want) == 0:
				p.fail("integration.fallback.want", i, "the fallback of %q needs want", d.ID)
			default:
				rb.Fallbacks[d.ID] = Check(*fb)
			}
		}
		if rb.Integration(d.ID) != nil {
			p.errs = append(p.errs, p.errAt("integration.id", i, "integration %q is defined twice", d.ID))
			continue
		}
		rb.Integrations = append(rb.Integrations, d)
	}
	if len(f.Integration) == 0 {
		p.errs = append(p.errs, &config.FileError{File: name, Msg: "no [[integration]] defined"})
	}
	p.procedure(rb, &f)
	// The table a migration check looks for is what the console asks for
	// itself when its integration reports mock against its flag.
	for _, s := range rb.Steps {
		for _, c := range s.Checks {
			if d := rb.Integration(s.Integration); d != nil && c.Call == "migration" && c.Table != "" {
				d.Migration = c.Table
			}
		}
	}
	return rb, p.errs
}

type parser struct {
	name string
	data []byte
	errs []error
}

// errAt reports a problem with key inside the n-th table of its array,
// locating the line by counting the array's headers.
func (p *parser) errAt(key string, n int, format string, args ...any) error {
	parts := strings.Split(key, ".")
	return &config.FileError{File: p.name, Line: nthKeyLine(p.data, parts, n), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// nthKeyLine finds key inside the n-th [[table]] named by its first part.
func nthKeyLine(data []byte, key []string, n int) int {
	lines := strings.Split(string(data), "\n")
	header := "[[" + key[0] + "]]"
	count, start := -1, -1
	for i, l := range lines {
		if strings.TrimSpace(l) == header {
			count++
			if count == n {
				start = i
				break
			}
		}
	}
	if start < 0 {
		return config.KeyLine(data, toml.Key(key))
	}
	last := key[len(key)-1]
	for i := start; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if i > start && t == header {
			break
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.TrimSpace(k) == last {
			return i + 1
		}
	}
	return start + 1
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// Bounds of the runbook's numbers and durations.
var (
	shareRange     = config.NumberRange{Min: 0, Max: 1, What: "a share: 0.01 is 1%"}
	countRange     = config.NumberRange{Min: 0, Max: 1_000_000, What: "a count of lines"}
	pendingRange   = config.NumberRange{Min: 1, Max: 86_400, What: "the seconds a job may stay pending"}
	thresholdRange = config.DurationRange{Min: time.Second, Max: time.Hour} // the error windows keep an hour
)

// thresholdMax is the range of a threshold of kind.
func thresholdMax(kind string) config.NumberRange {
	switch kind {
	case "count", "status_count":
		return countRange
	case "job_pending":
		return pendingRange
	}
	return shareRange
}

// integration converts the i-th integration, reporting each problem once.
func (p *parser) integration(i int, fi fileIntegration) *integrations.Definition {
	if !idRE.MatchString(fi.ID) {
		p.fail("integration.id", i, "%q is not an id (lower-case letters, digits, dashes)", fi.ID)
	}
	d := &integrations.Definition{
		ID:          fi.ID,
		Name:        fi.Name,
		Flag:        fi.Flag,
		Risk:        fi.Risk,
		Ready:       fi.Ready == nil || *fi.Ready,
		NotReady:    fi.NotReady,
		LogTags:     fi.LogTags,
		Credentials: fi.Credentials,
	}
	if d.Name == "" {
		d.Name = d.ID
	}
	if !d.Ready && d.NotReady == "" {
		d.NotReady = "not ready"
	}
	if len(d.LogTags) == 0 {
		d.LogTags = []string{d.ID}
	}
	s := fi.Source
	d.Source = integrations.SourceSpec{
		Kind: s.Kind, Method: strings.ToUpper(s.Method), Path: s.Path, Body: s.Body, Field: s.Field,
		Live: s.Live, Mock: s.Mock, LiveMarker: s.LiveMarker, MockMarker: s.MockMarker,
	}
	switch s.Kind {
	case "http":
		if d.Source.Method == "" {
			d.Source.Method = "GET"
		}
		if s.Path == "" || s.Field == "" || len(s.Live) == 0 {
			p.fail("integration.source", i, "an http source needs path, field and live")
		}
	case "logs":
		if s.LiveMarker == "" {
			p.fail("integration.source", i, "a logs source needs live_marker")
		}
	case "chatwoot":
	default:
		p.fail("integration.source.kind", i, "%q: say \"http\", \"logs\" or \"chatwoot\"", s.Kind)
	}
	for _, t := range fi.Threshold {
		th := integrations.Threshold{Name: t.Name, Kind: t.Kind, Match: t.Match, Of: t.Of, Upstream: strings.ToLower(t.Upstream), Statuses: t.Statuses, Max: t.Max, Window: t.Window.Duration}
		if th.Window == 0 {
			th.Window = 15 * time.Minute
		}
		if th.Name == "" {
			th.Name = t.Kind
		}
		if msg := thresholdRange.Check(th.Window); msg != "" {
			p.fail("integration.threshold.window", i, "threshold %q: %s", th.Name, msg)
		}
		switch t.Kind {
		case "error_rate", "jobs_failing", "job_pending":
		case "status_share", "status_count":
			if len(t.Statuses) == 0 {
				p.fail("integration.threshold.statuses", i, "threshold %q needs statuses (the HTTP statuses counted)", th.Name)
			}
			for _, code := range t.Statuses {
				if code < 100 || code > 599 {
					p.fail("integration.threshold.statuses", i, "threshold %q: %d is not an HTTP status", th.Name, code)
				}
			}
		case "share", "count":
			if t.Match == "" {
				p.fail("integration.threshold.match", i, "threshold %q needs match", th.Name)
			}
			for _, re := range [][2]string{{"match", t.Match}, {"of", t.Of}} {
				if _, err := regexp.Compile(re[1]); err != nil {
					p.fail("integration.threshold."+re[0], i, "threshold %q: %v", th.Name, err)
				}
			}
		default:
			p.fail("integration.threshold.kind", i, "%q: say \"error_rate\", \"status_share\", \"status_count\", \"jobs_failing\", \"job_pending\", \"share\" or \"count\"", t.Kind)
			continue
		}
		if msg := thresholdMax(t.Kind).Check(t.Max); msg != "" {
			p.fail("integration.threshold.max", i, "threshold %q: %s", th.Name, msg)
		}
		d.Thresholds = append(d.Thresholds, th)
	}
	for _, dg := range fi.Diagnosis {
		w := integrations.DiagnosisCondition(dg.When)
		if !slices.Contains(integrations.KnownConditions, w) {
			var names []string
			for _, c := range integrations.KnownConditions {
				names = append(names, string(c))
			}
			p.fail("integration.diagnosis.when", i, "%q is not one of %s", dg.When, strings.Join(names, ", "))
			continue
		}
		d.Diagnoses = append(d.Diagnoses, integrations.Diagnosis{When: w, Text: dg.Text})
	}
	return d
}

// Configure applies a configuration's per-integration settings: threshold
// overrides by name and auto_rollback. Unknown integrations or thresholds,
// and an override out of its threshold's range, are errors naming the
// configuration's file, line and key. A step on an environment the
// configuration does not define is a warning in cfg.Warnings: that step
// cannot run, the others can.
func (rb *Runbook) Configure(cfg *config.Config) error {
	bad := func(key, format string, args ...any) error {
		return &config.FileError{File: cfg.File, Line: cfg.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	for _, id := range slices.Sorted(maps.Keys(cfg.Integrations)) {
		set := cfg.Integrations[id]
		d := rb.Integration(id)
		if d == nil {
			var ids []string
			for _, d := range rb.Integrations {
				ids = append(ids, d.ID)
			}
			return bad("integration."+id, "the runbook has no integration %q (it has %s)", id, strings.Join(ids, ", "))
		}
		if set.AutoRollback && d.Flag == "" {
			return bad("integration."+id+".auto_rollback", "%s has no flag to roll back", d.Name)
		}
		d.AutoRollback = set.AutoRollback
		for _, name := range slices.Sorted(maps.Keys(set.Thresholds)) {
			max := set.Thresholds[name]
			i := slices.IndexFunc(d.Thresholds, func(t integrations.Threshold) bool { return t.Name == name })
			if i < 0 {
				var names []string
				for _, t := range d.Thresholds {
					names = append(names, fmt.Sprintf("%q", t.Name))
				}
				return bad("integration."+id+".thresholds", "%s has no threshold %q (it has %s)", d.Name, name, strings.Join(names, ", "))
			}
			if msg := thresholdMax(d.Thresholds[i].Kind).Check(max); msg != "" {
				return bad("integration."+id+".thresholds", "%q: %s", name, msg)
			}
			d.Thresholds[i].Max = max
		}
	}
	var envs []string
	for _, e := range cfg.Environments {
		envs = append(envs, e.Name)
	}
	missing := map[string][]string{} // environment -> the steps on it
	for _, s := range rb.Steps {
		if s.Env != "" && !slices.Contains(envs, s.Env) {
			missing[s.Env] = append(missing[s.Env], s.ID)
		}
	}
	where := cfg.File
	if where == "" {
		where = "the configuration"
	}
	for _, env := range slices.Sorted(maps.Keys(missing)) {
		cfg.Warnings = append(cfg.Warnings, fmt.Sprintf("%s: step(s) %s run on environment %q, which %s does not define (it has %s): they cannot run",
			rb.File, strings.Join(missing[env], ", "), env, where, strings.Join(envs, ", ")))
	}
	return nil
}
