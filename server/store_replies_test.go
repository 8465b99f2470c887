package server

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
)

// TestReplyTargetInTheCommit: AppendMessages judges a reply's target inside the
// commit, so a target earlier in the same batch counts; a target of another room, a
// later one in the batch, a refused one or none at all is ErrNoReplyTarget, and the
// refused replies take no seq. The batch runs once as it is and once with a resend
// in it (on SQLite the append then first looks up the stored ids).
func TestReplyTargetInTheCommit(t *testing.T) { eachBackend(t, testReplyTarget) }

func testReplyTarget(t *testing.T, b storeBackend) {
	for _, resend := range []bool{false, true} {
		name := "fresh"
		if resend {
			name = "with a resend"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, ids := storeWithMessages(t, b, "stored before")
			res, err := st.AppendMessages(ctx, []NewMessage{{ID: uuid.NewString(), RoomID: "s", SenderID: "a", Content: "elsewhere"}})
			if err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			elsewhere := res[0].Message.ID
			target, later, refused := uuid.NewString(), uuid.NewString(), uuid.NewString()
			msg := func(id, replyTo string) NewMessage {
				return NewMessage{ID: id, RoomID: "r", SenderID: "b", SenderName: "B", Content: "x", AtMs: 5000, ReplyTo: replyTo}
			}
			batch := []NewMessage{
				msg(target, ""),
				msg(uuid.NewString(), target),    // the target earlier in the batch
				msg(uuid.NewString(), ids[0]),    // a stored target
				msg(refused, elsewhere),          // another room's message
				msg(uuid.NewString(), later),     // a target later in the batch
				msg(later, ""),                   //
				msg(uuid.NewString(), refused),   // a refused message
				msg(uuid.NewString(), "no-such"), // no message at all
			}
			if resend {
				batch = append(batch, msg(later, ""))
			}
			out, err := st.AppendMessages(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			wantSeq := map[int]int64{0: 2, 1: 3, 2: 4, 5: 5, 8: 5}
			for i, r := range out {
				seq, stored := wantSeq[i]
				switch {
				case stored && (r.Err != nil || r.Message.Seq != seq || r.Message.ReplyTo != batch[i].ReplyTo):
					t.Errorf("message %d: %+v, want stored at seq %d", i, r, seq)
				case !stored && (!errors.Is(r.Err, ErrNoReplyTarget) || r.New || r.Message.ID != batch[i].ID || r.Message.RoomID != "r"):
					t.Errorf("message %d: %+v, want ErrNoReplyTarget naming it", i, r)
				}
			}
			got, err := st.MessagesAfter(ctx, "r", 0, 100, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 5 || got[2].ID != batch[1].ID || got[2].ReplyTo != target || got[4].ID != later {
				t.Fatalf("stored %+v", got)
			}
		})
	}
}
