package net

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/parleychat/parley/model"
	"github.com/parleychat/parley/storage"
)

// Errors the engine returns. Test them with errors.Is.
var (
	// ErrUnreachable wraps every failure to reach the server at all (refused, DNS,
	// timeout, TLS): the UI says "server unreachable".
	ErrUnreachable = errors.New("server unreachable")
	// ErrSignedOut is returned by calls that need an account when there is none, or
	// when the server no longer accepts the stored refresh token.
	ErrSignedOut = errors.New("signed out")
	// ErrUnknownRoom is returned by Send and the room calls for a room the store does not hold.
	ErrUnknownRoom = errors.New("unknown room")
	// ErrClosed is returned by calls made after Run has returned.
	ErrClosed = errors.New("client closed")
)

// APIError is an error answer of the HTTP API: the HTTP status and the protocol's
// error code (model.CodeBadCreds, model.CodeUsernameTaken, model.CodeRateLimited...).
type APIError struct {
	Status  int    // HTTP status, e.g. 401
	Code    string // protocol error code, e.g. "bad_credentials"; may be empty for non-protocol answers
	Message string // the server's message, for logs
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("server answered %d %s: %s", e.Status, e.Code, e.Message)
}

// UserMessage is a short sentence a UI can show for the error.
func (e *APIError) UserMessage() string {
	switch e.Code {
	case model.CodeBadCreds:
		return "wrong username or password"
	case model.CodeUsernameTaken:
		return "username taken"
	case model.CodeRateLimited:
		return "too many attempts, try again in a minute"
	case model.CodeForbidden:
		return "not allowed"
	case model.CodeNotFound:
		return "not found"
	case model.CodeInvalid:
		if e.Message != "" {
			return e.Message
		}
		return "invalid request"
	}
	if e.Status == http.StatusUnauthorized {
		return "signed out"
	}
	return fmt.Sprintf("server error (%d)", e.Status)
}

// ErrorCode returns the protocol error code carried by err (an *APIError anywhere in
// its chain), or "" when there is none.
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// HTTPStatus returns the HTTP status carried by err (an *APIError anywhere in its
// chain), or 0 when there is none.
func HTTPStatus(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// UserMessage returns a short sentence a UI can show for any error of this package.
func UserMessage(err error) string {
	var ae *APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.UserMessage()
	case errors.Is(err, ErrUnreachable):
		return "server unreachable"
	case errors.Is(err, ErrSignedOut):
		return "signed out"
	case errors.Is(err, storage.ErrForbidden):
		return "only its sender can change a message"
	case errors.Is(err, storage.ErrDeleted):
		return "that message was deleted"
	case errors.Is(err, storage.ErrNotFound):
		return "no such message here"
	case errors.Is(err, ErrBadEmoji):
		return "a reaction is one emoji"
	case errors.Is(err, ErrTopicTooLong):
		return ErrTopicTooLong.Error()
	}
	return err.Error()
}
