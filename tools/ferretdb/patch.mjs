// Builds FerretDB with two changes to the pinned v1.24.2:
//
// 1. Its SQLite backend looks a document up by `_id` only when the filter is exactly `{_id: <string>}`; any
//    other filter reads and decodes the whole collection. Patched, a filter that holds `_id: <string>` among
//    other conditions (`{_id, last_attempt_key}`, `{_id, project_id}`) is narrowed to that one row by the
//    `_id` index first; FerretDB still applies the whole filter to it afterwards, as it does for every query,
//    so results are unchanged. This lets hookflow guard its view writes in the filter: one round trip
//    instead of a read and a write.
// 2. Its resource-leak tracker records a pprof stack and sets a finalizer for every iterator and
//    transaction, in release builds too: 8 % of its CPU under hookflow's load. Patched, it tracks only in
//    FerretDB's debug builds (`debugbuild.Enabled`), which are the ones that report leaks.
//
// The module is copied from the Go module cache (which must not be modified, and which `go build -overlay`
// may not replace), patched there, and swapped in with a `replace` directive in a generated copy of our
// go.mod; nothing of FerretDB's is kept in this repository. The build fails if the pinned source no longer
// has the expected lines.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MODULE = 'github.com/FerretDB/FerretDB';
const FILE = 'internal/backends/sqlite/collection.go';
const TRACKER_FILE = 'internal/util/resource/resource.go';
const ONLY_ID = 'if params.Filter.Len() == 1 {';
const HAS_ID = 'if hasSingleKey(params.Filter, "_id") {';
const HELPER = `
// hasSingleKey reports whether key is one of the filter's top-level keys, exactly once
// (added by hookflow's build, tools/ferretdb/patch.mjs).
func hasSingleKey(d *types.Document, key string) bool {
	n := 0
	for _, k := range d.Keys() {
		if k == key {
			n++
		}
	}
	return n == 1
}
`;

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
  const file = join(src, FILE);
  const source = readFileSync(file, 'utf8');
  const sites = source.split(ONLY_ID).length - 1;
  if (sites !== 2) {
    throw new Error(`${info.Dir}/${FILE}: expected the _id pushdown condition twice (Query, Explain), found ${sites}`);
  }
  writeFileSync(file, source.replaceAll(ONLY_ID, HAS_ID) + HELPER);

  const tracker = join(src, TRACKER_FILE);
  let patched = readFileSync(tracker, 'utf8');
  for (const fn of ['Track', 'Untrack']) {
    const head = `func ${fn}(obj any, token *Token) {\n\tcheckArgs(obj, token)\n`;
    if (!patched.includes(head)) throw new Error(`${info.Dir}/${TRACKER_FILE}: ${fn} no longer starts as expected`);
    patched = patched.replace(head, `${head}\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n`);
  }
  writeFileSync(tracker, patched);

  const modfile = join(outDir, 'go.mod');
  const gomod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  writeFileSync(modfile, `${gomod}\nreplace ${MODULE} => ${src}\n`);
  copyFileSync(join(moduleDir, 'go.sum'), join(outDir, 'go.sum'));
  return modfile;
}
