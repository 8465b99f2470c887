package server

import (
	"strings"

	"gorm.io/driver/postgres"
)

// isPostgresDSN reports whether dsn names a PostgreSQL database.
func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenPostgres opens the PostgreSQL database dsn (postgres://user:pass@host:port/db?...)
// through pgx and migrates its tables. Several nodes may open one database: the
// migrations are idempotent and the Store's writes hold room locks.
func OpenPostgres(dsn string) (Store, error) {
	return OpenGorm(postgres.New(postgres.Config{DSN: dsn}))
}

// OpenStore opens the database dsn names: PostgreSQL for a postgres:// or
// postgresql:// URL, else SQLite (a path or a file: DSN).
func OpenStore(dsn string) (Store, error) {
	if isPostgresDSN(dsn) {
		return OpenPostgres(dsn)
	}
	return OpenSQLite(dsn)
}
