package server_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(nodeEnv); spec != "" {
		os.Exit(runNodeProcess(spec)) // a node for the tests that kill one (killed_node_test.go)
	}
	goleak.VerifyTestMain(m,
		// gorm's prepared-statement cache (AppendMessages) keeps one janitor per store.
		goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"))
}
