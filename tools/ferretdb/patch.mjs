// Builds FerretDB with hookflow's changes to the pinned v1.24.2 (its SQLite backend otherwise reads and decodes
// the whole collection for every filter but `{_id: <string>}`, and sorts in memory):
//
// 1. Indexes are built on each field's value (`_ferretdb_sjson->>'$.a.b'`, SQLite's typed value: a string,
//    an integer for a date's milliseconds) instead of its JSON text, and `_id` is matched through that
//    expression too, so the planner can use them for what follows.
// 2. Filter pushdown (`_patch/pushdown.go`): equality, range (`$gt`...) and `$in` conditions on indexed
//    top-level fields, compared with strings, ObjectIDs, dates, integers or booleans, become a SQL WHERE
//    clause. FerretDB still applies the whole filter to what SQLite returns, so the clause only has to be
//    implied by the filter; SQLite's comparisons make it so for those types (a date bound also lets through
//    an integer of the same value, which the filter then drops). The one exception is MongoDB's multikey
//    match (an array matches a scalar condition on any element): conditions are pushed down only on indexed
//    fields, and hookflow never indexes a field that holds an array (test/unit/indexes.test.ts checks).
// 3. Sort pushdown for `{_id: 1 | -1}`: SQLite returns rows in `_id` order from an index ending in `_id`, and
//    FerretDB's limit stops reading after the page instead of decoding and sorting every match. SQLite
//    orders `_id`s as MongoDB does when a collection's ids are of one type, as hookflow's (strings) are.
// 4. Its resource-leak tracker records a pprof stack and sets a finalizer for every iterator and
//    transaction, in release builds too: 8 % of its CPU under hookflow's load. Patched, it tracks only in
//    FerretDB's debug builds (`debugbuild.Enabled`), which are the ones that report leaks.
// 5. Its SQL layer (`fsql`) builds two debug records per statement, the arguments (whole documents) formatted
//    as text, whatever the log level: 5–8 % of its CPU under hookflow's load. Patched, only when debug
//    logging is enabled.
//
// Unique indexes on values treat an explicit null like a missing field (SQLite allows many NULLs; FerretDB
// already did so for missing fields) and a boolean like the integer 0 or 1; hookflow's unique keys are strings
// and integers. Indexes an earlier build made on JSON text are rebuilt on values at start by
// tools/ferretdb/main.go.
//
// The module is copied from the Go module cache (which must not be modified, and which `go build -overlay`
// may not replace), patched there, and swapped in with a `replace` directive in a generated copy of our
// go.mod; nothing of FerretDB's is kept in this repository. The build fails if the pinned source no longer
// has the expected lines.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const MODULE = 'github.com/FerretDB/FerretDB';
const SQLITE = 'internal/backends/sqlite';
const HERE = dirname(new URL(import.meta.url).pathname);

/** Replaces `from` by `to` in `file` under `root`, failing unless `from` occurs exactly `times` times. */
function edit(root, file, from, to, times = 1) {
  const path = join(root, file);
  const source = readFileSync(path, 'utf8');
  const found = source.split(from).length - 1;
  if (found !== times) throw new Error(`${file}: expected ${times} of ${JSON.stringify(from)}, found ${found}`);
  writeFileSync(path, source.replaceAll(from, to));
}

// FerretDB's own pushdown, in Query and in Explain (which also sets filterPushdown), replaced by prepareWhere.
const idPushdown = (explain) => `	// that logic should exist in one place
	// TODO https://github.com/FerretDB/FerretDB/issues/3235
	if params.Filter.Len() == 1 {
		v, _ := params.Filter.Get("_id")
		switch v.(type) {
		case string, types.ObjectID:
${explain ? '\t\t\tfilterPushdown = true\n' : ''}			whereClause = fmt.Sprintf(\` WHERE %s = ?\`, metadata.IDColumn)
			args = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}
		}
	}
`;

const INDEX_COLUMN = `
// indexColumn is the expression an index holds for a field (added by hookflow's build, tools/ferretdb/patch.mjs):
// the field's value, as the SQLite backend's pushed-down conditions read it; a name that would need quoting in
// a JSON path keeps FerretDB's own JSON-text form.
func indexColumn(field string, quoted []string) string {
	for i, part := range strings.Split(field, ".") {
		for j, c := range part {
			letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
			if !letter && (j == 0 || c < '0' || c > '9') {
				return fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(quoted, "->"))
			}
		}
		if part == "" && i >= 0 {
			return fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(quoted, "->"))
		}
	}

	return fmt.Sprintf("%s->>'$.%s'", DefaultColumn, field)
}
`;

function patchSource(src) {
  // 1. Indexes on values; _id matched through its value.
  edit(
    src,
    `${SQLITE}/metadata/registry.go`,
    'columns[i] = fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))',
    'columns[i] = indexColumn(key.Field, fields)',
  );
  const registry = join(src, SQLITE, 'metadata/registry.go');
  writeFileSync(registry, readFileSync(registry, 'utf8') + INDEX_COLUMN);

  // 2. Filter pushdown in Query and Explain.
  const collection = `${SQLITE}/collection.go`;
  edit(src, collection, idPushdown(false), '	whereClause, args = prepareWhere(params.Filter, meta)\n');
  edit(
    src,
    collection,
    idPushdown(true),
    '	whereClause, args = prepareWhere(params.Filter, meta)\n	filterPushdown = whereClause != ""\n',
  );
  // UpdateAll and DeleteAll find their rows through the _id value index.
  edit(
    src,
    collection,
    'q := fmt.Sprintf(`UPDATE %q SET %s = ? WHERE %s = ?`, meta.TableName, metadata.DefaultColumn, metadata.IDColumn)',
    'update := fmt.Sprintf(`UPDATE %q SET %s = ? WHERE `, meta.TableName, metadata.DefaultColumn)',
  );
  edit(
    src,
    collection,
    '			arg := string(must.NotFail(sjson.MarshalSingleValue(id)))\n\n			r, err := tx.ExecContext(ctx, q, string(b), arg)',
    '			cond, idArgs := idCondition(id)\n\n			r, err := tx.ExecContext(ctx, update+cond, append([]any{string(b)}, idArgs...)...)',
  );
  edit(
    src,
    collection,
    '	res, err := db.ExecContext(ctx, q, args...)',
    '	if params.RecordIDs == nil {\n		cond, idArgs := idsCondition(params.IDs)\n		q, args = fmt.Sprintf(`DELETE FROM %q WHERE %s`, meta.TableName, cond), idArgs\n	}\n\n	res, err := db.ExecContext(ctx, q, args...)',
  );

  // 3. Sort pushdown for _id.
  edit(
    src,
    `${SQLITE}/query.go`,
    'func prepareOrderByClause(sort *types.Document) string {\n',
    'func prepareOrderByClause(sort *types.Document) string {\n	if clause := prepareIDOrderBy(sort); clause != "" {\n		return clause\n	}\n\n',
  );
  for (const handler of ['msg_find.go', 'msg_explain.go']) {
    edit(
      src,
      `internal/handler/${handler}`,
    '	case params.Sort.Len() == 1:\n		if params.Sort.Keys()[0] != "$natural" {',
    '	case params.Sort.Len() == 1 && params.Sort.Keys()[0] == "_id" && !cInfo.Capped():\n' +
      '		// hookflow\'s build: the SQLite backend returns rows in _id order (tools/ferretdb/patch.mjs).\n' +
      '		if v, _ := params.Sort.Get("_id"); v == int64(1) || v == int64(-1) {\n' +
      '			qp.Sort = params.Sort\n			params.Sort = nil\n		}\n' +
      '	case params.Sort.Len() == 1:\n		if params.Sort.Keys()[0] != "$natural" {',
    );
  }
  edit(
    src,
    'internal/backends/collection.go',
    'sortValue := params.Sort.Map()["$natural"].(int64)',
    'sortValue := params.Sort.Map()[params.Sort.Keys()[0]].(int64)',
    2,
  );
  copyFileSync(join(HERE, '_patch/pushdown.go'), join(src, SQLITE, 'hookflow_pushdown.go'));

  // 4. The resource tracker only in debug builds.
  for (const fn of ['Track', 'Untrack']) {
    const head = `func ${fn}(obj any, token *Token) {\n\tcheckArgs(obj, token)\n`;
    edit(src, 'internal/util/resource/resource.go', head, `${head}\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n`);
  }

  // 5. Its SQL statement logs only when debug logging is on.
  for (const file of ['internal/util/fsql/db.go', 'internal/util/fsql/tx.go']) {
    for (const receiver of file.endsWith('db.go') ? ['db'] : ['tx']) {
      for (const arrow of ['>>>', '<<<']) {
        const line = `${receiver}.l.With(fields...).DebugContext(ctx, fmt.Sprintf("${arrow} %s", query))`;
        edit(src, file, line, `if ${receiver}.l.Enabled(ctx, slog.LevelDebug) {\n\t\t${line}\n\t}`, 3);
      }
    }
  }
}

/**
 * Prepares the patched module under `outDir` and returns the `-modfile` to build `moduleDir` (our main
 * module, tools/ferretdb) with.
 */
export function patchedModfile(moduleDir, outDir) {
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', MODULE], { cwd: moduleDir, encoding: 'utf8' }),
  );
  const src = join(outDir, 'FerretDB');
  // The module cache is read-only: make the copy (and an earlier one) writable.
  if (existsSync(outDir)) execFileSync('chmod', ['-R', 'u+w', outDir]);
  rmSync(outDir, { recursive: true, force: true });
  cpSync(info.Dir, src, { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', src]);
  patchSource(src);

  const modfile = join(outDir, 'go.mod');
  const gomod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  writeFileSync(modfile, `${gomod}\nreplace ${MODULE} => ${src}\n`);
  copyFileSync(join(moduleDir, 'go.sum'), join(outDir, 'go.sum'));
  return modfile;
}
