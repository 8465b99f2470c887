package storage

import (
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"
)

// FileName is the name of the database file Open keeps in the folder it is given.
const FileName = "parley.db"

// Errors the Store's methods wrap.
var (
	// ErrNotFound: no message, room or account with that id.
	ErrNotFound = errors.New("not found")
	// ErrStatus: the message's status does not allow the move (see model.Status.CanMove).
	ErrStatus = errors.New("status does not allow that")
	// ErrExists: a message with that id is already held.
	ErrExists = errors.New("already exists")
	// ErrInvalid: the input lacks a field the store needs (an id, a room id).
	ErrInvalid = errors.New("invalid input")
)

// Store is the local store of one profile. Open it with Open; the zero Store is not usable.
type Store struct {
	db  *gorm.DB
	mu  sync.Mutex // serialises write transactions
	now func() time.Time
}

// Open opens (creating if needed) the store in dir: the folder is created, the file
// dir/parley.db opened in WAL mode and its tables migrated.
func Open(dir string) (*Store, error) {
	return nil, errors.New("storage: not implemented yet")
}

// Close closes the database. The Store must not be used afterwards.
func (s *Store) Close() error {
	return nil
}
