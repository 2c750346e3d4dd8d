// Command ferretdb runs the embedded FerretDB (MongoDB wire protocol on SQLite)
// that hookflow uses when MONGODB_URI is not set. It exists because `go install`
// of FerretDB's own main panics without its version file; the embeddable package
// does not need it.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

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

	go indexIDValues(ctx, *dir, logger)

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s, data in %s\n", *listen, *dir)
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

// indexIDValues gives every collection table made by an earlier build an index on the expression the patched
// backend finds documents by `_id` with (`_ferretdb_sjson->>'$._id'`); tables made by this build have it as
// their `_id_` index. It also drops the `_id` JSON-text index earlier builds of this command added. Tables
// appear as collections are created, so this looks again every second; the index is invisible to FerretDB's
// metadata and goes away with its table.
func indexIDValues(ctx context.Context, dir string, logger *slog.Logger) {
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	}()

	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()

	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			db, ok := dbs[file]
			if !ok {
				var err error
				db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
				if err != nil {
					logger.Warn("cannot open database to index it", "file", file, "error", err)
					continue
				}
				db.SetMaxOpenConns(1)
				dbs[file] = db
			}
			if err := ensureIDValueIndexes(ctx, db); err != nil {
				logger.Debug("indexing _id paths", "file", file, "error", err)
			}
		}

		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func ensureIDValueIndexes(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT t.table_name FROM _ferretdb_collections AS t
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND tbl_name = t.table_name
			AND (name = t.table_name || '__id_value' OR (name = t.table_name || '__id_' AND sql LIKE '%->>''$._id''%')))`)
	if err != nil {
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			_ = rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	_ = rows.Close()

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->>'$._id')`, table+"__id_value", table)
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP INDEX IF EXISTS %q`, table+"__id_path")); err != nil {
			return err
		}
	}
	return nil
}
