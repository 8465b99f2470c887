package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// The JSON objects the commands print, one a line. Every object has an "event" naming its kind.

type accountOut struct {
	Event       string `json:"event"` // "account"
	UserID      string `json:"userId"`
	Username    string `json:"username"`
	DisplayName string `json:"displayName"`
	Server      string `json:"server"`
	Synced      bool   `json:"synced"`
}

type signedOutOut struct {
	Event    string `json:"event"` // "signed_out"
	Username string `json:"username"`
	Server   string `json:"server"`
}

type roomOut struct {
	Event     string   `json:"event"` // "room"
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Public    bool     `json:"public"`
	Direct    bool     `json:"direct"`
	MemberIDs []string `json:"memberIds"`
	LastSeq   int64    `json:"lastSeq"`
	Unread    int64    `json:"unread"`
	// Protocol 1.1.
	Topic       string `json:"topic"`
	MemberCount int    `json:"memberCount"`
}

type messageOut struct {
	Event      string            `json:"event"` // "message"
	ID         string            `json:"id"`
	RoomID     string            `json:"roomId"`
	Seq        int64             `json:"seq"`
	SenderID   string            `json:"senderId"`
	SenderName string            `json:"senderName"`
	Content    string            `json:"content"`
	Timestamp  model.Time        `json:"timestamp"`
	Attachment *model.Attachment `json:"attachment,omitempty"`
	// Status is sending, sent, delivered, read or failed for own messages, received for others'.
	Status string `json:"status"`
	Own    bool   `json:"own"`
	Error  string `json:"error,omitempty"`
	// Protocol 1.1: the message answered, and what updates made of it.
	ReplyTo   string          `json:"replyTo,omitempty"`
	EditedAt  model.Time      `json:"editedAt,omitzero"`
	Deleted   bool            `json:"deleted,omitempty"`
	Reactions model.Reactions `json:"reactions,omitempty"`
}

type updateFailedOut struct {
	Event    string `json:"event"` // "update_failed"
	ID       string `json:"id"`
	RoomID   string `json:"roomId"`
	TargetID string `json:"targetId"`
	Op       string `json:"op"`
	Error    string `json:"error"`
}

type leftOut struct {
	Event  string `json:"event"` // "left"
	RoomID string `json:"roomId"`
}

type publicRoomOut struct {
	Event        string     `json:"event"` // "public_room"
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	Topic        string     `json:"topic"`
	MemberCount  int        `json:"memberCount"`
	LastActivity model.Time `json:"lastActivity"`
}

type downloadOut struct {
	Event string `json:"event"` // "download"
	URL   string `json:"url"`
	File  string `json:"file"`
	Size  int64  `json:"size"`
}

type stateOut struct {
	Event   string `json:"event"` // "state"
	State   string `json:"state"` // connecting, online, offline, signed-out
	Synced  bool   `json:"synced,omitempty"`
	NextTry string `json:"nextTry,omitempty"`
	Error   string `json:"error,omitempty"`
}

type typistOut struct {
	UserID      string `json:"userId"`
	DisplayName string `json:"displayName"`
}

type typingOut struct {
	Event  string      `json:"event"` // "typing"
	RoomID string      `json:"roomId"`
	Users  []typistOut `json:"users"`
}

type presenceOut struct {
	Event  string `json:"event"` // "presence"
	UserID string `json:"userId"`
	Online bool   `json:"online"`
}

type resetOut struct {
	Event  string `json:"event"` // "reset"
	RoomID string `json:"roomId"`
}

func roomOf(r storage.Room) roomOut {
	members := r.MemberIDs
	if members == nil {
		members = []string{}
	}
	return roomOut{Event: "room", ID: r.ID, Name: r.Name, Public: r.Public, Direct: r.Direct,
		MemberIDs: members, LastSeq: r.LastSeq, Unread: r.Unread(), Topic: r.Topic, MemberCount: r.MemberCount}
}

func messageOf(m storage.Message) messageOut {
	status := string(m.Status)
	if status == "" {
		status = "received"
	}
	return messageOut{Event: "message", ID: m.ID, RoomID: m.RoomID, Seq: m.Seq, SenderID: m.SenderID,
		SenderName: m.SenderName, Content: m.Content, Timestamp: m.Timestamp, Attachment: m.Attachment,
		Status: status, Own: m.Own, Error: m.Error, ReplyTo: m.ReplyTo, EditedAt: m.EditedAt, Deleted: m.Deleted,
		Reactions: m.Reactions}
}

func updateFailedOf(f storage.UpdateFailure) updateFailedOut {
	return updateFailedOut{Event: "update_failed", ID: f.Update.ID, RoomID: f.Update.RoomID, TargetID: f.Update.TargetID,
		Op: f.Update.Op, Error: f.Reason}
}

// emit prints v as one JSON line (with &, < and > as they are: this is not HTML).
func emit(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
