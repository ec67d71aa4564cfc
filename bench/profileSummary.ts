// Summarizes a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and self
// time by origin (our src/, each npm package, Node internals, GC). Usable as a script:
//   npx tsx bench/profileSummary.ts <file.cpuprofile> [topN]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  origin: string;
  selfMs: number;
  /** Share of the busy time (idle excluded). */
  percent: number;
}

export interface ProfileSummary {
  file: string;
  busyMs: number;
  idleMs: number;
  top: SelfTime[];
  byOrigin: { origin: string; selfMs: number; percent: number }[];
}

/** Where a function comes from: `src/…` (ours), an npm package, Node itself, or V8's own buckets. */
function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (internals)';
  const src = url.indexOf('/src/');
  if (src >= 0)
    return `ours: ${url
      .slice(src + 1)
      .split('/')
      .slice(0, 2)
      .join('/')}`;
  return url;
}

function shortWhere(url: string, line: number): string {
  if (url === '') return '';
  const modules = url.lastIndexOf('node_modules/');
  const short =
    modules >= 0
      ? url.slice(modules + 'node_modules/'.length)
      : url.includes('/src/')
        ? url.slice(url.indexOf('/src/') + 1)
        : url;
  return `${short.replace(/^file:\/\//, '')}:${line + 1}`;
}

export function summarizeProfile(file: string, topN = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; it is charged to the node sampled at i.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, SelfTime>();
  const origins = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const origin = originOf(url, name);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
    const where = shortWhere(url, lineNumber);
    const key = `${name} ${where}`;
    const entry = functions.get(key) ?? { name, where, origin, selfMs: 0, percent: 0 };
    entry.selfMs += us / 1000;
    functions.set(key, entry);
  }
  const busyMs = busyUs / 1000;
  const pct = (ms: number): number => Math.round((ms / busyMs) * 1000) / 10;
  const top = [...functions.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN)
    .map((entry) => ({ ...entry, selfMs: Math.round(entry.selfMs), percent: pct(entry.selfMs) }));
  const byOrigin = [...origins.entries()]
    .map(([origin, us]) => ({ origin, selfMs: Math.round(us / 1000), percent: pct(us / 1000) }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { file, busyMs: Math.round(busyMs), idleMs: Math.round(idleUs / 1000), top, byOrigin };
}

export function profileMarkdown(summary: ProfileSummary, title: string): string {
  const lines = [
    `#### ${title}`,
    '',
    `\`${path.basename(summary.file)}\`: busy ${summary.busyMs} ms, idle ${summary.idleMs} ms.`,
    '',
    '| self time by origin | ms | % of busy |',
    '| --- | ---: | ---: |',
    ...summary.byOrigin.slice(0, 12).map((o) => `| ${o.origin} | ${o.selfMs} | ${o.percent} |`),
    '',
    '| top self-time functions | where | ms | % of busy |',
    '| --- | --- | ---: | ---: |',
    ...summary.top.map((f) => `| ${f.name} | ${f.where} | ${f.selfMs} | ${f.percent} |`),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('Usage: npx tsx bench/profileSummary.ts <file.cpuprofile> [topN]\n');
    process.exit(1);
  }
  process.stdout.write(
    profileMarkdown(summarizeProfile(file, Number(process.argv[3] ?? 25)), path.basename(file)),
  );
}
