package server_test

import (
	"testing"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/server/servertest"
)

// FuzzSessionFrames sends arbitrary text frames to a live session: whatever comes in,
// the connection stays open and still answers a ping (bad input gets error frames,
// never a close or a crash).
func FuzzSessionFrames(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","id":"3f1c2a4e-8a1b-4c1d-9e2f-0a1b2c3d4e5f","roomId":"general","content":"hi"}`,
		`{"type":"message","id":"3f1c2a4e-8a1b-4c1d-9e2f-0a1b2c3d4e5f","roomId":"general","content":"hi","attachment":{"url":"/x","size":-1}}`,
		`{"type":"sync","roomId":"general","afterSeq":0}`, `{"type":"sync","roomId":"nowhere","afterSeq":-1}`,
		`{"type":"read","roomId":"general","seq":99}`, `{"type":"delivered","roomId":"general","seq":-3}`,
		`{"type":"typing","roomId":"general"}`, `{"type":"stop_typing","roomId":""}`,
		`{"type":"hello"}`, `{"type":"ack","id":"x"}`, `not json`, `{"type":`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	cfg := testConfig()
	cfg.MsgRate, cfg.MsgBurst = 1e9, 1e9
	in := servertest.Start(f, cfg)
	u := connect(f, in, "fuzzer")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > model.MaxFrameBytes {
			return
		}
		u.c.SendRaw(t, b)
		u.c.Send(t, model.TypeFrame{Type: model.TypePing})
		u.c.WaitType(t, model.TypePong)
	})
}
