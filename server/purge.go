package server

import (
	"context"
	"time"
)

// A purge pass deletes expired refresh tokens purgeBatch at a time, at most
// purgeBatches times: each delete is a short transaction, and a backlog (the first
// pass on an old database) is worked off over several passes instead of holding the
// database for one long one.
const (
	purgeBatch   = 1000
	purgeBatches = 20
)

// purgeLoop runs purgeExpired every PurgeInterval until ctx ends.
func (s *Server) purgeLoop(ctx context.Context) {
	defer close(s.purgeDone)
	if s.cfg.PurgeInterval < 0 {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(s.cfg.PurgeInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := s.purgeExpired(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("purge expired refresh tokens", "deleted", n, "err", err)
		} else if n > 0 {
			s.log.Info("purged expired refresh tokens", "deleted", n)
		}
		s.sweepUploadsOnce(ctx)
	}
}

// sweepUploadsOnce runs one pass of sweepUploads and logs what it did.
func (s *Server) sweepUploadsOnce(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	n, err := s.sweepUploads(sctx)
	if err != nil && ctx.Err() == nil {
		s.log.Warn("sweep unsent uploads", "deleted", n, "err", err)
	} else if n > 0 {
		s.log.Info("swept unsent uploads", "deleted", n)
	}
}

// purgeExpired deletes the refresh tokens that have expired, answering how many.
func (s *Server) purgeExpired(ctx context.Context) (int, error) {
	now := s.cfg.Now().UnixMilli()
	total := 0
	for range purgeBatches {
		n, err := s.store.PurgeRefresh(ctx, now, purgeBatch)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
	return total, nil
}
