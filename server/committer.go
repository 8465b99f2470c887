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

// updateJob is an update (edit, delete, react) waiting to be stored; it takes a seq in
// the same group commit as the messages beside it, in the order they came. done runs
// as sendJob's.
type updateJob struct {
	up   NewUpdate
	done func(StoredUpdate)
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
	// Sends and updates are stored in runs, in the order they came: a connection's
	// frames take seqs in the order it sent them, and an update finds a message sent
	// before it in the same batch. A batch of messages only is one run.
	var runs [][]any
	var marks []*markJob
	for _, j := range batch {
		if m, ok := j.(*markJob); ok {
			marks = append(marks, m)
			continue
		}
		if n := len(runs); n > 0 && sameKind(runs[n-1][0], j) {
			runs[n-1] = append(runs[n-1], j)
		} else {
			runs = append(runs, []any{j})
		}
	}
	// A database that stops answering (a cut network) fails the batch instead of
	// holding every later send.
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	// A run that failed fails the runs after it too, unstored: nothing sent after a
	// frame that was not stored takes a seq before it is sent again.
	var failed error
	for _, run := range runs {
		if _, ok := run[0].(*sendJob); ok {
			calls, failed = c.commitSends(ctx, run, calls, failed)
		} else {
			calls, failed = c.commitUpdates(ctx, run, calls, failed)
		}
	}
	if len(marks) > 0 {
		calls = c.commitMarks(ctx, marks, calls)
	}
}

// sameKind reports whether two jobs are both sends or both updates.
func sameKind(a, b any) bool {
	_, as := a.(*sendJob)
	_, bs := b.(*sendJob)
	return as == bs
}

// commitSends stores a run of sends in one transaction, unless failed (an earlier
// run's error) fails it, and appends their done calls; it answers the run's error.
func (c *committer) commitSends(ctx context.Context, run []any, calls []func(), failed error) ([]func(), error) {
	if c.onBatch != nil {
		c.onBatch(len(run))
	}
	msgs := make([]NewMessage, len(run))
	for i, j := range run {
		msgs[i] = j.(*sendJob).msg
	}
	var res []StoredMessage
	err := failed
	if err == nil {
		res, err = c.store.AppendMessages(ctx, msgs)
	}
	for i, j := range run {
		j := j.(*sendJob)
		r := StoredMessage{}
		if err != nil {
			// The failed message keeps its id so that the sender's error frame names it.
			r = StoredMessage{Message: model.Message{ID: j.msg.ID, RoomID: j.msg.RoomID}, Err: err}
		} else {
			r = res[i]
		}
		calls = append(calls, func() { j.done(r) })
	}
	return calls, err
}

// commitUpdates is commitSends for a run of updates.
func (c *committer) commitUpdates(ctx context.Context, run []any, calls []func(), failed error) ([]func(), error) {
	ups := make([]NewUpdate, len(run))
	for i, j := range run {
		ups[i] = j.(*updateJob).up
	}
	var res []StoredUpdate
	err := failed
	if err == nil {
		res, err = c.store.AppendUpdates(ctx, ups)
	}
	for i, j := range run {
		j := j.(*updateJob)
		r := StoredUpdate{}
		if err != nil {
			r = StoredUpdate{Update: model.Update{ID: j.up.ID, RoomID: j.up.RoomID}, Err: err}
		} else {
			r = res[i]
		}
		calls = append(calls, func() { j.done(r) })
	}
	return calls, err
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
