package server

import (
	"context"

	"github.com/parleychat/parley/model"
)

// roomEvent is one event of a room's stream, where messages and updates share the
// seqs: its frame's type and the frame to encode.
type roomEvent struct {
	seq   int64
	typ   string
	frame any
}

// streamAfter reads the events of a room with afterSeq < seq <= uptoSeq, at most limit,
// in seq order: the first limit of its messages and its updates merged. more says
// that events past them remain. Sync replays and gap fills page through it.
func streamAfter(ctx context.Context, st Store, roomID string, afterSeq, uptoSeq int64, limit int) (evs []roomEvent, more bool, err error) {
	msgs, err := st.MessagesAfter(ctx, roomID, afterSeq, uptoSeq, limit+1)
	if err != nil {
		return nil, false, err
	}
	ups, err := st.UpdatesAfter(ctx, roomID, afterSeq, uptoSeq, limit+1)
	if err != nil {
		return nil, false, err
	}
	more = len(msgs)+len(ups) > limit
	evs = make([]roomEvent, 0, min(limit, len(msgs)+len(ups)))
	for i, j := 0, 0; len(evs) < limit && (i < len(msgs) || j < len(ups)); {
		if j == len(ups) || i < len(msgs) && msgs[i].Seq < ups[j].Seq {
			evs = append(evs, roomEvent{seq: msgs[i].Seq, typ: model.TypeMessage,
				frame: model.MessageFrame{Type: model.TypeMessage, Message: msgs[i]}})
			i++
		} else {
			evs = append(evs, roomEvent{seq: ups[j].Seq, typ: model.TypeUpdate, frame: ups[j].Frame()})
			j++
		}
	}
	return evs, more, nil
}
