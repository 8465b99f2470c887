package storage

import (
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Account is the signed-in user of this profile. The password is never stored.
type Account struct {
	ServerURL    string
	UserID       string
	Username     string
	DisplayName  string
	RefreshToken string
}

// Account returns the signed-in account; false when signed out or never signed in.
func (s *Store) Account() (Account, bool, error) {
	var rows []accountRow
	if err := s.db.Where("id = ? AND signed_in", accountID).Limit(1).Find(&rows).Error; err != nil {
		return Account{}, false, fmt.Errorf("read account: %w", err)
	}
	if len(rows) == 0 {
		return Account{}, false, nil
	}
	r := rows[0]
	return Account{ServerURL: r.ServerURL, UserID: r.UserID, Username: r.Username,
		DisplayName: r.DisplayName, RefreshToken: r.RefreshToken}, true, nil
}

// LastAccount returns the account the store's history belongs to, signed in or not
// (after ClearAccount its RefreshToken is empty); false when nobody ever signed in here.
func (s *Store) LastAccount() (Account, bool, error) {
	var rows []accountRow
	if err := s.db.Where("id = ? AND user_id <> ''", accountID).Limit(1).Find(&rows).Error; err != nil {
		return Account{}, false, fmt.Errorf("read account: %w", err)
	}
	if len(rows) == 0 {
		return Account{}, false, nil
	}
	r := rows[0]
	return Account{ServerURL: r.ServerURL, UserID: r.UserID, Username: r.Username,
		DisplayName: r.DisplayName, RefreshToken: r.RefreshToken}, true, nil
}

// ErrUnsent is wrapped by the *UnsentError of SaveAccount.
var ErrUnsent = errors.New("unsent messages would be lost")

// UnsentError is SaveAccount's refusal to drop another account's unsent messages.
type UnsentError struct {
	Count   int     // own messages not acknowledged by the server (sending or failed)
	Changes int     // own edits, deletes and reactions not acknowledged (queued or refused)
	Old     Account // the account they belong to (no refresh token)
}

func (e *UnsentError) Error() string {
	what := fmt.Sprintf("%d unsent message(s)", e.Count)
	if e.Changes > 0 {
		what += fmt.Sprintf(" and %d unsent change(s)", e.Changes)
	}
	return fmt.Sprintf("%s of %s on %s would be lost", what, e.Old.Username, e.Old.ServerURL)
}

// Unwrap makes errors.Is(err, ErrUnsent) hold.
func (e *UnsentError) Unwrap() error { return ErrUnsent }

// SaveAccount stores a as the signed-in account. Signing in as another user, or on
// another server, than the one whose history the store holds clears that history
// (rooms, messages, outbox, receipts) first, in the same transaction — unless that
// history holds unsent messages: then nothing changes and the error is an
// *UnsentError (ErrUnsent), so that they are never dropped silently. DiscardHistory
// drops them once the user agrees.
func (s *Store) SaveAccount(a Account) error {
	if a.UserID == "" {
		return fmt.Errorf("save account: no user id: %w", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.db.Transaction(func(tx *gorm.DB) error {
		var rows []accountRow
		if err := tx.Where("id = ?", accountID).Limit(1).Find(&rows).Error; err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		if len(rows) == 1 && rows[0].UserID != "" &&
			(rows[0].UserID != a.UserID || !sameServer(rows[0].ServerURL, a.ServerURL)) {
			n, err := countUnsent(tx)
			if err != nil {
				return err
			}
			changes, err := countUnsentChanges(tx)
			if err != nil {
				return err
			}
			if n > 0 || changes > 0 {
				old := rows[0]
				return &UnsentError{Count: n, Changes: changes, Old: Account{ServerURL: old.ServerURL, UserID: old.UserID,
					Username: old.Username, DisplayName: old.DisplayName}}
			}
			if err := clearHistory(tx); err != nil {
				return err
			}
		}
		row := accountRow{ID: accountID, ServerURL: a.ServerURL, UserID: a.UserID, Username: a.Username,
			DisplayName: a.DisplayName, RefreshToken: a.RefreshToken, SignedIn: true}
		if err := tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("write account: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save account %s: %w", a.UserID, err)
	}
	s.self, s.selfName = a.UserID, a.DisplayName
	return nil
}

// UnsentCount returns how many own messages the server has not acknowledged (sending
// or failed): what signing in as another account would drop.
func (s *Store) UnsentCount() (int, error) { return countUnsent(s.db) }

func countUnsent(tx *gorm.DB) (int, error) {
	var n int64
	if err := tx.Model(&messageRow{}).Where("own AND seq = 0").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count unsent messages: %w", err)
	}
	return int(n), nil
}

// countUnsentChanges counts the own updates the server has not acknowledged: queued,
// or refused and waiting for Retry or Discard.
func countUnsentChanges(tx *gorm.DB) (int, error) {
	var n int64
	if err := tx.Model(&updateRow{}).Where("own AND seq = 0").Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count unsent changes: %w", err)
	}
	return int(n), nil
}

// DiscardHistory forgets the account and everything the store holds for it: rooms,
// messages, the unsent outbox, receipts. The next SaveAccount starts afresh. The user
// must have agreed: this is the one way unsent messages are dropped.
func (s *Store) DiscardHistory() error {
	err := s.write(func(tx *gorm.DB) error {
		if err := clearHistory(tx); err != nil {
			return err
		}
		if err := tx.Exec("DELETE FROM account").Error; err != nil {
			return fmt.Errorf("clear account: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("discard history: %w", err)
	}
	s.mu.Lock()
	s.self, s.selfName = "", ""
	s.mu.Unlock()
	return nil
}

// sameServer compares server URLs, ignoring case and a trailing slash.
func sameServer(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// clearHistory drops everything but the account.
func clearHistory(tx *gorm.DB) error {
	for _, table := range []string{"outbox", "receipts", "updates", "messages", "drafts", "rooms"} {
		if err := tx.Exec("DELETE FROM " + table).Error; err != nil {
			return fmt.Errorf("clear %s: %w", table, err)
		}
	}
	return nil
}

// SetRefreshToken replaces the stored refresh token (the server spends the old one on
// every refresh). It fails with ErrNotFound when no account is signed in.
func (s *Store) SetRefreshToken(token string) error {
	err := s.write(func(tx *gorm.DB) error {
		res := tx.Model(&accountRow{}).Where("id = ? AND signed_in", accountID).Update("refresh_token", token)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set refresh token: %w", err)
	}
	return nil
}

// ClearAccount signs out: the refresh token is forgotten and Account reports false.
// The history (rooms, messages, outbox) is kept, and so is the user id, so that own
// messages are still recognised.
func (s *Store) ClearAccount() error {
	err := s.write(func(tx *gorm.DB) error {
		return tx.Model(&accountRow{}).Where("id = ?", accountID).
			Updates(map[string]any{"refresh_token": "", "signed_in": false}).Error
	})
	if err != nil {
		return fmt.Errorf("clear account: %w", err)
	}
	return nil
}
