package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/parleychat/parley/model"
)

// defaultBatch bounds one group commit unless configured.
const defaultBatch = 1000

// commitTimeout bounds one group commit's database calls (a variable for tests).
var commitTimeout = 15 * time.Second

// errStopped answers work submitted after the committer stopped.
var errStopped = errors.New("server is shutting down")

// sendJob is a message waiting to be stored; done runs on the committer's completer
// goroutine after the commit, in commit order, and must not block.
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
// marks and writes all that are waiting in one transaction; a second goroutine
// completes them (acks, fan-out) in order while the first writes the next batch.
// Concurrent senders therefore share one fsync, and under load the writing goroutine,
// the one thing that cannot run on two cores, does nothing but write.
type committer struct {
	store       Store
	jobs        chan any
	completions chan []func() // each batch's done calls, in commit order
	completed   chan struct{} // closed when the completer has run them all
	stop        chan struct{}
	stopped     chan struct{}
	once        sync.Once
	onBatch     func(n int)
	log         *slog.Logger
	batch       int
}

func newCommitter(store Store, batch int, log *slog.Logger, onBatch func(int)) *committer {
	c := &committer{
		store:       store,
		log:         log,
		batch:       batch,
		jobs:        make(chan any, 4*defaultBatch),
		completions: make(chan []func(), 2),
		completed:   make(chan struct{}),
		stop:        make(chan struct{}),
		stopped:     make(chan struct{}),
		onBatch:     onBatch,
	}
	go c.complete()
	go c.run()
	return c
}

// complete runs each committed batch's done calls, in order.
func (c *committer) complete() {
	defer close(c.completed)
	for calls := range c.completions {
		for i := 0; i < len(calls); {
			i = c.callFrom(calls, i)
		}
	}
}

// callFrom runs calls from i on and answers where to go on: after a call that
// panicked (its client then misses one answer and resends by id), the rest still run.
func (c *committer) callFrom(calls []func(), i int) (next int) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("commit completion panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			next = i + 1
		}
	}()
	for ; i < len(calls); i++ {
		calls[i]()
	}
	return i
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
	defer func() {
		close(c.completions)
		<-c.completed
		close(c.stopped)
	}()
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
	var calls []func()
	defer func() {
		// Last resort: a panic loses this batch's answers (the clients resend by
		// id), not the server.
		if r := recover(); r != nil {
			c.log.Error("committer panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			return
		}
		if len(calls) > 0 {
			c.completions <- calls
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
	// A database that stops answering (a cut network) fails the batch instead of
	// holding every later send.
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
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
			r := StoredMessage{}
			if err != nil {
				// The failed message keeps its id so that the sender's error frame names it.
				r = StoredMessage{Message: model.Message{ID: j.msg.ID, RoomID: j.msg.RoomID}, Err: err}
			} else {
				r = res[i]
			}
			calls = append(calls, func() { j.done(r) })
		}
	}
	if len(marks) > 0 {
		calls = c.commitMarks(ctx, marks, calls)
	}
}

// commitMarks merges the marks of one member and room (the highest wins), stores
// them in one transaction and appends the jobs' done calls to calls.
func (c *committer) commitMarks(ctx context.Context, jobs []*markJob, calls []func()) []func() {
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
			calls = append(calls, func() { j.done(Mark{}, false, err) })
			continue
		}
		k := key{j.mark.RoomID, j.mark.UserID}
		r := res[idx[k]]
		// Report a move once per member and room: to the batch's last job for them.
		moved := r.Moved && last[k] == j
		calls = append(calls, func() { j.done(r.Mark, moved, nil) })
	}
	return calls
}
