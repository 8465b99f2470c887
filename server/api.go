package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/parleychat/parley/model"
)

// maxBody bounds every JSON request body.
const maxBody = 64 << 10

// searchLimit bounds GET /api/users.
const searchLimit = 50

// dummyHash is compared against when a login names no user, so that a wrong
// username costs as long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("parley-no-such-user"), bcrypt.MinCost)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/register", s.handleRegister)
	mux.HandleFunc("POST /api/login", s.handleLogin)
	mux.HandleFunc("POST /api/refresh", s.handleRefresh)
	mux.HandleFunc("POST /api/logout", s.handleLogout)
	mux.HandleFunc("GET /api/rooms", s.authed(s.handleRooms))
	mux.HandleFunc("POST /api/rooms", s.authed(s.handleCreateRoom))
	mux.HandleFunc("POST /api/rooms/{roomId}/join", s.authed(s.handleJoin))
	mux.HandleFunc("GET /api/rooms/public", s.authed(s.handlePublicRooms))
	mux.HandleFunc("PATCH /api/rooms/{roomId}", s.authed(s.handlePatchRoom))
	mux.HandleFunc("POST /api/rooms/{roomId}/members", s.authed(s.handleAddMembers))
	mux.HandleFunc("POST /api/rooms/{roomId}/leave", s.authed(s.handleLeave))
	mux.HandleFunc("GET /api/search", s.authed(s.handleSearch))
	mux.HandleFunc("POST /api/dm", s.authed(s.handleDM))
	mux.HandleFunc("GET /api/rooms/{roomId}/messages", s.authed(s.handleMessages))
	mux.HandleFunc("GET /api/users", s.authed(s.handleUsers))
	s.uploadRoutes(mux)
	mux.HandleFunc("GET /ws", s.handleWS)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, model.CodeNotFound, "no such API call")
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, model.NewAPIError(code, msg))
}

// internalError logs err and answers 500 without telling the client the details.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("api", "method", r.Method, "path", r.URL.Path, "remote", s.clientIP(r), "err", err)
	writeError(w, http.StatusInternalServerError, model.CodeInternal, "internal error")
}

// decode reads a bounded JSON body into v, answering 400 when it is malformed.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, model.CodeTooLarge, "request body too large")
			return false
		}
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "malformed JSON body")
		return false
	}
	return true
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authedFunc is a handler that knows its caller.
type authedFunc func(w http.ResponseWriter, r *http.Request, userID string)

// authed requires a valid access token.
func (s *Server) authed(next authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		uid, _, err := s.tokens.verify(bearer(r))
		if err != nil {
			writeError(w, http.StatusUnauthorized, model.CodeUnauthorized, "missing or invalid access token")
			return
		}
		next(w, r, uid)
	}
}

// issue answers a fresh access token and a refresh token of family (a new family when
// empty) for u.
func (s *Server) issue(ctx context.Context, u UserRecord, family string) (model.AuthResponse, RefreshRecord, string, error) {
	access, exp, err := s.tokens.issue(u.ID)
	if err != nil {
		return model.AuthResponse{}, RefreshRecord{}, "", err
	}
	value, hash, err := newRefreshValue()
	if err != nil {
		return model.AuthResponse{}, RefreshRecord{}, "", err
	}
	if family == "" {
		family = newID()
	}
	rec := RefreshRecord{Hash: hash, UserID: u.ID, FamilyID: family, ExpiresAtMs: s.cfg.Now().Add(s.cfg.RefreshTTL).UnixMilli()}
	resp := model.AuthResponse{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
		AccessToken: access, RefreshToken: value, ExpiresAt: model.NewTime(exp)}
	return resp, rec, value, nil
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req model.RegisterRequest
	if !decode(w, r, &req) {
		return
	}
	username, err := model.NormalizeUsername(req.Username)
	if err != nil {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, err.Error())
		return
	}
	if err := model.ValidatePassword(req.Password); err != nil {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, err.Error())
		return
	}
	name := req.DisplayName
	if strings.TrimSpace(name) == "" {
		name = username
	}
	if name, err = model.CleanName(name); err != nil {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "display name: "+err.Error())
		return
	}
	if !s.registrationAllowed(r) {
		writeError(w, http.StatusTooManyRequests, model.CodeRateLimited, "too many registrations; try again in a minute")
		return
	}
	hash, err := s.hashPassword(req.Password)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	u := UserRecord{ID: newID(), Username: username, DisplayName: name, PasswordHash: hash, CreatedAtMs: s.cfg.Now().UnixMilli()}
	err = s.store.CreateUser(r.Context(), u, GeneralRoomID)
	if errors.Is(err, ErrConflict) {
		writeError(w, http.StatusConflict, model.CodeUsernameTaken, "that username is taken")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.hub.memberAdded(r.Context(), GeneralRoomID, u.ID)
	s.hub.publish(Event{RoomID: GeneralRoomID, Joined: []string{u.ID}})
	s.respondAuth(w, r, http.StatusCreated, u, "")
	s.log.Info("registered", "user", u.ID, "username", u.Username, "remote", s.clientIP(r))
}

// registrationAllowed takes a registration of the request's address and of the
// whole server, answering false when either has none left this minute.
func (s *Server) registrationAllowed(r *http.Request) bool {
	if s.registrations == nil {
		return true
	}
	now := s.cfg.Now()
	if !s.registrations.allow(now, s.clientIP(r)) {
		return false
	}
	return s.regAll.allow(now, "all")
}

// respondAuth issues tokens for u and answers them.
func (s *Server) respondAuth(w http.ResponseWriter, r *http.Request, status int, u UserRecord, family string) {
	resp, rec, _, err := s.issue(r.Context(), u, family)
	if err == nil {
		err = s.store.CreateRefresh(r.Context(), rec)
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, status, resp)
}

// clientIP is the address the limits and logs know r's client by (see clientIP).
func (s *Server) clientIP(r *http.Request) string {
	return clientIP(r, s.cfg.TrustedProxies)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req model.LoginRequest
	if !decode(w, r, &req) {
		return
	}
	name := strings.ToLower(strings.TrimSpace(req.Username))
	if len(name) > 64 {
		name = name[:64]
	}
	keys := []string{"user:" + name, "addr:" + s.clientIP(r)}
	if s.logins.blocked(keys...) {
		writeError(w, http.StatusTooManyRequests, model.CodeRateLimited, "too many failed logins; try again in a minute")
		return
	}
	u, err := s.store.UserByUsername(r.Context(), name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.internalError(w, r, err)
		return
	}
	hash := u.PasswordHash
	if err != nil {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) != nil || err != nil {
		s.logins.fail(keys...)
		writeError(w, http.StatusUnauthorized, model.CodeBadCreds, "wrong username or password")
		return
	}
	s.respondAuth(w, r, http.StatusOK, u, "")
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var req model.RefreshRequest
	if !decode(w, r, &req) {
		return
	}
	unauthorized := func() {
		writeError(w, http.StatusUnauthorized, model.CodeUnauthorized, "refresh token revoked or expired")
	}
	if req.RefreshToken == "" {
		unauthorized()
		return
	}
	old, err := s.store.RefreshByHash(r.Context(), hashRefresh(req.RefreshToken))
	if errors.Is(err, ErrNotFound) {
		unauthorized()
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if old.Revoked || old.Spent || s.cfg.Now().UnixMilli() >= old.ExpiresAtMs {
		if old.Spent && !old.Revoked {
			s.revokeFamily(r, old)
		}
		unauthorized()
		return
	}
	u, err := s.store.UserByID(r.Context(), old.UserID)
	if errors.Is(err, ErrNotFound) {
		unauthorized()
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	resp, next, _, err := s.issue(r.Context(), u, old.FamilyID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if _, err := s.store.RotateRefresh(r.Context(), old.Hash, next); err != nil {
		if errors.Is(err, ErrConflict) {
			// Spent by a concurrent refresh: a reuse all the same.
			s.revokeFamily(r, old)
			unauthorized()
			return
		}
		if errors.Is(err, ErrNotFound) {
			unauthorized()
			return
		}
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleLogout revokes the login of a refresh token: every token of its family. It
// answers 204 for a token it does not know too (signing out twice is no error, and the
// answer tells nothing about which tokens exist).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	var req model.LogoutRequest
	if !decode(w, r, &req) {
		return
	}
	if req.RefreshToken != "" {
		rec, err := s.store.RefreshByHash(r.Context(), hashRefresh(req.RefreshToken))
		if err != nil && !errors.Is(err, ErrNotFound) {
			s.internalError(w, r, err)
			return
		}
		if err == nil && !rec.Revoked {
			if err := s.store.RevokeFamily(r.Context(), rec.FamilyID); err != nil {
				s.internalError(w, r, err)
				return
			}
			s.log.Info("signed out", "user", rec.UserID)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// revokeFamily answers the reuse of a spent refresh token: every token of its login
// is revoked.
func (s *Server) revokeFamily(r *http.Request, old RefreshRecord) {
	s.log.Warn("spent refresh token reused; revoking its family", "user", old.UserID)
	if err := s.store.RevokeFamily(r.Context(), old.FamilyID); err != nil {
		s.log.Error("revoke refresh family", "user", old.UserID, "err", err)
	}
}

// apiRoom is a stored room as the caller sees it.
func apiRoom(r RoomRecord, readSeq int64) model.Room {
	members := append([]string(nil), r.MemberIDs...)
	if members == nil {
		members = []string{}
	}
	return model.Room{ID: r.ID, Name: r.Name, Public: r.Public, Direct: r.Direct, MemberIDs: members,
		LastSeq: r.LastSeq, Unread: max(0, r.LastSeq-readSeq), Epoch: r.Epoch, Topic: r.Topic, MemberCount: len(members)}
}

func (s *Server) handleRooms(w http.ResponseWriter, r *http.Request, uid string) {
	rooms, err := s.store.RoomsOf(r.Context(), uid)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	own, err := s.store.OwnUnread(r.Context(), uid)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := make([]model.Room, 0, len(rooms))
	for _, mr := range rooms {
		room := apiRoom(mr.RoomRecord, mr.ReadSeq)
		room.Unread = max(0, room.Unread-own[mr.ID]) // an own message is never unread
		out = append(out, room)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	writeJSON(w, http.StatusOK, model.RoomsResponse{Rooms: out})
}

// maxRoomMembers bounds the members named when creating a room.
const maxRoomMembers = 1000

func (s *Server) handleCreateRoom(w http.ResponseWriter, r *http.Request, uid string) {
	var req model.CreateRoomRequest
	if !decode(w, r, &req) {
		return
	}
	name, err := model.CleanName(req.Name)
	if err != nil {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "room name: "+err.Error())
		return
	}
	if len(req.MemberIDs) > maxRoomMembers {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "too many members")
		return
	}
	members := []string{uid}
	seen := map[string]bool{uid: true}
	for _, id := range req.MemberIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.store.UserByID(r.Context(), id); err != nil {
			if errors.Is(err, ErrNotFound) {
				writeError(w, http.StatusBadRequest, model.CodeInvalid, "unknown user "+strconv.Quote(id))
				return
			}
			s.internalError(w, r, err)
			return
		}
		members = append(members, id)
	}
	rec := RoomRecord{ID: newID(), Name: name, Public: req.Public, Epoch: newID(), MemberIDs: members}
	if err := s.store.CreateRoom(r.Context(), rec); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.roomCreated(rec)
	writeJSON(w, http.StatusCreated, apiRoom(rec, 0))
}

// roomCreated caches a new room and tells its members, live.
func (s *Server) roomCreated(rec RoomRecord) {
	s.hub.roomCreated(rec)
	s.hub.publish(Event{RoomID: rec.ID, Joined: rec.MemberIDs, UserIDs: rec.MemberIDs, Type: model.TypeRoom,
		Data: encode(model.RoomFrame{Type: model.TypeRoom, Room: apiRoom(rec, 0)})})
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request, uid string) {
	roomID := r.PathValue("roomId")
	rec, err := s.store.Room(r.Context(), roomID)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusForbidden, model.CodeForbidden, "no such room")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	for _, m := range rec.MemberIDs {
		if m == uid {
			writeJSON(w, http.StatusOK, apiRoom(rec, rec.LastSeq))
			return
		}
	}
	if !rec.Public || rec.Direct {
		writeError(w, http.StatusForbidden, model.CodeForbidden, "only public rooms can be joined")
		return
	}
	if err := s.store.AddMember(r.Context(), roomID, uid); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.hub.memberAdded(r.Context(), roomID, uid)
	rec.MemberIDs = append(rec.MemberIDs, uid)
	sort.Strings(rec.MemberIDs)
	room := apiRoom(rec, 0)
	s.hub.publish(Event{RoomID: roomID, Joined: []string{uid}, UserIDs: []string{uid}, Type: model.TypeRoom,
		Data: encode(model.RoomFrame{Type: model.TypeRoom, Room: room})})
	writeJSON(w, http.StatusOK, room)
}

func (s *Server) handleDM(w http.ResponseWriter, r *http.Request, uid string) {
	var req model.DMRequest
	if !decode(w, r, &req) {
		return
	}
	if req.UserID == "" || req.UserID == uid {
		writeError(w, http.StatusBadRequest, model.CodeInvalid, "userId must name another user")
		return
	}
	me, err := s.store.UserByID(r.Context(), uid)
	if err == nil {
		var other UserRecord
		other, err = s.store.UserByID(r.Context(), req.UserID)
		if errors.Is(err, ErrNotFound) {
			writeError(w, http.StatusBadRequest, model.CodeInvalid, "unknown user")
			return
		}
		if err == nil {
			s.openDM(w, r, me, other)
			return
		}
	}
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusUnauthorized, model.CodeUnauthorized, "no such user")
		return
	}
	s.internalError(w, r, err)
}

// openDM answers the direct room of two users, creating it the first time. The room
// is named after the two display names, in the order of the users' ids; clients may
// show the other member's name instead.
func (s *Server) openDM(w http.ResponseWriter, r *http.Request, me, other UserRecord) {
	a, b := me, other
	if b.ID < a.ID {
		a, b = b, a
	}
	key := a.ID + "|" + b.ID
	existing := func() bool {
		rec, err := s.store.DirectRoom(r.Context(), key)
		if err != nil {
			return false
		}
		readSeq := int64(0)
		if rooms, err := s.store.RoomsOf(r.Context(), me.ID); err == nil {
			for _, mr := range rooms {
				if mr.ID == rec.ID {
					readSeq = mr.ReadSeq
				}
			}
		}
		writeJSON(w, http.StatusOK, apiRoom(rec, readSeq))
		return true
	}
	if existing() {
		return
	}
	name := a.DisplayName + " & " + b.DisplayName
	if len([]rune(name)) > model.MaxRoomNameLen {
		name = string([]rune(name)[:model.MaxRoomNameLen])
	}
	rec := RoomRecord{ID: newID(), Name: name, Direct: true, DirectKey: key, Epoch: newID(), MemberIDs: []string{a.ID, b.ID}}
	err := s.store.CreateRoom(r.Context(), rec)
	if errors.Is(err, ErrConflict) && existing() {
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.roomCreated(rec)
	writeJSON(w, http.StatusCreated, apiRoom(rec, 0))
}

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request, uid string) {
	roomID := r.PathValue("roomId")
	q := r.URL.Query()
	before := int64(math.MaxInt64)
	if v := q.Get("beforeSeq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, model.CodeInvalid, "beforeSeq must be a non-negative integer")
			return
		}
		before = n
	}
	limit := model.HistoryDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, model.CodeInvalid, "limit must be a positive integer")
			return
		}
		limit = min(n, model.HistoryMaxLimit)
	}
	info, err := s.hub.access(r.Context(), roomID, uid)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !info.member {
		writeError(w, http.StatusForbidden, model.CodeForbidden, "not a member of that room, or no such room")
		return
	}
	msgs, err := s.store.MessagesBefore(r.Context(), roomID, before, limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, model.MessagesResponse{Messages: msgs})
}

// maxQueryLen bounds the name queries of the user and room directories: names are at
// most 64 bytes.
const maxQueryLen = 64

// nameQuery is a request's `query` parameter, cut to maxQueryLen.
func nameQuery(r *http.Request) string {
	q := r.URL.Query().Get("query")
	if len(q) > maxQueryLen {
		q = q[:maxQueryLen]
	}
	return q
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, _ string) {
	query := nameQuery(r)
	users, err := s.store.SearchUsers(r.Context(), query, searchLimit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := make([]model.User, len(users))
	for i, u := range users {
		out[i] = model.User{UserID: u.ID, DisplayName: u.DisplayName, Online: s.hub.online(u.ID)}
	}
	writeJSON(w, http.StatusOK, model.UsersResponse{Users: out})
}

// originAllowed reports whether a browser Origin may open /ws. A request without an
// Origin comes from a native client and is allowed.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	full := strings.ToLower(u.Scheme + "://" + u.Host)
	host := strings.ToLower(u.Host)
	for _, p := range s.cfg.AllowedOrigins {
		p = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(p), "/"))
		if strings.Contains(p, "://") {
			if ok, _ := path.Match(p, full); ok {
				return true
			}
			continue
		}
		if ok, _ := path.Match(p, host); ok {
			return true
		}
	}
	return false
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if !s.originAllowed(r) {
		writeError(w, http.StatusForbidden, model.CodeForbidden, "origin not allowed")
		return
	}
	token := bearer(r)
	if token == "" {
		token = r.URL.Query().Get("token")
	}
	uid, exp, err := s.tokens.verify(token)
	if err != nil {
		writeError(w, http.StatusUnauthorized, model.CodeUnauthorized, "missing or invalid access token")
		return
	}
	u, err := s.store.UserByID(r.Context(), uid)
	if errors.Is(err, ErrNotFound) {
		writeError(w, http.StatusUnauthorized, model.CodeUnauthorized, "no such user")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	s.mu.Lock()
	if s.closing || s.draining {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, model.CodeInternal, "server is shutting down")
		return
	}
	s.sessions.Add(1)
	s.mu.Unlock()

	// The Origin was checked above, against our own list.
	wc, err := upgradeWS(w, r, s.cfg.WriteTimeout, model.MaxFrameBytes)
	if err != nil {
		s.sessions.Done()
		s.log.Info("websocket upgrade failed", "user", uid, "err", err)
		return
	}
	ss := newSession(s, wc)
	ss.userID, ss.displayName, ss.remote = u.ID, u.DisplayName, s.clientIP(r)
	ss.tokenExp.Store(exp.UnixNano())
	ss.join()
	// Logged here: formatting a line takes more stack than the session's reader ever
	// needs, and a goroutine's stack does not shrink until a collection.
	s.log.Info("connection opened", "user", ss.userID, "name", ss.displayName, "remote", ss.remote)
	// The session runs on a goroutine of its own and the handler returns, so that
	// net/http lets go of its connection state and buffers: an idle connection then
	// costs one small goroutine.
	go func() {
		defer s.sessions.Done()
		ss.run()
	}()
}
