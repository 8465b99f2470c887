package storage

import (
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

// SaveAccount stores a as the signed-in account. Signing in as another user, or on
// another server, than the one whose history the store holds clears that history
// (rooms, messages, outbox, receipts) first, in the same transaction.
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

// sameServer compares server URLs, ignoring case and a trailing slash.
func sameServer(a, b string) bool {
	return strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(b, "/"))
}

// clearHistory drops everything but the account.
func clearHistory(tx *gorm.DB) error {
	for _, table := range []string{"outbox", "receipts", "messages", "rooms"} {
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
