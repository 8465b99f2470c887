package net

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/model"
)

// maxAnswerBytes bounds what the API client reads from one HTTP answer.
const maxAnswerBytes = 16 << 20

// API is a client of protocol v1's HTTP API (everything but uploads). It holds no
// token: the calls that need one take it. Its zero value is not usable; make one with NewAPI.
type API struct {
	base *url.URL
	http *http.Client
}

// NewAPI returns an API client for the server at serverURL (http or https, e.g.
// "http://127.0.0.1:8787"). A nil hc uses a client with a 30 s timeout.
func NewAPI(serverURL string, hc *http.Client) (*API, error) {
	u, err := ParseServerURL(serverURL)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &API{base: u, http: hc}, nil
}

// ParseServerURL checks a server URL: http or https, a host, no query. A bare
// "host:port" is taken as http.
func ParseServerURL(s string) (*url.URL, error) {
	s = strings.TrimSpace(s)
	if s != "" && !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("server url %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server url %q: want http://host:port or https://host", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// ServerURL returns the server's base URL.
func (a *API) ServerURL() string { return a.base.String() }

// WebSocketURL returns the URL of the server's /ws endpoint (ws or wss).
func (a *API) WebSocketURL() string {
	u := *a.base
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path += "/ws"
	return u.String()
}

// Register creates an account and signs it in (POST /api/register).
func (a *API) Register(ctx context.Context, username, password, displayName string) (model.AuthResponse, error) {
	var out model.AuthResponse
	err := a.do(ctx, http.MethodPost, "/api/register", "", model.RegisterRequest{Username: username, Password: password, DisplayName: displayName}, &out)
	return out, err
}

// Login signs an account in (POST /api/login).
func (a *API) Login(ctx context.Context, username, password string) (model.AuthResponse, error) {
	var out model.AuthResponse
	err := a.do(ctx, http.MethodPost, "/api/login", "", model.LoginRequest{Username: username, Password: password}, &out)
	return out, err
}

// Refresh spends a refresh token for a new access token and a new refresh token
// (POST /api/refresh).
func (a *API) Refresh(ctx context.Context, refreshToken string) (model.AuthResponse, error) {
	var out model.AuthResponse
	err := a.do(ctx, http.MethodPost, "/api/refresh", "", model.RefreshRequest{RefreshToken: refreshToken}, &out)
	return out, err
}

// Logout revokes the login refreshToken belongs to: every refresh token of its family
// (POST /api/logout). Access tokens live out their short life.
func (a *API) Logout(ctx context.Context, refreshToken string) error {
	return a.do(ctx, http.MethodPost, "/api/logout", "", model.LogoutRequest{RefreshToken: refreshToken}, nil)
}

// Rooms lists the rooms the caller belongs to (GET /api/rooms).
func (a *API) Rooms(ctx context.Context, token string) ([]model.Room, error) {
	var out model.RoomsResponse
	err := a.do(ctx, http.MethodGet, "/api/rooms", token, nil, &out)
	return out.Rooms, err
}

// CreateRoom creates a room with the caller and memberIDs as members (POST /api/rooms).
func (a *API) CreateRoom(ctx context.Context, token, name string, memberIDs []string, public bool) (model.Room, error) {
	if memberIDs == nil {
		memberIDs = []string{}
	}
	var out model.Room
	err := a.do(ctx, http.MethodPost, "/api/rooms", token, model.CreateRoomRequest{Name: name, MemberIDs: memberIDs, Public: public}, &out)
	return out, err
}

// JoinRoom joins a public room (POST /api/rooms/{roomId}/join).
func (a *API) JoinRoom(ctx context.Context, token, roomID string) (model.Room, error) {
	var out model.Room
	err := a.do(ctx, http.MethodPost, "/api/rooms/"+url.PathEscape(roomID)+"/join", token, nil, &out)
	return out, err
}

// DM returns the direct room of the caller and userID, creating it if needed (POST /api/dm).
func (a *API) DM(ctx context.Context, token, userID string) (model.Room, error) {
	var out model.Room
	err := a.do(ctx, http.MethodPost, "/api/dm", token, model.DMRequest{UserID: userID}, &out)
	return out, err
}

// Messages returns the newest limit messages of a room with seq < beforeSeq, oldest
// first (GET /api/rooms/{roomId}/messages). beforeSeq <= 0 means the newest; limit <= 0
// means the server's default.
func (a *API) Messages(ctx context.Context, token, roomID string, beforeSeq int64, limit int) ([]model.Message, error) {
	q := url.Values{}
	if beforeSeq > 0 {
		q.Set("beforeSeq", strconv.FormatInt(beforeSeq, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/api/rooms/" + url.PathEscape(roomID) + "/messages"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out model.MessagesResponse
	err := a.do(ctx, http.MethodGet, path, token, nil, &out)
	return out.Messages, err
}

// PublicRooms lists public rooms whose name contains query, most recently active
// first (GET /api/rooms/public). limit <= 0 means the server's default.
func (a *API) PublicRooms(ctx context.Context, token, query string, limit int) ([]model.PublicRoom, error) {
	q := url.Values{}
	if query != "" {
		q.Set("query", query)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(min(limit, model.PublicRoomsMaxLimit)))
	}
	path := "/api/rooms/public"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out model.PublicRoomsResponse
	err := a.do(ctx, http.MethodGet, path, token, nil, &out)
	return out.Rooms, err
}

// PatchRoom changes a room's name and/or topic (PATCH /api/rooms/{roomId}).
func (a *API) PatchRoom(ctx context.Context, token, roomID string, req model.PatchRoomRequest) (model.Room, error) {
	var out model.Room
	err := a.do(ctx, http.MethodPatch, "/api/rooms/"+url.PathEscape(roomID), token, req, &out)
	return out, err
}

// AddMembers adds users to a room (POST /api/rooms/{roomId}/members).
func (a *API) AddMembers(ctx context.Context, token, roomID string, userIDs []string) (model.Room, error) {
	if userIDs == nil {
		userIDs = []string{}
	}
	var out model.Room
	err := a.do(ctx, http.MethodPost, "/api/rooms/"+url.PathEscape(roomID)+"/members", token, model.AddMembersRequest{UserIDs: userIDs}, &out)
	return out, err
}

// LeaveRoom leaves a room (POST /api/rooms/{roomId}/leave).
func (a *API) LeaveRoom(ctx context.Context, token, roomID string) error {
	return a.do(ctx, http.MethodPost, "/api/rooms/"+url.PathEscape(roomID)+"/leave", token, nil, nil)
}

// Search finds messages of the caller's rooms (or of roomID only) matching every word
// of query, newest first (GET /api/search). limit <= 0 means the server's default.
func (a *API) Search(ctx context.Context, token, query, roomID string, limit int) ([]model.Message, error) {
	q := url.Values{"q": {query}}
	if roomID != "" {
		q.Set("roomId", roomID)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(min(limit, model.SearchMaxLimit)))
	}
	var out model.SearchResponse
	err := a.do(ctx, http.MethodGet, "/api/search?"+q.Encode(), token, nil, &out)
	return out.Messages, err
}

// Users searches users by name (GET /api/users?query=).
func (a *API) Users(ctx context.Context, token, query string) ([]model.User, error) {
	var out model.UsersResponse
	err := a.do(ctx, http.MethodGet, "/api/users?query="+url.QueryEscape(query), token, nil, &out)
	return out.Users, err
}

// do makes one call: body (if not nil) as JSON, the answer decoded into out. Non-2xx
// answers become *APIError; transport failures wrap ErrUnreachable.
func (a *API) do(ctx context.Context, method, path, token string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, routeOf(path), err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base.String()+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, routeOf(path), err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, routeOf(path), ctx.Err())
		}
		return fmt.Errorf("%s %s: %w: %w", method, routeOf(path), ErrUnreachable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w: %w", method, routeOf(path), ErrUnreachable, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: %w", method, routeOf(path), decodeAPIError(resp.StatusCode, data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, routeOf(path), err)
	}
	return nil
}

// decodeAPIError reads a protocol error body, tolerating anything else.
func decodeAPIError(status int, data []byte) *APIError {
	e := &APIError{Status: status}
	var body model.APIError
	if json.Unmarshal(data, &body) == nil {
		e.Code, e.Message = body.Err.Code, body.Err.Message
	}
	if e.Code == "" && status == http.StatusUnauthorized {
		e.Code = model.CodeUnauthorized
	}
	if e.Code == "" && status == http.StatusTooManyRequests {
		e.Code = model.CodeRateLimited
	}
	return e
}

// routeOf strips the query from a path for error messages (queries may hold search text).
func routeOf(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

// isUnauthorized reports whether err is a 401 answer.
func isUnauthorized(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusUnauthorized
}
