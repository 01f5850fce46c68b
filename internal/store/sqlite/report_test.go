package sqlite

import (
	"path/filepath"
	"testing"
)

// TestReportQueryPlans checks that the report reads a period's transcript lines and
// archived tickets through their time indexes, not by reading every row.
func TestReportQueryPlans(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "giftdesk.db"))
	tests := []struct {
		name  string
		query string
		args  int
		want  string
	}{
		{name: "lines since", query: linesSince, args: 2, want: "transcripts_at"},
		{name: "closed since", query: closedSince, args: 1, want: "tickets_closed_at"},
	}
	check := func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { checkPlan(t, s, tt.query, tt.args, tt.want, nil) })
		}
	}
	t.Run("empty", check)
	fillBacklog(t, s, 10_000)
	if _, err := s.write.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	t.Run("analyzed", check)
}
