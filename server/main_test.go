package server_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/parleychat/parley/server/internal/pgtest"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(nodeEnv); spec != "" {
		os.Exit(runNodeProcess(spec)) // a node for the tests that kill one (killed_node_test.go)
	}
	// The PostgreSQL cluster that some tests start is stopped after them all.
	goleak.VerifyTestMain(pgtest.Main(m),
		// gorm's prepared-statement cache (AppendMessages) keeps one janitor per store.
		goleak.IgnoreTopFunction("gorm.io/gorm/internal/lru.NewLRU[...].func1"),
		// Toxiproxy's links end a moment after its proxy stops (TestPostgresNetworkCut).
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"))
}
