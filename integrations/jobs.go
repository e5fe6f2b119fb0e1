package integrations

import (
	"strings"
	"time"
)

// jobTracker follows the jobs the app hands to a service (Publer's
// scheduled posts), from the line that schedules each to the line that
// ends it, so that a job pending too long is seen while it is still
// pending. Memory is bounded: at most maxOpenJobs open jobs, none older
// than jobMemory, and the ends of the last maxEndedJobs remembered so that
// an end reported twice (logged by the app, read by the console) counts
// once. A jobTracker is not safe for concurrent use.
type jobTracker struct {
	open   map[string]time.Time
	queue  []jobStart // scheduling order; entries of ended jobs are skipped
	ended  map[string]struct{}
	endedQ []string
	took   [60]maxBucket // the longest ended job per minute, for the hour
}

type jobStart struct {
	id string
	at time.Time
}

type maxBucket struct {
	stamp int64 // unix minute
	d     time.Duration
}

const (
	maxOpenJobs  = 4096
	maxEndedJobs = 1024
	jobMemory    = time.Hour
)

// see takes one fact about a job at. It reports whether the fact ended
// the job (once per job) and, when known, how long the job took: the
// line's took= field, else the time since the job was scheduled.
func (j *jobTracker) see(at time.Time, f *LineFacts) (took time.Duration, finished bool) {
	if _, done := j.ended[f.Job]; done {
		return 0, false
	}
	if !f.Finished() {
		if f.Outcome == "" {
			return 0, false
		}
		// scheduled, pending, working...: the job is open from its first
		// sighting.
		if _, ok := j.open[f.Job]; !ok {
			if j.open == nil {
				j.open = map[string]time.Time{}
			}
			j.open[f.Job] = at
			j.queue = append(j.queue, jobStart{f.Job, at})
			j.trim()
		}
		return 0, false
	}
	took = f.Took
	if start, ok := j.open[f.Job]; ok {
		if took == 0 {
			took = max(0, at.Sub(start))
		}
		delete(j.open, f.Job)
	}
	j.markEnded(f.Job)
	if took > 0 {
		mi := at.Unix() / 60
		b := &j.took[mi%60]
		if b.stamp != mi {
			*b = maxBucket{stamp: mi}
		}
		b.d = max(b.d, took)
	}
	return took, true
}

func (j *jobTracker) markEnded(id string) {
	if j.ended == nil {
		j.ended = map[string]struct{}{}
	}
	j.ended[id] = struct{}{}
	j.endedQ = append(j.endedQ, id)
	if len(j.endedQ) > maxEndedJobs {
		delete(j.ended, j.endedQ[0])
		j.endedQ = j.endedQ[1:]
	}
}

// trim keeps the open jobs within maxOpenJobs, forgetting the oldest, and
// the queue free of too many ended entries.
func (j *jobTracker) trim() {
	for len(j.open) > maxOpenJobs && len(j.queue) > 0 {
		j.drop()
	}
	if len(j.queue) > 2*maxOpenJobs {
		live := j.queue[:0]
		for _, s := range j.queue {
			if at, ok := j.open[s.id]; ok && at.Equal(s.at) {
				live = append(live, s)
			}
		}
		j.queue = live
	}
}

// drop forgets the first job in the queue.
func (j *jobTracker) drop() {
	s := j.queue[0]
	if at, ok := j.open[s.id]; ok && at.Equal(s.at) {
		delete(j.open, s.id)
	}
	j.queue = j.queue[1:]
}

// longest returns the longest a job has been pending over the window
// before now: the oldest job still open, or the longest that ended in the
// window; and how many open jobs are over limit.
func (j *jobTracker) longest(now time.Time, window, limit time.Duration) (time.Duration, int64) {
	for len(j.queue) > 0 {
		s := j.queue[0]
		at, ok := j.open[s.id]
		if ok && at.Equal(s.at) && now.Sub(at) <= jobMemory {
			break
		}
		j.drop()
	}
	var longest time.Duration
	var over int64
	for _, s := range j.queue {
		at, ok := j.open[s.id]
		if !ok || !at.Equal(s.at) {
			continue
		}
		age := now.Sub(at)
		if age <= limit {
			break // the queue is in scheduling order: the rest are younger
		}
		longest = max(longest, age)
		over++
	}
	if over == 0 && len(j.queue) > 0 {
		longest = max(0, now.Sub(j.queue[0].at))
	}
	mi := now.Unix() / 60
	from := mi - int64(window/time.Minute)
	for _, b := range j.took {
		if b.stamp > from && b.stamp <= mi {
			longest = max(longest, b.d)
		}
	}
	return longest, over
}

// JobOutcome normalises a job status word the way the guide reads
// Publer's: "complete" and "completed" are complete, "failed" is failed,
// anything else is still pending.
func JobOutcome(status string) string {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "complete", "completed":
		return OutcomeComplete
	case "failed":
		return OutcomeFailed
	}
	return OutcomeScheduled
}
