package storage

import (
	"strings"
	"testing"
)

func TestCheckProfileName(t *testing.T) {
	for _, good := range []string{"default", "bob", "ada.2", "team_a-1", "zoë", strings.Repeat("a", MaxProfileNameLen)} {
		if err := CheckProfileName(good); err != nil {
			t.Errorf("CheckProfileName(%q) = %v; want nil", good, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "-x", "_x", "a b", "a:b",
		"tab\there", "nul\x00", "\xff", strings.Repeat("a", MaxProfileNameLen+1)} {
		err := CheckProfileName(bad)
		if err == nil || !strings.Contains(err.Error(), "bad profile name") {
			t.Errorf("CheckProfileName(%q) = %v; want a bad profile name error", bad, err)
		}
	}
}
