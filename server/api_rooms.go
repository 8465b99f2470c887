package server

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/parleychat/parley/model"
)

// The calls of protocol 1.1's rooms directory and settings, and of search.

// queryLimit reads the limit of a query string: def when absent, at most most; false
// when it is not a positive integer (the 400 is answered).
func queryLimit(w http.ResponseWriter, r *http.Request, def, most int) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "limit must be a positive integer")
		return 0, false
	}
	return min(n, most), true
}

func (s *Server) handlePublicRooms(w http.ResponseWriter, r *http.Request, _ string) {
	limit, ok := queryLimit(w, r, model.SearchDefaultLimit, model.PublicRoomsMaxLimit)
	if !ok {
		return
	}
	query := nameQuery(r)
	rooms, err := s.store.PublicRooms(r.Context(), query, limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := make([]model.PublicRoom, len(rooms))
	for i, pr := range rooms {
		out[i] = model.PublicRoom{ID: pr.ID, Name: pr.Name, Topic: pr.Topic, MemberCount: pr.MemberCount}
		if pr.LastActivityMs > 0 {
			out[i].LastActivity = model.NewTime(msTime(pr.LastActivityMs))
		}
	}
	writeJSON(w, http.StatusOK, model.PublicRoomsResponse{Rooms: out})
}

// memberRoom loads a room the caller changes: 403 when the caller is not a member (or
// there is no such room), 400 for a direct room.
func (s *Server) memberRoom(w http.ResponseWriter, r *http.Request, uid string) (RoomRecord, bool) {
	rec, err := s.store.Room(r.Context(), r.PathValue("roomId"))
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.internalError(w, r, err)
		return rec, false
	}
	if err != nil || !slices.Contains(rec.MemberIDs, uid) {
		writeError(w, http.StatusForbidden, model.CodeForbidden, "not a member of that room, or no such room")
		return rec, false
	}
	if rec.Direct {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "a direct room cannot be changed")
		return rec, false
	}
	return rec, true
}

func (s *Server) handlePatchRoom(w http.ResponseWriter, r *http.Request, uid string) {
	var req model.PatchRoomRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name != nil {
		name, err := model.CleanName(*req.Name)
		if err != nil {
			writeError(w, http.StatusBadRequest, model.CodeInvalid, "room name: "+err.Error())
			return
		}
		req.Name = &name
	}
	if req.Topic != nil {
		topic, err := model.CleanTopic(*req.Topic)
		if err != nil {
			writeError(w, http.StatusBadRequest, model.CodeInvalid, err.Error())
			return
		}
		req.Topic = &topic
	}
	if _, ok := s.memberRoom(w, r, uid); !ok {
		return
	}
	rec, err := s.store.UpdateRoom(r.Context(), r.PathValue("roomId"), req.Name, req.Topic)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.hub.roomChanged(rec)
	s.publishRoom(rec, rec.MemberIDs)
	writeJSON(w, http.StatusOK, apiRoom(rec, rec.LastSeq))
}

// publishRoom sends the room frame of a changed room to userIDs, members who knew it
// already (so no unread count of its own: each client keeps its own).
func (s *Server) publishRoom(rec RoomRecord, userIDs []string) {
	if len(userIDs) == 0 {
		return
	}
	s.hub.publish(Event{UserIDs: userIDs, Type: model.TypeRoom,
		Data: encode(model.RoomFrame{Type: model.TypeRoom, Room: apiRoom(rec, rec.LastSeq)})})
}

func (s *Server) handleAddMembers(w http.ResponseWriter, r *http.Request, uid string) {
	var req model.AddMembersRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.UserIDs) == 0 || len(req.UserIDs) > model.MaxAddMembers {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "userIds must name 1–100 users")
		return
	}
	rec, ok := s.memberRoom(w, r, uid)
	if !ok {
		return
	}
	var added []string
	for _, id := range req.UserIDs {
		if slices.Contains(rec.MemberIDs, id) || slices.Contains(added, id) {
			continue
		}
		if _, err := s.store.UserByID(r.Context(), id); err != nil {
			if errors.Is(err, ErrNotFound) {
				writeError(w, http.StatusBadRequest, model.CodeInvalid, "unknown user "+strconv.Quote(id))
				return
			}
			s.internalError(w, r, err)
			return
		}
		added = append(added, id)
	}
	for _, id := range added {
		if err := s.store.AddMember(r.Context(), rec.ID, id); err != nil {
			s.internalError(w, r, err)
			return
		}
		s.hub.memberAdded(r.Context(), rec.ID, id)
	}
	rec.MemberIDs = append(rec.MemberIDs, added...)
	slices.Sort(rec.MemberIDs)
	if len(added) > 0 {
		before := slices.DeleteFunc(slices.Clone(rec.MemberIDs), func(id string) bool { return slices.Contains(added, id) })
		s.publishRoom(rec, before)
		// The new members have read nothing of it; every node learns they joined.
		s.hub.publish(Event{RoomID: rec.ID, Joined: added, UserIDs: added, Type: model.TypeRoom,
			Data: encode(model.RoomFrame{Type: model.TypeRoom, Room: apiRoom(rec, 0)})})
	}
	writeJSON(w, http.StatusOK, apiRoom(rec, rec.LastSeq))
}

func (s *Server) handleLeave(w http.ResponseWriter, r *http.Request, uid string) {
	rec, ok := s.memberRoom(w, r, uid)
	if !ok {
		return
	}
	if _, err := s.store.RemoveMember(r.Context(), rec.ID, uid); err != nil {
		s.internalError(w, r, err)
		return
	}
	// Out of the hub's membership first: no frame of the room published from now on
	// reaches the user, and room_left is the last of it they hear.
	s.hub.memberRemoved(rec.ID, uid)
	rec.MemberIDs = slices.DeleteFunc(rec.MemberIDs, func(id string) bool { return id == uid })
	s.hub.publish(Event{RoomID: rec.ID, Left: []string{uid}, UserIDs: []string{uid}, Type: model.TypeRoomLeft,
		Data: encode(model.RoomLeftFrame{Type: model.TypeRoomLeft, RoomID: rec.ID})})
	s.publishRoom(rec, rec.MemberIDs)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, uid string) {
	limit, ok := queryLimit(w, r, model.SearchDefaultLimit, model.SearchMaxLimit)
	if !ok {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > 256 {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "q must be 1–256 bytes of words")
		return
	}
	roomID := r.URL.Query().Get("roomId")
	if roomID != "" {
		info, err := s.hub.access(r.Context(), roomID, uid)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		if !info.member {
			writeError(w, http.StatusForbidden, model.CodeForbidden, "not a member of that room, or no such room")
			return
		}
	}
	msgs, err := s.store.SearchMessages(r.Context(), uid, roomID, q, limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, model.SearchResponse{Messages: msgs})
}
