//go:build !linux

package main

import (
	"context"
	"errors"
)

// rawAvailable: without epoll the clients use coder/websocket, one reader goroutine each.
const rawAvailable = false

func (c *client) dialRaw(context.Context) error { return errors.New("raw WebSocket needs Linux") }
