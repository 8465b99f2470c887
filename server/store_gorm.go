package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/parleychat/parley/model"
)

// sqlitePragmas are appended to a SQLite DSN that names none of its own: WAL,
// synchronous=NORMAL, a busy timeout, write transactions that take the write lock
// when they begin (so a transaction never fails upgrading a read lock), and no
// automatic checkpoints: the store's checkpointer does them beside the writer instead
// of inside its commits (a tenth of the group commit's time went to them).
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"

// checkpointEvery is how often the checkpointer copies the write-ahead log into the
// database (PASSIVE: it never waits for, nor blocks, the writer).
const checkpointEvery = 200 * time.Millisecond

type userRow struct {
	ID           string `gorm:"primaryKey;size:64"`
	Username     string `gorm:"uniqueIndex;size:64;not null"`
	DisplayName  string `gorm:"size:256;not null"`
	PasswordHash []byte `gorm:"not null"`
	CreatedAtMs  int64  `gorm:"not null"`
}

func (userRow) TableName() string { return "users" }

type roomRow struct {
	ID          string  `gorm:"primaryKey;size:64"`
	Name        string  `gorm:"size:256;not null"`
	Public      bool    `gorm:"not null"`
	Direct      bool    `gorm:"not null"`
	DirectKey   *string `gorm:"uniqueIndex;size:160"`
	Epoch       string  `gorm:"size:64;not null"`
	LastSeq     int64   `gorm:"not null"`
	CreatedAtMs int64   `gorm:"not null"`
	Topic       string  `gorm:"size:1024;not null;default:''"`
}

func (roomRow) TableName() string { return "rooms" }

type memberRow struct {
	RoomID       string `gorm:"primaryKey;size:64"`
	UserID       string `gorm:"primaryKey;size:64;index"`
	DeliveredSeq int64  `gorm:"not null"`
	ReadSeq      int64  `gorm:"not null"`
	JoinedAtMs   int64  `gorm:"not null"`
}

func (memberRow) TableName() string { return "members" }

type messageRow struct {
	RoomID     string `gorm:"primaryKey;size:64;uniqueIndex:idx_messages_room_seq,priority:1"`
	ID         string `gorm:"primaryKey;size:64"`
	Seq        int64  `gorm:"not null;uniqueIndex:idx_messages_room_seq,priority:2"`
	SenderID   string `gorm:"size:64;not null"`
	SenderName string `gorm:"size:256;not null"`
	Content    string `gorm:"not null"`
	Attachment string `gorm:"not null"`
	AtMs       int64  `gorm:"not null"`
	// Protocol 1.1: the message answered, and the state its updates left.
	ReplyTo    string `gorm:"size:64;not null;default:''"`
	EditedAtMs int64  `gorm:"not null;default:0"`
	Deleted    bool   `gorm:"not null;default:false"`
}

func (messageRow) TableName() string { return "messages" }

type refreshRow struct {
	Hash        string `gorm:"primaryKey;size:64"`
	UserID      string `gorm:"size:64;not null;index"`
	FamilyID    string `gorm:"size:64;not null;index"`
	ExpiresAtMs int64  `gorm:"not null;index"`
	Spent       bool   `gorm:"not null"`
	Revoked     bool   `gorm:"not null"`
}

func (refreshRow) TableName() string { return "refresh_tokens" }

// gormStore is the Store on gorm. It uses only portable SQL, so the same code runs on
// SQLite and PostgreSQL.
type gormStore struct {
	db *gorm.DB

	ckptStop chan struct{} // nil: no checkpointer (not SQLite)
	ckptDone chan struct{}
}

// OpenSQLite opens (creating if needed) the SQLite database at dsn, which is a file
// path or a "file:" DSN; pragmas are added when the DSN has none.
func OpenSQLite(dsn string) (Store, error) {
	if !strings.Contains(dsn, "_pragma=") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + sqlitePragmas
	}
	st, err := OpenGorm(sqlite.Open(dsn))
	if err != nil {
		return nil, err
	}
	gs := st.(*gormStore)
	gs.ckptStop, gs.ckptDone = make(chan struct{}), make(chan struct{})
	go gs.checkpointer()
	return gs, nil
}

// checkpointer checkpoints the write-ahead log every checkpointEvery until Close. With
// a DSN that keeps SQLite's own automatic checkpoints, it only adds a few more.
func (s *gormStore) checkpointer() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			// An error (the file unwritable, say) is the writer's to report; the
			// next tick tries again.
			_ = s.db.Exec("PRAGMA wal_checkpoint(PASSIVE)").Error
		case <-s.ckptStop:
			return
		}
	}
}

// OpenGorm opens a Store on any gorm dialector and migrates its tables.
func OpenGorm(d gorm.Dialector) (Store, error) {
	db, err := gorm.Open(d, &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		TranslateError:         true,
		SkipDefaultTransaction: true,
		// Name the columns: PostgreSQL's messages carry a search column no read needs.
		QueryFields: true,
		// Bounds the statements AppendMessages prepares (a shape per batch length).
		PrepareStmtMaxSize: 256,
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := migrate(db); err != nil {
		if sqlDB, e := db.DB(); e == nil {
			_ = sqlDB.Close()
		}
		return nil, fmt.Errorf("migrate database: %w", err)
	}
	if sqlDB, err := db.DB(); err == nil {
		// Keep the connections a burst opened (the default keeps two, and opening a
		// SQLite connection reads the schema again), but no more than a machine's
		// cores can use.
		sqlDB.SetMaxOpenConns(maxDBConns)
		sqlDB.SetMaxIdleConns(maxDBConns)
	}
	return &gormStore{db: db}, nil
}

// migrateLock is the PostgreSQL advisory lock key that serialises migrations.
const migrateLock = 0x7061726c6579 // "parley"

// migrate creates or updates the tables. On PostgreSQL it runs in one transaction under
// an advisory lock: nodes started together would otherwise race to create the same
// tables, and the loser would fail.
func migrate(db *gorm.DB) error {
	tables := append([]any{&userRow{}, &roomRow{}, &memberRow{}, &messageRow{}, &refreshRow{}, &updateRow{}, &reactionRow{}}, uploadTables...)
	if !isPostgres(db) {
		if err := db.AutoMigrate(tables...); err != nil {
			return err
		}
		return migrateSearch(db)
	}
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(migrateLock)).Error; err != nil {
			return fmt.Errorf("lock migrations: %w", err)
		}
		if err := tx.AutoMigrate(tables...); err != nil {
			return err
		}
		return migrateSearch(tx)
	})
}

// maxDBConns bounds the database connections.
const maxDBConns = 16

func (s *gormStore) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err == nil {
		err = sqlDB.PingContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

func (s *gormStore) Close() error {
	if s.ckptStop != nil {
		close(s.ckptStop)
		<-s.ckptDone
		s.ckptStop = nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return sqlDB.Close()
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

func toUser(r userRow) UserRecord {
	return UserRecord{ID: r.ID, Username: r.Username, DisplayName: r.DisplayName, PasswordHash: r.PasswordHash, CreatedAtMs: r.CreatedAtMs}
}

func (s *gormStore) CreateUser(ctx context.Context, u UserRecord, joinRoomID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&userRow{}).Where("username = ?", u.Username).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return ErrConflict
		}
		row := userRow{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, PasswordHash: u.PasswordHash, CreatedAtMs: u.CreatedAtMs}
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrConflict
			}
			return err
		}
		if joinRoomID != "" {
			m := memberRow{RoomID: joinRoomID, UserID: u.ID, JoinedAtMs: u.CreatedAtMs}
			if err := tx.Create(&m).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("create user %s: %w", u.Username, err)
	}
	return err
}

func (s *gormStore) UserByUsername(ctx context.Context, username string) (UserRecord, error) {
	var r userRow
	if err := s.db.WithContext(ctx).Where("username = ?", username).Take(&r).Error; err != nil {
		return UserRecord{}, notFound(err)
	}
	return toUser(r), nil
}

func (s *gormStore) UserByID(ctx context.Context, id string) (UserRecord, error) {
	var r userRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return UserRecord{}, notFound(err)
	}
	return toUser(r), nil
}

// likeEscaper escapes LIKE's wildcards so a query matches literally.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func (s *gormStore) SearchUsers(ctx context.Context, query string, limit int) ([]UserRecord, error) {
	q := s.db.WithContext(ctx).Model(&userRow{}).Order("username").Limit(limit)
	if query = strings.TrimSpace(query); query != "" {
		pat := "%" + likeEscaper.Replace(strings.ToLower(query)) + "%"
		q = q.Where(`username LIKE ? ESCAPE '\' OR LOWER(display_name) LIKE ? ESCAPE '\'`, pat, pat)
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	out := make([]UserRecord, len(rows))
	for i, r := range rows {
		out[i] = toUser(r)
		out[i].PasswordHash = nil
	}
	return out, nil
}

func newRoomRow(r RoomRecord, atMs int64) roomRow {
	row := roomRow{ID: r.ID, Name: r.Name, Public: r.Public, Direct: r.Direct, Epoch: r.Epoch, LastSeq: r.LastSeq, CreatedAtMs: atMs, Topic: r.Topic}
	if r.DirectKey != "" {
		k := r.DirectKey
		row.DirectKey = &k
	}
	return row
}

func (s *gormStore) EnsureRoom(ctx context.Context, r RoomRecord) error {
	row := newRoomRow(r, 0)
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("ensure room %s: %w", r.ID, err)
	}
	return nil
}

func (s *gormStore) CreateRoom(ctx context.Context, r RoomRecord) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if r.DirectKey != "" {
			var n int64
			if err := tx.Model(&roomRow{}).Where("direct_key = ?", r.DirectKey).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return ErrConflict
			}
		}
		// The creation time is the directory's activity of a room with no messages.
		row := newRoomRow(r, time.Now().UnixMilli())
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return ErrConflict
			}
			return err
		}
		members := make([]memberRow, 0, len(r.MemberIDs))
		for _, id := range r.MemberIDs {
			members = append(members, memberRow{RoomID: r.ID, UserID: id})
		}
		if len(members) > 0 {
			return tx.CreateInBatches(members, 200).Error
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("create room %s: %w", r.ID, err)
	}
	return err
}

func (s *gormStore) AddMember(ctx context.Context, roomID, userID string) error {
	m := memberRow{RoomID: roomID, UserID: userID}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error; err != nil {
		return fmt.Errorf("add %s to room %s: %w", userID, roomID, err)
	}
	return nil
}

func (s *gormStore) membersOf(ctx context.Context, roomIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(roomIDs))
	if len(roomIDs) == 0 {
		return out, nil
	}
	var rows []memberRow
	for start := 0; start < len(roomIDs); start += 500 {
		end := min(start+500, len(roomIDs))
		var part []memberRow
		if err := s.db.WithContext(ctx).Where("room_id IN ?", roomIDs[start:end]).Order("room_id, user_id").Find(&part).Error; err != nil {
			return nil, err
		}
		rows = append(rows, part...)
	}
	for _, m := range rows {
		out[m.RoomID] = append(out[m.RoomID], m.UserID)
	}
	return out, nil
}

func toRoom(r roomRow, members []string) RoomRecord {
	rec := RoomRecord{ID: r.ID, Name: r.Name, Public: r.Public, Direct: r.Direct, Epoch: r.Epoch, LastSeq: r.LastSeq, MemberIDs: members, Topic: r.Topic}
	if r.DirectKey != nil {
		rec.DirectKey = *r.DirectKey
	}
	if rec.MemberIDs == nil {
		rec.MemberIDs = []string{}
	}
	return rec
}

func (s *gormStore) roomWhere(ctx context.Context, what, query string, arg any) (RoomRecord, error) {
	var r roomRow
	if err := s.db.WithContext(ctx).Where(query, arg).Take(&r).Error; err != nil {
		return RoomRecord{}, notFound(err)
	}
	members, err := s.membersOf(ctx, []string{r.ID})
	if err != nil {
		return RoomRecord{}, fmt.Errorf("members of %s %v: %w", what, arg, err)
	}
	return toRoom(r, members[r.ID]), nil
}

func (s *gormStore) Room(ctx context.Context, roomID string) (RoomRecord, error) {
	return s.roomWhere(ctx, "room", "id = ?", roomID)
}

func (s *gormStore) DirectRoom(ctx context.Context, directKey string) (RoomRecord, error) {
	return s.roomWhere(ctx, "direct room", "direct_key = ?", directKey)
}

func (s *gormStore) RoomsOf(ctx context.Context, userID string) ([]MemberRoom, error) {
	var marks []memberRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Find(&marks).Error; err != nil {
		return nil, fmt.Errorf("rooms of %s: %w", userID, err)
	}
	ids := make([]string, len(marks))
	for i, m := range marks {
		ids[i] = m.RoomID
	}
	var rooms []roomRow
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		var part []roomRow
		if err := s.db.WithContext(ctx).Where("id IN ?", ids[start:end]).Find(&part).Error; err != nil {
			return nil, fmt.Errorf("rooms of %s: %w", userID, err)
		}
		rooms = append(rooms, part...)
	}
	members, err := s.membersOf(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("members of rooms of %s: %w", userID, err)
	}
	byID := make(map[string]memberRow, len(marks))
	for _, m := range marks {
		byID[m.RoomID] = m
	}
	out := make([]MemberRoom, 0, len(rooms))
	for _, r := range rooms {
		m := byID[r.ID]
		out = append(out, MemberRoom{RoomRecord: toRoom(r, members[r.ID]), DeliveredSeq: m.DeliveredSeq, ReadSeq: m.ReadSeq})
	}
	return out, nil
}

func (s *gormStore) RoomIDsOf(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&memberRow{}).Where("user_id = ?", userID).Pluck("room_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("room ids of %s: %w", userID, err)
	}
	return ids, nil
}

func toMessage(r messageRow) model.Message {
	m := model.Message{ID: r.ID, RoomID: r.RoomID, Seq: r.Seq, SenderID: r.SenderID, SenderName: r.SenderName,
		Content: r.Content, Timestamp: model.NewTime(msTime(r.AtMs)), ReplyTo: r.ReplyTo, Deleted: r.Deleted}
	if r.EditedAtMs != 0 {
		m.EditedAt = model.NewTime(msTime(r.EditedAtMs))
	}
	if r.Attachment != "" {
		var a model.Attachment
		if json.Unmarshal([]byte(r.Attachment), &a) == nil {
			m.Attachment = &a
		}
	}
	return m
}

func (s *gormStore) AppendMessages(ctx context.Context, msgs []NewMessage) ([]StoredMessage, error) {
	out := make([]StoredMessage, len(msgs))
	// The batch's statements have few distinct shapes: prepared once, they are not
	// parsed again at every commit (parsing was a third of the commit's time).
	err := s.db.WithContext(ctx).Session(&gorm.Session{PrepareStmt: true}).Transaction(func(tx *gorm.DB) error {
		return appendMessages(tx, msgs, out)
	})
	if err != nil {
		return nil, fmt.Errorf("append %d messages: %w", len(msgs), err)
	}
	return out, nil
}

// appendMessages does AppendMessages inside tx with a few statements for the whole
// batch, however many rooms it touches: it locks the rooms' rows (PostgreSQL), refuses
// the replies without a target, finds the ids already stored, reserves the seqs of
// every room with one UPDATE, and inserts the new messages in batch order.
func appendMessages(tx *gorm.DB, msgs []NewMessage, out []StoredMessage) error {
	if err := lockRooms(tx, msgs); err != nil {
		return err
	}
	keep, refused, err := checkReplies(tx, msgs, out)
	if err != nil || !refused {
		if err == nil {
			err = appendValid(tx, msgs, out)
		}
		return err
	}
	valid := make([]NewMessage, len(keep))
	for k, i := range keep {
		valid[k] = msgs[i]
	}
	res := make([]StoredMessage, len(valid))
	if err := appendValid(tx, valid, res); err != nil {
		return err
	}
	for k, i := range keep {
		out[i] = res[k]
	}
	return nil
}

// checkReplies refuses (ErrNoReplyTarget in out) the messages of msgs whose ReplyTo
// names no message of their room: none stored, and none before them in msgs that is
// not refused itself. The target is looked for here, inside the commit's transaction
// after the rooms are locked, rather than when the reply is read: a reply sent right
// after its target may share the target's batch. It answers the indexes of the other
// messages and whether any was refused.
func checkReplies(tx *gorm.DB, msgs []NewMessage, out []StoredMessage) (keep []int, refused bool, err error) {
	var targets []NewMessage
	for _, m := range msgs {
		if m.ReplyTo != "" {
			targets = append(targets, NewMessage{RoomID: m.RoomID, ID: m.ReplyTo})
		}
	}
	if len(targets) == 0 {
		return nil, false, nil
	}
	stored, err := storedOf(tx, targets)
	if err != nil {
		return nil, false, fmt.Errorf("find reply targets: %w", err)
	}
	before := make(map[msgKey]bool, len(msgs))
	keep = make([]int, 0, len(msgs))
	for i, m := range msgs {
		if m.ReplyTo != "" {
			t := msgKey{m.RoomID, m.ReplyTo}
			if _, ok := stored[t]; !ok && !before[t] {
				out[i] = StoredMessage{Message: model.Message{ID: m.ID, RoomID: m.RoomID},
					Err: fmt.Errorf("message %s answers %s: %w", m.ID, m.ReplyTo, ErrNoReplyTarget)}
				refused = true
				continue
			}
		}
		before[msgKey{m.RoomID, m.ID}] = true
		keep = append(keep, i)
	}
	return keep, refused, nil
}

// appendValid is appendMessages for messages whose replies are checked, inside tx
// after the rooms are locked.
func appendValid(tx *gorm.DB, msgs []NewMessage, out []StoredMessage) error {
	if uncheckedAppend && tx.Dialector.Name() == "sqlite" {
		done, err := appendUnchecked(tx, msgs, out)
		if err != nil || done {
			return err
		}
	}
	return appendChecked(tx, msgs, out)
}

// uncheckedAppend turns appendUnchecked on; the benchmark turns it off for its baseline.
var uncheckedAppend = true

// appendUnchecked is appendMessages without looking for stored ids first: almost
// every message is new (a resend after a reconnect is the exception), and the lookup
// was a quarter of the commit. It reserves the seqs and inserts with OR IGNORE; if a
// row was ignored (its id was stored already), it takes back what it wrote (the
// transaction holds SQLite's write lock, so the reserved seqs are its own) and answers
// false: the caller then does the checked append. It answers false too when the batch
// names an id twice.
func appendUnchecked(tx *gorm.DB, msgs []NewMessage, out []StoredMessage) (bool, error) {
	var order []string
	fresh := make(map[string][]int)
	seen := make(map[msgKey]struct{}, len(msgs))
	for i, m := range msgs {
		k := msgKey{m.RoomID, m.ID}
		if _, dup := seen[k]; dup {
			return false, nil
		}
		seen[k] = struct{}{}
		if _, ok := fresh[m.RoomID]; !ok {
			order = append(order, m.RoomID)
		}
		fresh[m.RoomID] = append(fresh[m.RoomID], i)
	}
	last, err := reserveSeqs(tx, order, fresh)
	if err != nil {
		return false, err
	}
	rows, err := newRows(msgs, order, fresh, last, out)
	if err != nil {
		return false, err
	}
	if len(rows) == 0 {
		return true, nil
	}
	err = insertMessages(tx, rows)
	if !errors.Is(err, ErrConflict) {
		return err == nil, err
	}
	for _, roomID := range order {
		top, ok := last[roomID]
		if !ok {
			continue
		}
		base := top - int64(len(fresh[roomID]))
		if err := tx.Where("room_id = ? AND seq > ?", roomID, base).Delete(&messageRow{}).Error; err != nil {
			return false, fmt.Errorf("take back messages in %s: %w", roomID, err)
		}
		if err := tx.Model(&roomRow{}).Where("id = ?", roomID).UpdateColumn("last_seq", base).Error; err != nil {
			return false, fmt.Errorf("take back seqs in %s: %w", roomID, err)
		}
	}
	clear(out)
	return false, nil
}

// newRows makes the rows of the new messages msgs[fresh[room]...] with the seqs
// reserved up to last[room], and fills their answers; a room missing from last does
// not exist.
func newRows(msgs []NewMessage, order []string, fresh map[string][]int, last map[string]int64, out []StoredMessage) ([]messageRow, error) {
	var rows []messageRow
	for _, roomID := range order {
		idx := fresh[roomID]
		top, ok := last[roomID]
		if !ok {
			for _, i := range idx {
				out[i] = StoredMessage{Err: fmt.Errorf("room %s: %w", roomID, ErrNotFound)}
			}
			continue
		}
		base := top - int64(len(idx))
		for k, i := range idx {
			m := msgs[i]
			row := messageRow{RoomID: roomID, ID: m.ID, Seq: base + int64(k) + 1, SenderID: m.SenderID,
				SenderName: m.SenderName, Content: m.Content, AtMs: m.AtMs, ReplyTo: m.ReplyTo}
			if m.Attachment != nil {
				b, err := json.Marshal(m.Attachment)
				if err != nil {
					return nil, fmt.Errorf("encode attachment of %s: %w", m.ID, err)
				}
				row.Attachment = string(b)
			}
			rows = append(rows, row)
			out[i] = StoredMessage{Message: toMessage(row), New: true}
		}
	}
	return rows, nil
}

// appendChecked is appendValid that first looks up which ids are stored.
func appendChecked(tx *gorm.DB, msgs []NewMessage, out []StoredMessage) error {
	stored, err := storedOf(tx, msgs)
	if err != nil {
		return err
	}
	// The new messages per room, in batch order; a repeated id counts once.
	var order []string
	fresh := make(map[string][]int)
	first := make(map[msgKey]int, len(msgs))
	for i, m := range msgs {
		k := msgKey{m.RoomID, m.ID}
		if sm, ok := stored[k]; ok {
			out[i] = StoredMessage{Message: sm}
			if sm.SenderID != m.SenderID {
				out[i] = idTaken(m)
			}
			continue
		}
		if _, ok := first[k]; ok {
			continue
		}
		first[k] = i
		if _, ok := fresh[m.RoomID]; !ok {
			order = append(order, m.RoomID)
		}
		fresh[m.RoomID] = append(fresh[m.RoomID], i)
	}
	last, err := reserveSeqs(tx, order, fresh)
	if err != nil {
		return err
	}
	rows, err := newRows(msgs, order, fresh, last, out)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		if err := insertMessages(tx, rows); err != nil {
			return fmt.Errorf("insert %d messages: %w", len(rows), err)
		}
	}
	for i, m := range msgs {
		j, ok := first[msgKey{m.RoomID, m.ID}]
		switch {
		case !ok || j == i:
		case msgs[j].SenderID != m.SenderID:
			out[i] = idTaken(m)
		default:
			out[i] = StoredMessage{Message: out[j].Message, Err: out[j].Err}
		}
	}
	return nil
}

// idTaken answers m, whose id another sender's stored message has.
func idTaken(m NewMessage) StoredMessage {
	return StoredMessage{Message: model.Message{ID: m.ID, RoomID: m.RoomID},
		Err: fmt.Errorf("message %s in %s: %w", m.ID, m.RoomID, ErrIDTaken)}
}

// lockRooms locks the rows of the batch's rooms, in id order, before anything else of
// the batch is read (PostgreSQL; a SQLite transaction holds the whole database's write
// lock from its start). Every batch that stores into a room holds the room's lock, so
// what this one reads next includes every message committed there before, whichever
// node stored it: a message id sent to two nodes is stored once, and the seqs reserved
// after are the room's next ones. Taking the locks in one order keeps two batches from
// waiting for each other.
func lockRooms(tx *gorm.DB, msgs []NewMessage) error {
	if tx.Dialector.Name() == "sqlite" {
		return nil
	}
	seen := make(map[string]struct{})
	var rooms []string
	for _, m := range msgs {
		if _, ok := seen[m.RoomID]; !ok {
			seen[m.RoomID] = struct{}{}
			rooms = append(rooms, m.RoomID)
		}
	}
	slices.Sort(rooms)
	if isPostgres(tx) {
		return pgLockRooms(tx, rooms)
	}
	for start := 0; start < len(rooms); start += lookupBatch {
		part := rooms[start:min(start+lookupBatch, len(rooms))]
		var locked []string
		if err := tx.Raw("SELECT id FROM rooms WHERE id IN ? ORDER BY id FOR UPDATE", part).Scan(&locked).Error; err != nil {
			return fmt.Errorf("lock %d rooms: %w", len(part), err)
		}
	}
	return nil
}

// msgKey names a message: ids are unique within a room.
type msgKey struct{ room, id string }

// lookupBatch is how many (room, id) pairs one lookup statement carries.
const lookupBatch = 100

// storedOf answers the messages of msgs that are stored already.
func storedOf(tx *gorm.DB, msgs []NewMessage) (map[msgKey]model.Message, error) {
	if isPostgres(tx) {
		return pgStoredOf(tx, msgs)
	}
	out := make(map[msgKey]model.Message)
	for start := 0; start < len(msgs); start += lookupBatch {
		part := msgs[start:min(start+lookupBatch, len(msgs))]
		var cond strings.Builder
		cond.WriteString("(room_id, id) IN (VALUES ")
		args := make([]any, 0, 2*len(part))
		for i, m := range part {
			if i > 0 {
				cond.WriteString(", ")
			}
			cond.WriteString("(?, ?)")
			args = append(args, m.RoomID, m.ID)
		}
		cond.WriteString(")")
		var existing []messageRow
		if err := tx.Where(cond.String(), args...).Find(&existing).Error; err != nil {
			return nil, fmt.Errorf("find stored ids: %w", err)
		}
		for _, r := range existing {
			out[msgKey{r.RoomID, r.ID}] = toMessage(r)
		}
	}
	return out, nil
}

// reserveSeqs moves each room's last_seq on by its count of new messages, all rooms
// in one UPDATE, and answers each room's new last_seq; a room that does not exist is
// missing from the answer.
func reserveSeqs(tx *gorm.DB, rooms []string, fresh map[string][]int) (map[string]int64, error) {
	if isPostgres(tx) {
		return pgReserveSeqs(tx, rooms, fresh)
	}
	last := make(map[string]int64, len(rooms))
	for start := 0; start < len(rooms); start += lookupBatch {
		part := rooms[start:min(start+lookupBatch, len(rooms))]
		var sql strings.Builder
		sql.WriteString("UPDATE rooms SET last_seq = last_seq + CASE id")
		args := make([]any, 0, 2*len(part)+1)
		for _, id := range part {
			sql.WriteString(" WHEN ? THEN ?")
			args = append(args, id, int64(len(fresh[id])))
		}
		sql.WriteString(" ELSE 0 END WHERE id IN ? RETURNING id, last_seq")
		args = append(args, part)
		var got []struct {
			ID      string
			LastSeq int64
		}
		if err := tx.Raw(sql.String(), args...).Scan(&got).Error; err != nil {
			return nil, fmt.Errorf("reserve seqs in %d rooms: %w", len(part), err)
		}
		for _, g := range got {
			last[g.ID] = g.LastSeq
		}
	}
	return last, nil
}

// insertBatch is how many rows one INSERT statement carries.
const insertBatch = 100

// insertMessages inserts rows whose ids and seqs are known to be free. On SQLite the
// statement says OR IGNORE: a multi-row INSERT that may abort needs a statement
// journal, whose memory SQLite allocates and frees for every statement (a third of
// the commit's time under load). Nothing is ignored in fact (the ids were checked and
// the seqs reserved in this transaction); the row count proves it.
func insertMessages(tx *gorm.DB, rows []messageRow) error {
	q := tx
	if tx.Dialector.Name() == "sqlite" {
		q = tx.Clauses(clause.Insert{Modifier: "OR IGNORE"})
	}
	if isPostgres(tx) {
		return pgInsertMessages(tx, rows)
	}
	for start := 0; start < len(rows); start += insertBatch {
		part := rows[start:min(start+insertBatch, len(rows))]
		res := q.Create(&part)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(len(part)) {
			return fmt.Errorf("%d of %d rows inserted: %w", res.RowsAffected, len(part), ErrConflict)
		}
	}
	return nil
}

func (s *gormStore) MessagesAfter(ctx context.Context, roomID string, afterSeq, uptoSeq int64, limit int) ([]model.Message, error) {
	var rows []messageRow
	err := s.db.WithContext(ctx).Where("room_id = ? AND seq > ? AND seq <= ?", roomID, afterSeq, uptoSeq).
		Order("seq").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("messages of %s after %d: %w", roomID, afterSeq, err)
	}
	out := make([]model.Message, len(rows))
	for i, r := range rows {
		out[i] = toMessage(r)
	}
	return out, nil
}

func (s *gormStore) MessagesBefore(ctx context.Context, roomID string, beforeSeq int64, limit int) ([]model.Message, error) {
	var rows []messageRow
	err := s.db.WithContext(ctx).Where("room_id = ? AND seq < ?", roomID, beforeSeq).
		Order("seq DESC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("messages of %s before %d: %w", roomID, beforeSeq, err)
	}
	out := make([]model.Message, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = toMessage(r)
	}
	if err := foldReactions(s.db.WithContext(ctx), roomID, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *gormStore) SetMarks(ctx context.Context, marks []Mark) ([]MarkResult, error) {
	out := make([]MarkResult, len(marks))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, m := range marks {
			var before memberRow
			if err := tx.Where("room_id = ? AND user_id = ?", m.RoomID, m.UserID).Take(&before).Error; err != nil {
				return notFound(err)
			}
			// What was read was delivered.
			m.DeliveredSeq = max(m.DeliveredSeq, m.ReadSeq)
			if m.DeliveredSeq > before.DeliveredSeq {
				err := tx.Model(&memberRow{}).Where("room_id = ? AND user_id = ? AND delivered_seq < ?", m.RoomID, m.UserID, m.DeliveredSeq).
					UpdateColumn("delivered_seq", m.DeliveredSeq).Error
				if err != nil {
					return err
				}
			}
			if m.ReadSeq > before.ReadSeq {
				err := tx.Model(&memberRow{}).Where("room_id = ? AND user_id = ? AND read_seq < ?", m.RoomID, m.UserID, m.ReadSeq).
					UpdateColumn("read_seq", m.ReadSeq).Error
				if err != nil {
					return err
				}
			}
			var after memberRow
			if err := tx.Where("room_id = ? AND user_id = ?", m.RoomID, m.UserID).Take(&after).Error; err != nil {
				return notFound(err)
			}
			out[i] = MarkResult{
				Mark:  Mark{RoomID: m.RoomID, UserID: m.UserID, DeliveredSeq: after.DeliveredSeq, ReadSeq: after.ReadSeq},
				Moved: after.DeliveredSeq != before.DeliveredSeq || after.ReadSeq != before.ReadSeq,
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set %d marks: %w", len(marks), err)
	}
	return out, nil
}

func toRefresh(r refreshRow) RefreshRecord {
	return RefreshRecord{Hash: r.Hash, UserID: r.UserID, FamilyID: r.FamilyID, ExpiresAtMs: r.ExpiresAtMs, Spent: r.Spent, Revoked: r.Revoked}
}

func (s *gormStore) CreateRefresh(ctx context.Context, r RefreshRecord) error {
	row := refreshRow{Hash: r.Hash, UserID: r.UserID, FamilyID: r.FamilyID, ExpiresAtMs: r.ExpiresAtMs}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

func (s *gormStore) RefreshByHash(ctx context.Context, hash string) (RefreshRecord, error) {
	var r refreshRow
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&r).Error; err != nil {
		return RefreshRecord{}, notFound(err)
	}
	return toRefresh(r), nil
}

func (s *gormStore) RotateRefresh(ctx context.Context, oldHash string, next RefreshRecord) (RefreshRecord, error) {
	var old refreshRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("hash = ?", oldHash).Take(&old).Error; err != nil {
			return notFound(err)
		}
		if old.Spent || old.Revoked {
			return ErrConflict
		}
		res := tx.Model(&refreshRow{}).Where("hash = ? AND spent = ?", oldHash, false).UpdateColumn("spent", true)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrConflict
		}
		row := refreshRow{Hash: next.Hash, UserID: next.UserID, FamilyID: next.FamilyID, ExpiresAtMs: next.ExpiresAtMs}
		return tx.Create(&row).Error
	})
	if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
		return RefreshRecord{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return toRefresh(old), err
}

func (s *gormStore) RevokeFamily(ctx context.Context, familyID string) error {
	err := s.db.WithContext(ctx).Model(&refreshRow{}).Where("family_id = ?", familyID).UpdateColumn("revoked", true).Error
	if err != nil {
		return fmt.Errorf("revoke refresh family: %w", err)
	}
	return nil
}

func (s *gormStore) PurgeRefresh(ctx context.Context, beforeMs int64, limit int) (int, error) {
	// A bounded subquery, not a DELETE ... LIMIT: portable to PostgreSQL.
	oldest := s.db.Model(&refreshRow{}).Select("hash").Where("expires_at_ms < ?", beforeMs).Limit(limit)
	res := s.db.WithContext(ctx).Where("hash IN (?)", oldest).Delete(&refreshRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge refresh tokens: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}
