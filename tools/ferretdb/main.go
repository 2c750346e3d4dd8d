// Command ferretdb runs the embedded FerretDB (MongoDB wire protocol on SQLite)
// that hookflow uses when MONGODB_URI is not set. It exists because `go install`
// of FerretDB's own main panics without its version file; the embeddable package
// does not need it.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "data/ferretdb", "directory holding the SQLite databases")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	watchStdin := flag.Bool("exit-on-stdin-eof", false, "stop when stdin closes (the parent process died)")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
		Handler:  "sqlite",
		// WAL with synchronous=normal, as the Temporal dev server runs: a commit survives the process
		// crashing (it is in the WAL) without an fsync per write; only an OS crash can lose the last ones.
		SQLiteURL: "file:" + *dir + "/?_pragma=synchronous(normal)",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *watchStdin {
		// The parent holds our stdin open; EOF means it is gone, even if it was SIGKILLed.
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	go upgradeIndexes(ctx, *dir, logger)

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data in %s\n", *listen, *dir)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// upgradeIndexes rebuilds, once at start, the indexes an earlier build made on fields' JSON text
// (`_ferretdb_sjson->"f"`) in the form this build makes and pushes conditions down to (`->>'$.f'`, see
// patch.mjs), each in one transaction so that FerretDB never sees it missing; and drops the `_id` indexes earlier
// builds of this command added. Writes wait while a large table's index is rebuilt.
func upgradeIndexes(ctx context.Context, dir string, logger *slog.Logger) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	for _, file := range files {
		db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(60000)")
		if err != nil {
			logger.Warn("cannot open database to upgrade its indexes", "file", file, "error", err)
			continue
		}
		db.SetMaxOpenConns(1)
		if err := upgradeDatabaseIndexes(ctx, db, logger); err != nil {
			logger.Warn("upgrading indexes", "file", file, "error", err)
		}
		_ = db.Close()
	}
}

type indexSettings struct {
	Indexes []struct {
		Name string `json:"name"`
		Key  []struct {
			Field      string `json:"field"`
			Descending bool   `json:"descending"`
		} `json:"key"`
		Unique bool `json:"unique"`
	} `json:"indexes"`
}

// plainPath: field names this build indexes by value (patch.mjs's indexColumn keeps the others as they were).
var plainPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`)

func upgradeDatabaseIndexes(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	rows, err := db.QueryContext(ctx, `SELECT table_name, settings FROM _ferretdb_collections`)
	if err != nil {
		return err
	}
	tables := map[string]indexSettings{}
	for rows.Next() {
		var table, raw string
		if err := rows.Scan(&table, &raw); err != nil {
			_ = rows.Close()
			return err
		}
		var settings indexSettings
		if err := json.Unmarshal([]byte(raw), &settings); err == nil {
			tables[table] = settings
		}
	}
	_ = rows.Close()

	for table, settings := range tables {
		for _, leftover := range []string{"__id_path", "__id_value"} {
			if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP INDEX IF EXISTS %q`, table+leftover)); err != nil {
				return err
			}
		}
		for _, index := range settings.Indexes {
			name := table + "_" + index.Name
			var current string
			err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, name).Scan(&current)
			if err != nil || !strings.Contains(current, `_ferretdb_sjson->"`) {
				continue
			}
			columns := make([]string, 0, len(index.Key))
			for _, key := range index.Key {
				if !plainPath.MatchString(key.Field) {
					columns = nil
					break
				}
				column := fmt.Sprintf("_ferretdb_sjson->>'$.%s'", key.Field)
				if key.Descending {
					column += " DESC"
				}
				columns = append(columns, column)
			}
			if columns == nil {
				continue
			}
			unique := ""
			if index.Unique {
				unique = "UNIQUE "
			}
			create := fmt.Sprintf(`CREATE %sINDEX %q ON %q (%s)`, unique, name, table, strings.Join(columns, ", "))
			if err := rebuild(ctx, db, name, create); err != nil {
				logger.Warn("cannot rebuild index in the value form", "index", name, "error", err)
				continue
			}
			logger.Info("index rebuilt in the value form", "index", name)
		}
	}
	return nil
}

func rebuild(ctx context.Context, db *sql.DB, name, create string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DROP INDEX %q`, name)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, create); err != nil {
		return err
	}
	return tx.Commit()
}
