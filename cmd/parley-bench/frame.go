package main

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// decodeFrame reads the fields of a server frame the bench uses. Message and ack
// frames (nearly every frame a run receives) are read by a scan of their flat top
// level, which costs a fraction of encoding/json's reflection: on a 2-core machine the
// load tool's own CPU is taken from the server it measures. Anything the scan does not
// expect (another type, an escaped string, a nested value before the fields it needs)
// goes to encoding/json.
func decodeFrame(b []byte, f *inFrame) error {
	if scanFrame(b, f) {
		return nil
	}
	*f = inFrame{}
	return json.Unmarshal(b, f)
}

// scanFrame fills f from a message or ack frame and reports whether it could.
func scanFrame(b []byte, f *inFrame) bool {
	var typ string
	switch {
	case bytes.HasPrefix(b, []byte(`{"type":"message",`)):
		typ = "message"
	case bytes.HasPrefix(b, []byte(`{"type":"ack",`)):
		typ = "ack"
	default:
		return false
	}
	*f = inFrame{Type: typ}
	// The fields needed: id, roomId and seq, and content for a message.
	const (
		haveID = 1 << iota
		haveRoom
		haveSeq
		haveContent
	)
	want := haveID | haveRoom | haveSeq
	if typ == "message" {
		want |= haveContent
	}
	have := 0
	i := bytes.IndexByte(b, ',') + 1
	for have != want {
		key, n, ok := scanString(b, i)
		if !ok || n >= len(b) || b[n] != ':' {
			return false
		}
		i = n + 1
		if i >= len(b) {
			return false
		}
		switch {
		case b[i] == '"':
			s, n, ok := scanString(b, i)
			if !ok {
				return false
			}
			switch key {
			case "id":
				f.ID, have = s, have|haveID
			case "roomId":
				f.RoomID, have = s, have|haveRoom
			case "content":
				f.Content, have = s, have|haveContent
			}
			i = n
		case b[i] == '-' || (b[i] >= '0' && b[i] <= '9'):
			n := i + 1
			for n < len(b) && b[n] >= '0' && b[n] <= '9' {
				n++
			}
			if key == "seq" {
				v, err := strconv.ParseInt(string(b[i:n]), 10, 64)
				if err != nil {
					return false
				}
				f.Seq, have = v, have|haveSeq
			}
			i = n
		default:
			return false // an object, array, bool or null: leave it to encoding/json
		}
		if have == want {
			return true
		}
		if i >= len(b) || b[i] != ',' {
			return false
		}
		i++
	}
	return true
}

// scanString reads the JSON string that starts at b[i] (a quote) when it holds no
// escape, and answers it and the index after its closing quote.
func scanString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			return "", 0, false
		case '"':
			return string(b[i+1 : j]), j + 1, true
		}
	}
	return "", 0, false
}
