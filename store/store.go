// Package store keeps Crossdock's projection of its workflows (orders,
// shipments, legs, tracking events, customs decisions), its merchants and
// the record of processed inbound webhooks. It is the only package that
// imports GORM: row structs stay unexported and are converted to logistics
// types at the boundary, and the schema comes from versioned migrations
// embedded in the binary, one folder per SQL dialect.
//
// Production runs on Postgres; with no database URL the store opens an
// embedded SQLite file so that `crossdock dev` needs no setup. Both behave
// the same through this package's API (the tests run every case on both).
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libtnb/sqlite"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names returned by (*Store).Dialect.
const (
	DialectPostgres = "postgres"
	DialectSQLite   = "sqlite"
)

// DefaultSQLiteFile is the file name of the embedded database inside the
// data directory when no database URL is configured.
const DefaultSQLiteFile = "crossdock.db"

//go:embed migrations/postgres/*.sql migrations/sqlite/*.sql
var migrations embed.FS

// PoolSize is how many Postgres connections a Store keeps open at most.
const PoolSize = 25

// Store is Crossdock's database. It is safe for concurrent use; create one
// per process with Open and Close it on shutdown.
type Store struct {
	db *gorm.DB
	// reads serves the hot read paths (order tracking, API-key lookups):
	// prepared statements, kept per connection, spare the parse and plan of
	// the same few queries on every request. Reads open no transaction.
	reads   *gorm.DB
	sqlDB   *sql.DB
	dialect string
	// accepts writes accepted tracking submissions in groups (Postgres
	// only; nil on SQLite).
	accepts *acceptGroup
}

// Open connects to the database named by databaseURL:
//   - "" opens (creating if needed) the SQLite file dataDir/crossdock.db;
//   - "postgres://..." or "postgresql://..." opens Postgres;
//   - "sqlite://<path>" or "file:<path>" opens SQLite at path.
//
// Anything else is an error. Open checks that the database answers but does
// not migrate it; call Migrate for that.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	dialect, dsn, err := resolveURL(databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	var dialector gorm.Dialector
	if dialect == DialectPostgres {
		dialector = postgres.Open(dsn)
	} else {
		dialector = sqlite.Open(dsn)
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true, // writes that need a transaction open one explicitly
		DisableAutomaticPing:   true, // Open pings below, with the caller's context
		NowFunc:                now,
		Logger:                 queryLogger{log: slog.Default(), slow: 500 * time.Millisecond},
	})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == DialectSQLite {
		// SQLite has one writer at a time; a single connection serialises
		// access in the process instead of failing with SQLITE_BUSY. WAL
		// still lets another process (crossdock migrate) read meanwhile.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
		sqlDB.SetConnMaxLifetime(0)
	} else {
		// Every open connection may idle: with fewer idle than open, a
		// burst above the idle count closes connections and the next one
		// reopens them, a new Postgres backend each time.
		sqlDB.SetMaxOpenConns(PoolSize)
		sqlDB.SetMaxIdleConns(PoolSize)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	reads := db.Session(&gorm.Session{PrepareStmt: true, SkipDefaultTransaction: true})
	s := &Store{db: db, reads: reads, sqlDB: sqlDB, dialect: dialect}
	if dialect == DialectPostgres {
		s.accepts = &acceptGroup{write: s.writeAcceptGroup}
	}
	if err := s.Ping(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("open %s database: %w", dialect, err), sqlDB.Close())
	}
	return s, nil
}

// resolveURL turns Open's arguments into a dialect and a driver DSN.
func resolveURL(databaseURL, dataDir string) (dialect, dsn string, err error) {
	lower := strings.ToLower(databaseURL)
	switch {
	case databaseURL == "":
		if dataDir == "" {
			return "", "", errors.New("open database: no database URL and no data directory for the embedded SQLite file")
		}
		if err := os.MkdirAll(dataDir, 0o750); err != nil {
			return "", "", fmt.Errorf("create data directory: %w", err)
		}
		return DialectSQLite, sqliteDSN(filepath.Join(dataDir, DefaultSQLiteFile), ""), nil
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return DialectPostgres, databaseURL, nil
	case strings.HasPrefix(lower, "sqlite://"):
		path, query, _ := strings.Cut(databaseURL[len("sqlite://"):], "?")
		if path == "" {
			return "", "", errors.New("open database: sqlite:// URL has no file path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return "", "", fmt.Errorf("create database directory: %w", err)
		}
		return DialectSQLite, sqliteDSN(path, query), nil
	case strings.HasPrefix(lower, "file:"):
		path, query, _ := strings.Cut(databaseURL, "?")
		return DialectSQLite, sqliteDSN(path, query), nil
	}
	const want = "want postgres://, postgresql://, sqlite://<path> or file:<path>"
	scheme, _, found := strings.Cut(databaseURL, "://")
	if !found {
		return "", "", errors.New("open database: the database URL has no scheme: " + want)
	}
	// Only the scheme is echoed: the rest may hold a password.
	return "", "", fmt.Errorf("open database: unsupported database URL scheme %q: %s", scheme, want)
}

// sqliteDSN adds the connection settings Crossdock relies on to a SQLite
// path; settings in userQuery come later and so win.
//
// Times are written as text in one layout, in UTC, so that text order is time
// order and equality is exact (cursors depend on both); _texttotime reads
// TIMESTAMP columns back as time.Time. busy_timeout comes before
// journal_mode because switching to WAL needs the lock.
func sqliteDSN(path, userQuery string) string {
	q := "_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_txlock=immediate" +
		"&_time_format=sqlite" +
		"&_timezone=UTC" +
		"&_texttotime=1"
	if userQuery != "" {
		q += "&" + userQuery
	}
	return path + "?" + q
}

// Close closes the database connections.
func (s *Store) Close() error {
	if err := s.sqlDB.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// Ping reports whether the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// provider builds a goose provider over the embedded migrations of the
// store's dialect. On Postgres an advisory lock keeps two processes from
// migrating at once. Never Close a provider: it would close s.sqlDB.
func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+s.dialect)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	dialect := goose.DialectSQLite3
	// Migrations written on parallel branches land out of number order
	// (00006 reached main before 00004 and 00005); a database migrated in
	// between must take the missing ones rather than refuse to start. Each
	// migration only adds its own tables and columns, so order between
	// them does not matter.
	opts := []goose.ProviderOption{goose.WithAllowOutofOrder(true)}
	if s.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("create migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration. It is idempotent: with nothing
// pending it changes nothing.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s database: %w", s.dialect, err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "migration applied", "dialect", s.dialect,
			"version", r.Source.Version, "file", filepath.Base(r.Source.Path), "duration", r.Duration)
	}
	return nil
}

// MigrationStatus writes one line per known migration to w: its version,
// its file name, and when it was applied (UTC, RFC 3339) or "pending".
func (s *Store) MigrationStatus(ctx context.Context, w io.Writer) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	statuses, err := p.Status(ctx)
	if err != nil {
		return fmt.Errorf("read migration status: %w", err)
	}
	for _, st := range statuses {
		applied := "pending"
		if st.State == goose.StateApplied {
			applied = st.AppliedAt.UTC().Format(time.RFC3339)
		}
		if _, err := fmt.Fprintf(w, "%05d  %-24s  %s\n", st.Source.Version, filepath.Base(st.Source.Path), applied); err != nil {
			return fmt.Errorf("write migration status: %w", err)
		}
	}
	return nil
}

// now is the store's clock: UTC at the precision both databases keep.
func now() time.Time { return dbTime(time.Now()) }

// dbTime normalises a time for storage: UTC, truncated to microseconds
// (Postgres' precision), so a value reads back equal on both dialects and
// cursors built from stored values compare exactly.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTimeOrNow is dbTime, or the current time for a zero t.
func dbTimeOrNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return dbTime(t)
}

// queryLogger reports slow queries through slog and nothing else: every
// error is returned to the caller, who decides whether to log it, and SQL
// parameters (addresses, phone numbers) never reach the log.
type queryLogger struct {
	log  *slog.Logger
	slow time.Duration
}

var _ logger.Interface = queryLogger{}

// LogMode implements logger.Interface; the level is fixed.
func (l queryLogger) LogMode(logger.LogLevel) logger.Interface { return l }

// Info implements logger.Interface.
func (l queryLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.InfoContext(ctx, "gorm message", "message", fmt.Sprintf(msg, args...))
}

// Warn implements logger.Interface.
func (l queryLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm message", "message", fmt.Sprintf(msg, args...))
}

// Error implements logger.Interface.
func (l queryLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm message", "message", fmt.Sprintf(msg, args...))
}

// Trace implements logger.Interface: it logs queries slower than l.slow.
func (l queryLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), _ error) {
	if elapsed := time.Since(begin); elapsed > l.slow {
		query, rows := fc()
		l.log.WarnContext(ctx, "slow database query", "elapsed", elapsed, "rows", rows, "sql", query)
	}
}

// ParamsFilter implements gorm's ParamsFilter so logged SQL carries
// placeholders, not values.
func (l queryLogger) ParamsFilter(_ context.Context, query string, _ ...any) (string, []any) {
	return query, nil
}
