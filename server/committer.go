package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/parleychat/parley/model"
)

// defaultBatch bounds one group commit unless configured.
const defaultBatch = 500

// errStopped answers work submitted after the committer stopped.
var errStopped = errors.New("server is shutting down")

// sendJob is a message waiting to be stored; done runs on the committer goroutine
// after the commit and must not block.
type sendJob struct {
	msg  NewMessage
	done func(StoredMessage)
}

// markJob is a receipt mark waiting to be stored.
type markJob struct {
	mark Mark
	done func(Mark, bool, error) // the marks after the update; whether they moved
}

// committer is the group commit: a single goroutine drains the pending sends and
// marks and writes all that are waiting in one transaction, then completes them in
// order. Concurrent senders therefore share one fsync.
type committer struct {
	store   Store
	jobs    chan any
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	onBatch func(n int)
	log     *slog.Logger
	batch   int
}

func newCommitter(store Store, batch int, log *slog.Logger, onBatch func(int)) *committer {
	c := &committer{
		store:   store,
		log:     log,
		batch:   batch,
		jobs:    make(chan any, 4*defaultBatch),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		onBatch: onBatch,
	}
	go c.run()
	return c
}

// submit queues a job, waiting while the queue is full.
func (c *committer) submit(ctx context.Context, job any) error {
	select {
	case <-c.stop:
		return errStopped
	default:
	}
	select {
	case c.jobs <- job:
		return nil
	case <-c.stop:
		return errStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking jobs, commits what is queued and waits for the goroutine.
func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.stopped
}

func (c *committer) run() {
	defer close(c.stopped)
	for {
		select {
		case job := <-c.jobs:
			c.commit(c.drain(job))
		case <-c.stop:
			for {
				select {
				case job := <-c.jobs:
					c.commit(c.drain(job))
				default:
					return
				}
			}
		}
	}
}

// drain collects first and whatever else is waiting, up to the batch size.
func (c *committer) drain(first any) []any {
	batch := []any{first}
	for len(batch) < c.batch {
		select {
		case job := <-c.jobs:
			batch = append(batch, job)
		default:
			return batch
		}
	}
	return batch
}

func (c *committer) commit(batch []any) {
	// Last resort: a panic loses this batch's answers (the clients resend by id), not
	// the server.
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("committer panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	var sends []*sendJob
	var marks []*markJob
	for _, j := range batch {
		switch j := j.(type) {
		case *sendJob:
			sends = append(sends, j)
		case *markJob:
			marks = append(marks, j)
		}
	}
	ctx := context.Background()
	if len(sends) > 0 {
		if c.onBatch != nil {
			c.onBatch(len(sends))
		}
		msgs := make([]NewMessage, len(sends))
		for i, j := range sends {
			msgs[i] = j.msg
		}
		res, err := c.store.AppendMessages(ctx, msgs)
		for i, j := range sends {
			if err != nil {
				// The failed message keeps its id so that the sender's error frame names it.
				j.done(StoredMessage{Message: model.Message{ID: j.msg.ID, RoomID: j.msg.RoomID}, Err: err})
				continue
			}
			j.done(res[i])
		}
	}
	if len(marks) > 0 {
		c.commitMarks(ctx, marks)
	}
}

// commitMarks merges the marks of one member and room (the highest wins) and stores
// them in one transaction.
func (c *committer) commitMarks(ctx context.Context, jobs []*markJob) {
	type key struct{ room, user string }
	idx := make(map[key]int)
	var merged []Mark
	for _, j := range jobs {
		k := key{j.mark.RoomID, j.mark.UserID}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(merged)
			merged = append(merged, j.mark)
			continue
		}
		merged[i].DeliveredSeq = max(merged[i].DeliveredSeq, j.mark.DeliveredSeq)
		merged[i].ReadSeq = max(merged[i].ReadSeq, j.mark.ReadSeq)
	}
	last := make(map[key]*markJob, len(merged))
	for _, j := range jobs {
		last[key{j.mark.RoomID, j.mark.UserID}] = j
	}
	res, err := c.store.SetMarks(ctx, merged)
	for _, j := range jobs {
		if err != nil {
			j.done(Mark{}, false, err)
			continue
		}
		k := key{j.mark.RoomID, j.mark.UserID}
		r := res[idx[k]]
		// Report a move once per member and room: to the batch's last job for them.
		j.done(r.Mark, r.Moved && last[k] == j, nil)
	}
}
