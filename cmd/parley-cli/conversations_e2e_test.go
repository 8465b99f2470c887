package main

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestConversationsEndToEnd runs every issue 14 command against the real server.
func TestConversationsEndToEnd(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	homeA, homeB := t.TempDir(), t.TempDir()
	mustCLI(t, "-home", homeA, "-server", srv.URL, "register", "alice")
	bob := mustCLI(t, "-home", homeB, "-server", srv.URL, "register", "bob")
	bobID := bob[0]["userId"].(string)
	id := mustCLI(t, "-home", homeA, "send", "general", "teh", "plan")[0]["id"].(string)

	reply := mustCLI(t, "-home", homeB, "reply", "general", id, "sounds", "good")
	if reply[0]["replyTo"] != id || reply[0]["status"] == "sending" {
		t.Fatalf("reply: %v", reply)
	}
	edited := mustCLI(t, "-home", homeA, "edit", "general", id, "the", "plan")
	if edited[0]["content"] != "the plan" || edited[0]["editedAt"] == nil {
		t.Fatalf("edit: %v", edited)
	}
	mustCLI(t, "-home", homeB, "history", "general") // bob's profile holds the message
	code, out, errOut := cli(t, "-home", homeB, "edit", "general", id, "hijacked")
	if code != exitError || out != "" || !strings.Contains(errOut, "only its sender") {
		t.Fatalf("bob edits alice's message: exit %d\n%s\n%s", code, out, errOut)
	}
	reacted := mustCLI(t, "-home", homeB, "react", "general", id, "👍")
	if r, _ := reacted[0]["reactions"].(map[string]any); len(r) != 1 || r["👍"].([]any)[0] != bobID {
		t.Fatalf("react: %v", reacted)
	}
	if back := mustCLI(t, "-home", homeB, "react", "general", id, "👍", "-off"); back[0]["reactions"] != nil {
		t.Fatalf("react -off: %v", back)
	}
	if found := mustCLI(t, "-home", homeB, "search", "plan"); len(found) != 1 || found[0]["id"] != id {
		t.Fatalf("search: %v", found)
	}
	if del := mustCLI(t, "-home", homeA, "delete", "general", id); del[0]["deleted"] != true || del[0]["content"] != "" {
		t.Fatalf("delete: %v", del)
	}
	if found := mustCLI(t, "-home", homeB, "search", "plan", "-room", "general"); len(found) != 0 {
		t.Fatalf("search finds a deleted message: %v", found)
	}
	if found := mustCLI(t, "-home", homeA, "search", "sounds"); len(found) != 1 || found[0]["replyTo"] != id {
		t.Fatalf("search the reply: %v", found)
	}

	renamed := mustCLI(t, "-home", homeA, "rename", "general", "lobby")
	if renamed[0]["name"] != "lobby" {
		t.Fatalf("rename: %v", renamed)
	}
	mustCLI(t, "-home", homeA, "invite", "lobby", "bob")
	roomID := renamed[0]["id"].(string)
	if left := mustCLI(t, "-home", homeB, "leave", roomID); left[0]["event"] != "left" {
		t.Fatalf("leave: %v", left)
	}
	dir := mustCLI(t, "-home", homeB, "public", "lob")
	if len(dir) != 1 || dir[0]["id"] != roomID || dir[0]["memberCount"] != float64(1) {
		t.Fatalf("public: %v", dir)
	}
	if joined := mustCLI(t, "-home", homeB, "join", "lobby"); joined[0]["id"] != roomID {
		t.Fatalf("join: %v", joined)
	}
}
