package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
)

// The TCP relay is the floor of `bench proxy`: a process between the load
// generator and the upstream that copies bytes both ways and does nothing
// else (no HTTP parsing, no second connection pool, no allocation per
// request). What it adds to the upstream's p99 at the open loop's rate is
// what one more process in the path costs on the machine, before any proxy
// work: the goal of 2 ms above the upstream's p99 can only be met where that
// floor is well below it (docs/performance.md).

// ServeTCPRelay accepts connections on ln and relays each to target (the
// upstream's base URL), one upstream connection per client connection, until
// ctx ends; then it closes ln and every relayed connection.
func ServeTCPRelay(ctx context.Context, ln net.Listener, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	track := func(c net.Conn, open bool) {
		mu.Lock()
		defer mu.Unlock()
		if open {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for c := range conns {
			_ = c.Close()
		}
	})
	defer stop()
	defer wg.Wait()
	var dialer net.Dialer
	for {
		client, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		track(client, true)
		wg.Go(func() {
			defer track(client, false)
			defer client.Close()
			upstream, err := dialer.DialContext(ctx, "tcp", u.Host)
			if err != nil {
				return
			}
			track(upstream, true)
			defer track(upstream, false)
			defer upstream.Close()
			relay(client, upstream)
		})
	}
}

// relay copies a and b into each other until either side is done, passing
// each half-close on.
func relay(a, b net.Conn) {
	var wg sync.WaitGroup
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tcp, ok := dst.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	wg.Go(func() { copyHalf(b, a) })
	copyHalf(a, b)
	wg.Wait()
}

// NewTCPRelay serves a TCP relay to target on a loopback listener of this
// process, for `bench proxy --in-process` and tests. Call stop when done.
func NewTCPRelay(target string) (relayURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ServeTCPRelay(ctx, ln, target)
	}()
	return "http://" + ln.Addr().String(), func() { cancel(); <-done }, nil
}
