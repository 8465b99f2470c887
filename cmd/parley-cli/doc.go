// Command parley-cli is the terminal client of Parley, for QA and scripts: it signs in,
// lists rooms, sends (through the same outbox as the app) and listens, printing one JSON
// object per line. It drives package net, the engine the app uses.
//
//	parley-cli [-profile NAME] [-server URL] [-home DIR] [-wait 5s] COMMAND [ARGS]
//
// See README.section.md for the commands and exit codes.
package main
