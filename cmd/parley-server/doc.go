// Command parley-server runs the Parley chat server. Every flag can also be set by an
// environment variable PARLEY_<NAME> (dashes become underscores); a flag wins over its
// variable. It serves at once with no configuration: 127.0.0.1:8787, data in
// ./parley-data. SIGINT or SIGTERM shut it down gracefully.
package main
