package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/servertest"
)

// TestSendAttachAndDownload: send -attach prints the message with the server's
// attachment; another user's download -o writes the same bytes.
func TestSendAttachAndDownload(t *testing.T) {
	srv := servertest.Start(t, server.Config{PresenceGrace: -1})
	homeA, homeB := t.TempDir(), t.TempDir()
	mustCLI(t, "-home", homeA, "-server", srv.URL, "register", "alice")
	mustCLI(t, "-home", homeB, "-server", srv.URL, "register", "bob")
	file := filepath.Join(t.TempDir(), "report.txt")
	data := bytes.Repeat([]byte("quarterly numbers\n"), 5000)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sent := mustCLI(t, "-home", homeA, "send", "-attach", file, "general")
	att, _ := sent[0]["attachment"].(map[string]any)
	url, _ := att["url"].(string)
	if sent[0]["status"] == "sending" || sent[0]["status"] == "failed" || !strings.HasPrefix(url, "/api/uploads/") ||
		att["name"] != "report.txt" || att["size"] != float64(len(data)) || !strings.HasPrefix(att["mime"].(string), "text/plain") {
		t.Fatalf("send -attach: %v", sent)
	}
	out := filepath.Join(t.TempDir(), "got.txt")
	got := mustCLI(t, "-home", homeB, "download", url, "-o", out)
	if got[0]["event"] != "download" || got[0]["size"] != float64(len(data)) {
		t.Fatalf("download: %v", got)
	}
	if back, _ := os.ReadFile(out); !bytes.Equal(back, data) {
		t.Fatal("downloaded file differs")
	}
	// Text and attachment together; and the usage mistakes.
	if sent := mustCLI(t, "-home", homeA, "send", "general", "-attach", file, "see", "this"); sent[0]["content"] != "see this" || sent[0]["attachment"] == nil {
		t.Fatalf("send -attach with text: %v", sent)
	}
	for _, args := range [][]string{
		{"-home", homeB, "download", url},
		{"-home", homeB, "rooms", "-attach", file},
		{"-home", homeB, "send", "-o", out, "general", "x"},
	} {
		if code, _, _ := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, errOut := cli(t, "-home", homeA, "send", "-attach", filepath.Join(t.TempDir(), "missing"), "general"); code != exitError || !strings.Contains(errOut, "missing") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
}
