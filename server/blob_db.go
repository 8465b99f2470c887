package server

import (
	"context"
	"errors"
	"fmt"
	"io"

	"gorm.io/gorm"
)

// blobChunk is the size of one row of a database blob.
const blobChunk = 1 << 20

// blobChunkRow is one chunk of a blob kept in the database (bytea on PostgreSQL).
type blobChunkRow struct {
	BlobKey string `gorm:"primaryKey;size:80"`
	N       int    `gorm:"primaryKey"`
	Data    []byte `gorm:"not null"`
}

func (blobChunkRow) TableName() string { return "upload_blobs" }

// dbBlob is the Blob in the Store's database, in chunks of blobChunk bytes, so that
// several nodes on one PostgreSQL database share the uploads. A Put writes its chunks
// under a temporary key, outside any long transaction (a slow client must not hold
// one open), and renames them in one statement at the end.
type dbBlob struct {
	db *gorm.DB
}

// blob answers the Blob in this Store's database.
func (s *gormStore) blob() Blob { return &dbBlob{db: s.db} }

func (b *dbBlob) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	tmp := ".put-" + newID()
	db := b.db.WithContext(ctx)
	var total int64
	buf := make([]byte, blobChunk)
	err := func() error {
		for n := 0; ; n++ {
			k, err := io.ReadFull(r, buf)
			if k > 0 {
				if cerr := db.Create(&blobChunkRow{BlobKey: tmp, N: n, Data: buf[:k]}).Error; cerr != nil {
					return cerr
				}
				total += int64(k)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}()
	if err == nil {
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Where("blob_key = ?", key).Delete(&blobChunkRow{}).Error; err != nil {
				return err
			}
			return tx.Model(&blobChunkRow{}).Where("blob_key = ?", tmp).Update("blob_key", key).Error
		})
	}
	if err != nil {
		// Not the request's context: it may be what ended.
		_ = b.db.Where("blob_key = ?", tmp).Delete(&blobChunkRow{}).Error
		return total, fmt.Errorf("blob %s: %w", key, err)
	}
	return total, nil
}

func (b *dbBlob) Open(ctx context.Context, key string) (BlobReader, int64, error) {
	var st struct {
		Chunks int
		Size   int64
	}
	err := b.db.WithContext(ctx).Model(&blobChunkRow{}).Where("blob_key = ?", key).
		Select("COUNT(*) AS chunks, COALESCE(SUM(LENGTH(data)), 0) AS size").Scan(&st).Error
	if err != nil {
		return nil, 0, fmt.Errorf("blob %s: %w", key, err)
	}
	if st.Chunks == 0 {
		return nil, 0, fmt.Errorf("blob %s: %w", key, ErrNotFound)
	}
	return &dbBlobReader{ctx: ctx, db: b.db, key: key, size: st.Size, cur: -1}, st.Size, nil
}

func (b *dbBlob) Delete(ctx context.Context, key string) error {
	if err := b.db.WithContext(ctx).Where("blob_key = ?", key).Delete(&blobChunkRow{}).Error; err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// dbBlobReader reads a database blob a chunk at a time, holding one chunk.
type dbBlobReader struct {
	ctx  context.Context
	db   *gorm.DB
	key  string
	size int64
	off  int64
	cur  int // the chunk in data; -1 none
	data []byte
}

func (r *dbBlobReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n := int(r.off / blobChunk)
	if n != r.cur {
		var row blobChunkRow
		if err := r.db.WithContext(r.ctx).Where("blob_key = ? AND n = ?", r.key, n).Take(&row).Error; err != nil {
			return 0, fmt.Errorf("blob %s chunk %d: %w", r.key, n, err)
		}
		r.cur, r.data = n, row.Data
	}
	at := int(r.off - int64(n)*blobChunk)
	if at >= len(r.data) {
		return 0, io.ErrUnexpectedEOF
	}
	k := copy(p, r.data[at:])
	r.off += int64(k)
	return k, nil
}

func (r *dbBlobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative offset")
	}
	r.off = offset
	return offset, nil
}

func (r *dbBlobReader) Close() error {
	r.data = nil
	return nil
}
