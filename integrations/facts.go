package integrations

import (
	"strings"
	"time"
)

// LineFacts are the structured facts one log line states: the app's own
// key=value fields, and the status column of an access line. They are
// never guessed from numbers found elsewhere in the text: "accepted (401
// chars)" and "mock-job-401-…" state no status.
type LineFacts struct {
	// Status is the HTTP status of the request the line records: its
	// "status=NNN" field, or the status column of an access line
	// ("GET /api/analytics/idea-pool 200 …"). 0: not a request line.
	Status int
	// Upstream names the service a request went to ("upstream=publer");
	// "" for a request the app answered itself.
	Upstream string
	// Job and Outcome follow a job: "job=ID outcome=scheduled" when it is
	// handed to the service, then "outcome=complete" or "outcome=failed".
	Job     string
	Outcome string
	// Took is how long the job took ("took=312s"), when the line says.
	Took time.Duration
}

// Job outcomes as the app logs them.
const (
	OutcomeScheduled = "scheduled"
	OutcomeComplete  = "complete"
	OutcomeFailed    = "failed"
)

// Finished reports whether the line ends a job.
func (f *LineFacts) Finished() bool {
	return f.Job != "" && (f.Outcome == OutcomeComplete || f.Outcome == OutcomeFailed)
}

// ReadFacts reads the structured facts of a log message. It looks only at
// the key=value fields there are; a line without any costs one scan.
func ReadFacts(msg string) LineFacts {
	var f LineFacts
	for i := 0; i < len(msg); {
		j := strings.IndexByte(msg[i:], '=')
		if j < 0 {
			break
		}
		eq := i + j
		end := strings.IndexByte(msg[eq+1:], ' ')
		if end < 0 {
			end = len(msg)
		} else {
			end += eq + 1
		}
		k := msg[strings.LastIndexByte(msg[:eq], ' ')+1 : eq]
		v := strings.TrimRight(msg[eq+1:end], ",;)")
		i = end
		if v == "" {
			continue
		}
		switch k {
		case "status":
			f.Status = statusCode(v)
		case "upstream":
			f.Upstream = strings.ToLower(v)
		case "job":
			f.Job = v
		case "outcome":
			f.Outcome = strings.ToLower(v)
		case "took":
			if d, err := time.ParseDuration(v); err == nil && d >= 0 {
				f.Took = d
			}
		}
	}
	if f.Status == 0 {
		f.Status = accessStatus(msg)
	}
	return f
}

// nextToken splits off the first space-separated token of s, trimming the
// punctuation that ends a field written in a sentence ("status=401;").
func nextToken(s string) (tok, rest string) {
	s = strings.TrimLeft(s, " ")
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		tok, rest = s, ""
	} else {
		tok, rest = s[:i], s[i+1:]
	}
	return strings.TrimRight(tok, ",;)"), rest
}

// statusCode reads a three-digit HTTP status, or 0.
func statusCode(v string) int {
	if len(v) != 3 || v[0] < '1' || v[0] > '5' {
		return 0
	}
	n := 0
	for i := range 3 {
		c := v[i]
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// accessStatus reads the status column of an access line: an optional
// "tag:" prefix, an HTTP method, a path, then the status.
func accessStatus(msg string) int {
	tok, rest := nextToken(msg)
	if strings.HasSuffix(tok, ":") {
		tok, rest = nextToken(rest)
	}
	switch tok {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
	default:
		return 0
	}
	path, rest := nextToken(rest)
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "http") {
		return 0
	}
	code, _ := nextToken(rest)
	return statusCode(code)
}
