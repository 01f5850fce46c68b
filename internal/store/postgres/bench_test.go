package postgres

import (
	"testing"

	"github.com/giftdesk/giftdesk/internal/store/storetest"
)

// BenchmarkStore runs the benchmarks every store runs (storetest.Bench), so that the two
// stores can be compared on one machine:
//
//	GIFTDESK_TEST_POSTGRES=… go test ./internal/store/postgres/ ./internal/store/sqlite/ -run '^$' -bench Store
func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) storetest.BenchStore { return open(b, nil) },
		func(b *testing.B, s storetest.BenchStore, n int) { fillBacklog(b, s.(*Store), n) })
}
