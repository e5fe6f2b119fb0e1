package integrations

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// corpus is a realistic mix of HotDash log lines in flyctl's text form.
func corpus(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	msgs := []string{
		"[info]idea-pool: served %d ideas from supabase in %dms",
		"[info]idea-pool: served %d mock ideas (Supabase disabled (IDEA_POOL_SUPABASE_ENABLED not true): mock data)",
		"[error]idea-pool: Supabase query failed: 503 Service Unavailable; falling back to mock (%d, %d)",
		"[info]publer: GET /api/social/status/real-job-%x 200 status=complete (%d)",
		"[info]publer-adapter: job real-job-%x scheduled in workspace 5f1b… (%d)",
		"[info]chatwoot: fetched %d open conversations (%dms)",
		"[warn]chatwoot: Rate limit reached (429 Retry later), retrying in %dms (%d)",
		"[info]chatwoot: AI draft saved as private note on conversation %d (%d)",
		"[info]analytics/ga4: traffic served from mock (GA4 disabled (ANALYTICS_REAL_DATA not true): mock data) %d %d",
		"[info]GET /app/dashboard 200 %dms (%d)",
		"[info]GET /healthz 200 %dms (%d)",
	}
	t := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		m := fmt.Sprintf(msgs[r.IntN(len(msgs))], r.IntN(5000), r.IntN(900))
		region := []string{"iad", "ord"}[i%2]
		out[i] = fmt.Appendf(nil, "%s app[%s] %s %s", t.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), []string{"3d8d9e1f2b7a48", "e784079b449483"}[i%2], region, m)
	}
	return out
}

// benchPipeline parses, routes (with ring, meter and batch) and filters
// each line, in batches as the platforms deliver them.
func benchPipeline(b *testing.B, expr string) {
	lines := corpus(4096)
	f, err := ParseFilter(expr)
	if err != nil {
		b.Fatal(err)
	}
	w := NewWatcher(WatcherOptions{App: "a", Platform: &fakePlatform{}, Defs: testDefs(), RingSize: 2000, Clock: NewFakeClock(t0)})
	batch := make([]LogLine, 0, 512)
	matched := 0
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var l LogLine
		if ParseFlyText(lines[i%len(lines)], &l) != nil {
			b.Fatal("corpus line did not parse")
		}
		if f.Match(l.Message) {
			matched++
		}
		batch = append(batch, l)
		if len(batch) == cap(batch) {
			w.Ingest(batch)
			batch = batch[:0]
			if i%(64*512) == 0 {
				w.Publish()
			}
		}
	}
	w.Ingest(batch)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
	if matched == 0 && b.N > len(lines) {
		b.Fatal("filter matched nothing")
	}
}

// BenchmarkPipeline: target 1,000,000 lines/s with a literal filter and
// 300,000 lines/s with a regex one, on one core.
func BenchmarkPipeline(b *testing.B) {
	b.Run("literal", func(b *testing.B) { benchPipeline(b, "rate limit") })
	b.Run("regex", func(b *testing.B) { benchPipeline(b, `job \S+ (complete|failed)|5\d\d `) })
	b.Run("inverted", func(b *testing.B) { benchPipeline(b, "!healthz") })
}

// BenchmarkPipelineMemory pushes 10 million lines through the pipeline and
// reports the live heap after the first million and after all ten: the
// rings bound it, so the two are the same whatever the volume.
func BenchmarkPipelineMemory(b *testing.B) {
	lines := corpus(4096)
	for b.Loop() {
		w := NewWatcher(WatcherOptions{App: "a", Platform: &fakePlatform{}, Defs: testDefs(), RingSize: 2000, Clock: NewFakeClock(t0)})
		batch := make([]LogLine, 0, 512)
		heapAt := func() float64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapAlloc) / (1 << 20)
		}
		var at1M float64
		for i := 1; i <= 10_000_000; i++ {
			var l LogLine
			_ = ParseFlyText(lines[i%len(lines)], &l)
			batch = append(batch, l)
			if len(batch) == cap(batch) {
				w.Ingest(batch)
				batch = batch[:0]
				w.Publish()
			}
			if i == 1_000_000 {
				at1M = heapAt()
			}
		}
		at10M := heapAt()
		b.ReportMetric(at1M, "heapMB@1M")
		b.ReportMetric(at10M, "heapMB@10M")
		runtime.KeepAlive(w)
	}
}
