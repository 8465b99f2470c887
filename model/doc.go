// Package model holds what the Parley server and its clients share: the wire frames of
// protocol version 1, the domain types (Message, Room, Status) and the validation rules
// for usernames, passwords and message content. It imports nothing of Fyne, gorm or
// websocket, so both sides and every platform can use it.
package model
