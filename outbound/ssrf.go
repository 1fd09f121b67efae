package outbound

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"code.dny.dev/ssrf"
)

// ErrPrivateAddress is matched (errors.Is) by every refusal to connect to a
// loopback, private, link-local or otherwise special-purpose address.
var ErrPrivateAddress = errors.New("private and loopback addresses are not allowed (TETHER_ALLOW_PRIVATE_NETWORKS)")

// IsBlocked reports whether err is (or wraps) a refusal of the SSRF guard.
func IsBlocked(err error) bool { return errors.Is(err, ErrPrivateAddress) }

// guardPrivateAddresses returns a net.Dialer Control hook. It runs after name
// resolution, on the very address about to be connected, before any packet is
// sent: a name that resolves to a private address, or re-resolves to one later
// (DNS rebinding), is refused all the same.
func guardPrivateAddresses() func(network, address string, conn syscall.RawConn) error {
	// Any port: providers (self-hosted ones especially) serve on other ports
	// than 80 and 443, and a public host's port is not an SSRF risk for us.
	guardian := ssrf.New(ssrf.WithAnyPort())
	return func(network, address string, conn syscall.RawConn) error {
		if err := guardian.Safe(network, address, conn); err != nil {
			return &blockedError{ip: hostOf(address)}
		}
		return nil
	}
}

// blockedError is a refusal of the SSRF guard.
type blockedError struct {
	ip   string
	host string // the name that resolved to ip, when it was not an IP literal
}

func (e *blockedError) Error() string {
	target := e.ip
	if e.host != "" && e.host != e.ip {
		target = fmt.Sprintf("%s (%s)", e.host, e.ip)
	}
	return fmt.Sprintf("refused to connect to %s: %v", target, ErrPrivateAddress)
}

func (e *blockedError) Unwrap() error { return ErrPrivateAddress }

// forHost returns a copy of e that also names the host that was asked for.
func (e *blockedError) forHost(host string) *blockedError {
	return &blockedError{ip: e.ip, host: host}
}

func hostOf(address string) string {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return address
	}
	return host
}
