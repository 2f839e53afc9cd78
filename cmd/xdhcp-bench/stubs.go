package main

import (
	"context"
	"errors"
)

func runGenerator(ctx context.Context, e env, args []string) error {
	return errors.New("run: not built yet")
}
func runResponder(ctx context.Context, e env, args []string) error {
	return errors.New("responder: not built yet")
}
