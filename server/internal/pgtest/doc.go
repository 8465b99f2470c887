// Package pgtest gives tests a PostgreSQL server: the one PARLEY_TEST_PG names, or a
// throwaway cluster it initdb's in a temporary folder and starts on a loopback port,
// with a fresh database for each test.
package pgtest
