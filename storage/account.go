package storage

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
	return Account{}, false, nil
}

// SaveAccount stores a as the signed-in account. Signing in as another user, or on
// another server, than the one whose history the store holds clears that history
// (rooms, messages, outbox, receipts) first, in the same transaction.
func (s *Store) SaveAccount(a Account) error {
	return nil
}

// SetRefreshToken replaces the stored refresh token (the server spends the old one on
// every refresh). It fails with ErrNotFound when no account is signed in.
func (s *Store) SetRefreshToken(token string) error {
	return nil
}

// ClearAccount signs out: the refresh token is forgotten and Account reports false.
// The history (rooms, messages, outbox) is kept, and so is the user id, so that own
// messages are still recognised.
func (s *Store) ClearAccount() error {
	return nil
}
