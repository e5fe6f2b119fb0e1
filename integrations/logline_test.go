package integrations

import (
	"testing"
	"time"
)

func TestParseFlyText(t *testing.T) {
	var l LogLine
	in := "2025-10-19T09:30:00.123Z app[3d8d9e1f2b7a48] iad [info]idea-pool: served 24 ideas from supabase"
	if err := ParseFlyText([]byte(in), &l); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 10, 19, 9, 30, 0, 123e6, time.UTC)
	if !l.Time.Equal(want) || l.Instance != "3d8d9e1f2b7a48" || l.Region != "iad" || l.Level != LevelInfo ||
		l.Message != "idea-pool: served 24 ideas from supabase" {
		t.Fatalf("parsed %+v", l)
	}
	if err := ParseFlyText([]byte("2025-10-19T11:30:00+02:00 app[x] ord [error]boom"), &l); err != nil {
		t.Fatal(err)
	}
	if !l.Time.Equal(time.Date(2025, 10, 19, 9, 30, 0, 0, time.UTC)) || l.Level != LevelError {
		t.Errorf("offset time or level wrong: %+v", l)
	}
	for _, bad := range []string{"", "hello world", "2025-10-19T09:30:00Z app[x]", "notatime app[x] iad [info]m"} {
		if ParseFlyText([]byte(bad), &l) == nil {
			t.Errorf("%q parsed, want an error", bad)
		}
	}
}

func TestFormatThenParseRoundTrips(t *testing.T) {
	in := LogLine{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Level: LevelWarn, Instance: "abc", Region: "ord", Message: "chatwoot: Rate limit reached"}
	var out LogLine
	if err := ParseFlyText(FormatFlyText(nil, &in), &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip: %+v != %+v", out, in)
	}
}
