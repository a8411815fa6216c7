package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// errStalled is the cause of a request cancelled by its stallGuard.
var errStalled = errors.New("stalled")

// stallGuard cancels a request that receives nothing for a while: its deadline moves forward each
// time headers or body bytes arrive, so a slow but steady transfer is never cut, and a stalled one
// never hangs.
type stallGuard struct {
	timeout time.Duration
	timer   *time.Timer
	ctx     context.Context
	cancel  context.CancelCauseFunc
}

// guard returns a context for one request and the guard that cancels it when it stalls; call
// stop once the request's body is read.
func guard(ctx context.Context, timeout time.Duration) (context.Context, *stallGuard) {
	gctx, cancel := context.WithCancelCause(ctx)
	g := &stallGuard{timeout: timeout, ctx: gctx, cancel: cancel}
	g.timer = time.AfterFunc(timeout, func() { cancel(errStalled) })
	return gctx, g
}

// progress pushes the deadline back.
func (g *stallGuard) progress() { g.timer.Reset(g.timeout) }

func (g *stallGuard) stop() {
	g.timer.Stop()
	g.cancel(context.Canceled)
}

// stalled reports whether the guard cancelled the request.
func (g *stallGuard) stalled() bool { return errors.Is(context.Cause(g.ctx), errStalled) }

// explain replaces the error of a request the guard cancelled by one that says so.
func (g *stallGuard) explain(err error) error {
	if err != nil && g.stalled() {
		return fmt.Errorf("%w: nothing received for %v (raise HF_HUB_DOWNLOAD_TIMEOUT, in seconds, on a slow network)", errStalled, g.timeout)
	}
	return err
}

// reader returns r with each read that brings bytes pushing the deadline back.
func (g *stallGuard) reader(r io.Reader) io.Reader { return guardedReader{r, g} }

type guardedReader struct {
	r io.Reader
	g *stallGuard
}

func (gr guardedReader) Read(p []byte) (int, error) {
	n, err := gr.r.Read(p)
	if n > 0 {
		gr.g.progress()
	}
	return n, err
}
