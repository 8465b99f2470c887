package server

import (
	"context"
	"testing"
)

// TestPostgresSearchPlannedForItsWords: PostgreSQL plans every search with its own
// words, never with a prepared statement's generic plan, which cannot tell a rare word
// from a common one (a common word took 3.3 s at p99 at 1,000,000 messages once the
// generic plan came in, from a statement's sixth run). The store runs on one
// connection here, so the searches and the look at its prepared statements share it.
func TestPostgresSearchPlannedForItsWords(t *testing.T) {
	var pg storeBackend
	for _, b := range storeBackends {
		if b.name == "postgres" {
			pg = b
		}
	}
	st, _ := storeWithMessages(t, pg, "the quick brown fox", "a lazy dog", "quick thinking")
	gs := st.(*gormStore)
	sqlDB, err := gs.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1)
	ctx := context.Background()
	for range 12 {
		for _, room := range []string{"", "r"} {
			if got, err := st.SearchMessages(ctx, "a", room, "quick", 50); err != nil || len(got) != 2 {
				t.Fatalf("search in %q: %v, %d results", room, err, len(got))
			}
		}
	}
	var plans []struct {
		Statement    string
		GenericPlans int64
	}
	if err := gs.db.Raw(`SELECT statement, generic_plans FROM pg_prepared_statements
		WHERE statement LIKE '%plainto_tsquery%' AND statement NOT LIKE '%pg_prepared_statements%'`).Scan(&plans).Error; err != nil {
		t.Fatal(err)
	}
	for _, p := range plans {
		if p.GenericPlans > 0 {
			t.Errorf("%d generic plans of %s", p.GenericPlans, p.Statement)
		}
	}
}
