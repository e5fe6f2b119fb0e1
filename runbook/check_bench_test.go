package runbook

import (
	"context"
	"testing"
	"time"

	"github.com/hotdash/hotdash-console/integrations/config"
	"github.com/hotdash/hotdash-console/integrations/connect"
	"github.com/hotdash/hotdash-console/integrations/sim"
)

// BenchmarkCheck runs the four integrations' probes against the simulator
// with 200ms injected on every answer, concurrently (what check does) and
// one after another, and reports both and the speedup (target: 3x).
func BenchmarkCheck(b *testing.B) {
	cfg := config.Default()
	cfg.Watch.CallTimeout.Duration = 5 * time.Second
	st, err := connect.Build(connect.Options{Config: cfg, Defs: Default().Integrations, Sim: sim.Options{Seed: 1, LogRate: 5}})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Prepare(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	st.Sim.SetFaults(sim.Faults{Latency: 200 * time.Millisecond})
	env := st.Env("production")
	ctx := context.Background()
	var concurrent, sequential time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		r := RunCheck(ctx, env, time.Now)
		t1 := time.Now()
		for _, d := range Default().Integrations {
			if p := env.Probes[d.ID]; p != nil {
				p.Check(ctx)
			}
		}
		t2 := time.Now()
		if !r.OK {
			b.Fatalf("check not OK: %+v", r)
		}
		concurrent += t1.Sub(t0)
		sequential += t2.Sub(t1)
		n++
	}
	b.ReportMetric(float64(concurrent.Milliseconds())/float64(n), "concurrent-ms")
	b.ReportMetric(float64(sequential.Milliseconds())/float64(n), "sequential-ms")
	b.ReportMetric(float64(sequential)/float64(concurrent), "speedup")
}
