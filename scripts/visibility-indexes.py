# Trims the embedded Temporal dev server's SQLite visibility table to the indexes that are queried.
# Usage: python visibility-indexes.py <temporal.db>  with a JSON object on stdin:
#   {"keep": [index names kept whatever they cover], "columns": [custom search attribute columns in use]}
# Every other index on executions_visibility is dropped; a column in use that lost its index (a search
# attribute registered after an earlier trim) gets it back in the server's own form. An index led by a column
# that can be NULL (every custom search attribute, the parent workflow, the schedule columns) is made partial,
# holding only the rows that have a value: the server's queries compare that column with a value, which SQLite
# serves from a partial index. Prints what it did as JSON. Why: the stock schema has 59 indexes on that
# table, each rewritten when a workflow starts and closes (bench/README.md, seventeenth round).
import json
import re
import sqlite3
import sys

TABLE = "executions_visibility"


def index_name(column):
    # Keyword01 -> by_keyword_01, as the server's schema names them.
    kind, number = re.fullmatch(r"([A-Za-z]+?)(\d+)", column).groups()
    return "by_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower() + "_" + number


def main():
    db, wanted = sys.argv[1], json.load(sys.stdin)
    keep = set(wanted["keep"])
    # The server indexes these kinds of custom columns (not Text or KeywordList).
    columns = [c for c in wanted["columns"] if re.fullmatch(r"(Bool|Datetime|Double|Int|Keyword)\d+", c)]
    keep.update(index_name(c) for c in columns)
    conn = sqlite3.connect(db, timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    existing = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (TABLE,),
        )
    ]
    dropped = [name for name in existing if name not in keep]
    created = [c for c in columns if index_name(c) not in existing]
    conn.execute("BEGIN IMMEDIATE")
    for name in dropped:
        conn.execute(f'DROP INDEX "{name}"')
    for column in created:
        conn.execute(
            f'CREATE INDEX "{index_name(column)}" ON {TABLE} (namespace_id, "{column}", '
            "(COALESCE(close_time, '9999-12-31 23:59:59+00:00')) DESC, start_time DESC, run_id)"
        )
    columns_info = conn.execute(f"PRAGMA table_xinfo({TABLE})").fetchall()
    nullable = {name for (_, name, _, notnull, *_) in columns_info if not notnull}
    partial = []
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (TABLE,)
    ).fetchall():
        leading = [column for (seq, _, column) in conn.execute(f'PRAGMA index_info("{name}")') if seq == 1]
        if not leading or leading[0] not in nullable or " WHERE " in sql.upper():
            continue
        conn.execute(f'DROP INDEX "{name}"')
        conn.execute(f'{sql} WHERE "{leading[0]}" IS NOT NULL')
        partial.append(name)
    conn.execute("COMMIT")
    left = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (TABLE,)
    ).fetchone()[0]
    print(json.dumps({"dropped": len(dropped), "created": created, "partial": partial, "indexes": left}))


main()
