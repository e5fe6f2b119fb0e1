package tui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/hotdash/hotdash-console/integrations"
	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
	"github.com/hotdash/hotdash-console/runbook"
)

// benchModel is a 200x50 console whose panes each buffer n lines.
func benchModel(b *testing.B, n int, filter string) *Model {
	cfg := config.Default()
	cfg.Watch.LogBuffer = n
	rb := runbook.Default()
	st, err := connect.Build(connect.Options{Config: cfg, Defs: rb.Integrations, Sim: sim.Options{Seed: 1, LogRate: 1}})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	m := New(Options{Stack: st, Runbook: rb})
	st.Close() // nothing moves while the frames are measured
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 50})
	t := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for _, ev := range m.envs {
		for k, d := range rb.Integrations {
			lines := make([]integrations.LogLine, n)
			for i := range lines {
				msg := fmt.Sprintf("%s: served %d ideas from supabase in %dms for request %d", d.LogTags[0], i%40, i%300, i)
				if i%5000 == 0 {
					msg += " Rate limit reached"
				}
				lines[i] = integrations.LogLine{Time: t, Instance: "3d8d9e1f2b7a48", Region: "iad", Message: msg}
			}
			ev.logs[k].append(lines)
		}
	}
	if filter != "" {
		f, err := integrations.ParseFilter(filter)
		if err != nil {
			b.Fatal(err)
		}
		for i := range rb.Integrations {
			m.setFilter(i, f)
		}
	}
	return m
}

// BenchmarkDashboardFrame: one 200x50 frame of the dashboard, target under
// 2ms and flat in the number of buffered lines, with no filter and with a
// filter that matches one line in 5,000.
func BenchmarkDashboardFrame(b *testing.B) {
	for _, filter := range []string{"", "rate limit"} {
		for _, n := range []int{1_000, 10_000, 100_000} {
			name := fmt.Sprintf("lines=%d", n)
			if filter != "" {
				name += "/filtered"
			}
			b.Run(name, func(b *testing.B) {
				m := benchModel(b, n, filter)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkLogViewFrame: the full-screen log view at 200x50, scrolled to
// the middle of 100,000 lines.
func BenchmarkLogViewFrame(b *testing.B) {
	m := benchModel(b, 100_000, "")
	m.mode = modeLog
	m.scroll[0] = logScroll{paused: true, offset: 50_000}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkApplyFloodBatch: the UI's cost of taking one tick's batch of a
// 50,000 lines/s flood (5,000 lines every 100ms) into its panes.
func BenchmarkApplyFloodBatch(b *testing.B) {
	m := benchModel(b, 2000, "error")
	t := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	u := integrations.Update{Snap: m.cur().snap, Lines: make([][]integrations.LogLine, len(m.defs())+1)}
	for k := range u.Lines {
		for i := range 5000 / len(u.Lines) {
			u.Lines[k] = append(u.Lines[k], integrations.LogLine{Time: t, Message: fmt.Sprintf("chatwoot: fetched %d open conversations", i)})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(updateMsg{env: 0, u: u, ok: true})
	}
}
