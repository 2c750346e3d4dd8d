// With --profile: where a process's CPU went, read from the .cpuprofile files it wrote.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

interface ProfileNode {
  id: number;
  hitCount?: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Where a process's CPU went, from its .cpuprofile: self time by package and the top functions. */
export function summarizeProfile(dir: string) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) return null;
  // One profile per thread (the main one, the workflow threads): their samples add up.
  const profiles = files.map(
    (file) =>
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        nodes: ProfileNode[];
        startTime: number;
        endTime: number;
      },
  );
  const where = (url: string) => {
    if (!url) return '(native, gc, idle)';
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    if (pkg) return pkg[1];
    if (url.startsWith('node:')) return 'node';
    if (url.includes('/src/') || url.includes('/activities/') || url.includes('/workflows/'))
      return 'hookflow';
    return '(other)';
  };
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const profile of profiles) {
    const hits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
    const msPerHit = (profile.endTime - profile.startTime) / 1000 / Math.max(1, hits);
    for (const node of profile.nodes) {
      const ms = (node.hitCount ?? 0) * msPerHit;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)' || functionName === '(program)') continue;
      byPackage.set(where(url), (byPackage.get(where(url)) ?? 0) + ms);
      const name = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(root, '')}:${lineNumber + 1}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    }
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => ({ name, selfMs: Math.round(ms) }));
  return { byPackage: top(byPackage, 12), topFunctions: top(byFunction, 15) };
}
