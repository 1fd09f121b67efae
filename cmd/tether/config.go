package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	tether "github.com/tetherhq/tether"
)

// Config is every setting of a Tether instance: one typed struct, loaded from
// flags and TETHER_* variables by kong, validated across fields, passed down
// explicitly.
type Config struct {
	Listen               string   `env:"TETHER_LISTEN" help:"Address to serve on (default :8080; 127.0.0.1:8080 for demo)."`
	PublicURL            string   `env:"TETHER_PUBLIC_URL" help:"Base of links in pages, emails and OAuth2 redirects (default http://<listen>)."`
	DataDir              string   `env:"TETHER_DATA_DIR" default:"./tether-data" help:"Where the embedded database and the generated dev key live."`
	DatabaseURL          Secret   `env:"TETHER_DATABASE_URL" help:"sqlite://PATH or postgres://... (default sqlite://$TETHER_DATA_DIR/tether.db)."`
	MasterKey            Secret   `env:"TETHER_MASTER_KEY" help:"Key that seals credentials: standard base64 of 32 random bytes."`
	MasterKeyFile        string   `env:"TETHER_MASTER_KEY_FILE" help:"File holding TETHER_MASTER_KEY."`
	PreviousMasterKeys   Secret   `env:"TETHER_PREVIOUS_MASTER_KEYS" help:"Comma-separated older master keys that still open credentials (key rotation)."`
	BootstrapAPIKey      Secret   `env:"TETHER_BOOTSTRAP_API_KEY" help:"An API key accepted from start, for automation."`
	ProvidersDir         string   `env:"TETHER_PROVIDERS_DIR" help:"Extra provider definitions (*.yaml)."`
	AllowPrivateNetworks bool     `env:"TETHER_ALLOW_PRIVATE_NETWORKS" help:"Let provider calls and webhooks reach loopback and private addresses."`
	CallLogRetention     Duration `env:"TETHER_CALL_LOG_RETENTION" default:"60d" help:"How long call logs are kept."`
	CallLogWriters       int      `env:"TETHER_CALL_LOG_WRITERS" help:"Call-log batches written at once (default 1 with SQLite, which has one writer; 2 with PostgreSQL)."`
	ProbeInterval        Duration `env:"TETHER_PROBE_INTERVAL" default:"10m" help:"How often each active connection is probed."`
	SyncInterval         Duration `env:"TETHER_SYNC_INTERVAL" default:"1h" help:"How often each resource with a sync block is synced."`
	SMTPURL              Secret   `env:"TETHER_SMTP_URL" help:"smtp://[user:pass@]host:port or smtps://..."`
	EmailFrom            string   `env:"TETHER_EMAIL_FROM" help:"Sender of notification emails."`
	SystemErrorAfter     int      `env:"TETHER_SYSTEM_ERROR_AFTER" default:"5" help:"Transient failures in a row that open system_error..."`
	SystemErrorSpan      Duration `env:"TETHER_SYSTEM_ERROR_SPAN" default:"10m" help:"...when they also span at least this long."`
	RefreshGrace         Duration `env:"TETHER_REFRESH_GRACE" default:"3d" help:"How long OAuth2 refresh may fail for network/5xx reasons before invalid_credentials."`
	DisableAfter         Duration `env:"TETHER_DISABLE_AFTER" default:"7d" help:"How long a blocking error stays open before the connection is disabled."`
	LogLevel             string   `env:"TETHER_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level."`
	LogFormat            string   `env:"TETHER_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format."`
	GCHeapFloor          ByteSize `env:"TETHER_GC_HEAP_FLOOR" default:"48MiB" help:"Heap the garbage collector lets grow before it runs (0: Go's default; ignored when GOGC is set)."`
}

// Secret is a string that prints masked, so a printed config never shows it.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// Duration is a time.Duration that also accepts days ("60d").
type Duration time.Duration

// UnmarshalText parses a duration with tether.ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := tether.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) String() string { return time.Duration(d).String() }

// ByteSize is a number of bytes, written with a unit ("64MiB", "100MB") or
// without (bytes).
type ByteSize uint64

// UnmarshalText parses a size with humanize.ParseBytes.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := humanize.ParseBytes(string(text))
	if err != nil {
		return fmt.Errorf("invalid size %q: want e.g. 64MiB, 100MB or 0", text)
	}
	*b = ByteSize(v)
	return nil
}

func (b ByteSize) String() string { return humanize.IBytes(uint64(b)) }

// databaseKind is "sqlite" or "postgres".
func (c *Config) databaseKind() string {
	if strings.HasPrefix(string(c.DatabaseURL), "postgres://") || strings.HasPrefix(string(c.DatabaseURL), "postgresql://") {
		return "postgres"
	}
	return "sqlite"
}

// sqlitePath is the database file of a sqlite:// URL (or the default).
func (c *Config) sqlitePath() string {
	if c.DatabaseURL == "" {
		return filepath.Join(c.DataDir, "tether.db")
	}
	return strings.TrimPrefix(string(c.DatabaseURL), "sqlite://")
}

// validate checks the settings together and fills derived defaults.
func (c *Config) validate() error {
	if c.DatabaseURL != "" && !strings.HasPrefix(string(c.DatabaseURL), "sqlite://") && c.databaseKind() != "postgres" {
		return fmt.Errorf("TETHER_DATABASE_URL must start with sqlite:// or postgres://")
	}
	if c.databaseKind() == "sqlite" && c.sqlitePath() == "" {
		return fmt.Errorf("TETHER_DATABASE_URL: sqlite:// needs a file path")
	}
	if c.MasterKey != "" && c.MasterKeyFile != "" {
		return fmt.Errorf("set TETHER_MASTER_KEY or TETHER_MASTER_KEY_FILE, not both")
	}
	if c.databaseKind() == "postgres" && c.MasterKey == "" && c.MasterKeyFile == "" {
		return fmt.Errorf("TETHER_MASTER_KEY (or TETHER_MASTER_KEY_FILE) is required with PostgreSQL: " +
			"every instance must seal credentials with the same key; generate one with `tether keys master`")
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + listenHost(c.Listen)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("TETHER_PUBLIC_URL must be an absolute http(s) URL, got %q", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.SystemErrorAfter < 1 {
		return fmt.Errorf("TETHER_SYSTEM_ERROR_AFTER must be at least 1")
	}
	switch {
	case c.CallLogWriters < 0:
		return fmt.Errorf("TETHER_CALL_LOG_WRITERS must be at least 1")
	case c.CallLogWriters == 0 && c.databaseKind() == "postgres":
		// Two batches in flight keep both Tether and PostgreSQL busy where
		// one leaves each waiting for the other (docs/performance.md).
		c.CallLogWriters = 2
	case c.CallLogWriters == 0:
		c.CallLogWriters = 1
	}
	for name, d := range map[string]Duration{
		"TETHER_PROBE_INTERVAL": c.ProbeInterval, "TETHER_SYNC_INTERVAL": c.SyncInterval,
		"TETHER_CALL_LOG_RETENTION": c.CallLogRetention, "TETHER_DISABLE_AFTER": c.DisableAfter,
	} {
		if d <= 0 {
			return fmt.Errorf("%s must be positive", name)
		}
	}
	return nil
}

// listenHost turns a listen address into a host for URLs (":8080" →
// "localhost:8080").
func listenHost(listen string) string {
	if strings.HasPrefix(listen, ":") {
		return "localhost" + listen
	}
	return strings.Replace(listen, "0.0.0.0", "localhost", 1)
}

func newLogger(c *Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
