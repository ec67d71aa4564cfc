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

/** A layer of a request's path, recognised by where its code lives. */
export interface LayerRule {
  layer: string;
  /** Matched against a frame's URL. */
  test: RegExp;
}

/**
 * Frames that do work on behalf of whoever called them: a sample in them is charged to the
 * nearest caller that belongs to a layer (helmet's setHeader is helmet's cost).
 */
const GENERIC_FRAME =
  /^(node:|$)|node_modules\/(debug|depd|ms|statuses|http-errors|on-finished|setprototypeof|inherits|safe-buffer|safer-buffer|iconv-lite|unpipe|media-typer|mime-types|mime-db|content-type|type-is|bytes|vary|encodeurl|escape-html|toidentifier|ee-first|negotiator|accepts)\//;

/** Writing a response or a frame to its socket: the runtime's cost, whoever asked for it. */
const RUNTIME_WRITE =
  /^(end|write|_send|_writeRaw|writeHead|_storeHeader|_flushOutput|_writeGeneric|_writev|writev|writeUtf8String|writeLatin1String|writeBuffer|handleWriteReq)$/;

export interface LayerShare {
  layer: string;
  ms: number;
  /** Per unit of work (e.g. µs per switch) when the caller says how many units the window did. */
  usPerUnit: number | null;
  percent: number;
}

/**
 * Busy time of the main thread in [fromUs, toUs] (CLOCK_MONOTONIC µs, as V8 stamps profiles and
 * process.hrtime reads), charged to layers: each sample goes to the innermost frame of its stack
 * that a rule claims, skipping generic frames; a JSON.stringify/parse below that frame is its own
 * layer (serialization), and GC is GC. Samples no layer claims are the runtime's (HTTP parsing,
 * sockets, timers) or unclaimed.
 */
export function layerShares(
  file: string,
  rules: readonly LayerRule[],
  window: { fromUs: number; toUs: number } | null,
  units: number | null,
): { busyMs: number; shares: LayerShare[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile & {
    startTime: number;
    nodes: (ProfileNode & { children?: number[] })[];
  };
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const layerOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = layerOf.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === '(garbage collector)') return 'garbage collector';
    if (leaf.functionName === '(program)') return 'V8 (program)';
    let serialization = false;
    let layer = 'Node runtime: HTTP parsing, sockets, timers';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      if (RUNTIME_WRITE.test(functionName) && (url === '' || url.startsWith('node:'))) {
        layer = 'Node runtime: HTTP parsing, sockets, timers';
        break;
      }
      if (GENERIC_FRAME.test(url)) {
        if (url === '' && (functionName === 'stringify' || functionName === 'parse')) serialization = true;
        continue;
      }
      const rule = rules.find((r) => r.test.test(url));
      if (rule !== undefined) {
        layer = serialization ? 'JSON serialization' : rule.layer;
        break;
      }
    }
    layerOf.set(id, layer);
    return layer;
  };
  const totals = new Map<string, number>();
  let busyUs = 0;
  let atUs = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    atUs += profile.timeDeltas[i] ?? 0;
    if (window !== null && (atUs < window.fromUs || atUs > window.toUs)) continue;
    const id = profile.samples[i]!;
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const us = profile.timeDeltas[i] ?? 0;
    busyUs += us;
    const layer = classify(id);
    totals.set(layer, (totals.get(layer) ?? 0) + us);
  }
  const shares = [...totals.entries()]
    .map(([layer, us]) => ({
      layer,
      ms: Math.round(us / 100) / 10,
      usPerUnit: units ? Math.round((us / units) * 10) / 10 : null,
      percent: Math.round((us / busyUs) * 1000) / 10,
    }))
    .sort((a, b) => b.ms - a.ms);
  return { busyMs: Math.round(busyUs / 1000), shares };
}

export function layersMarkdown(title: string, result: ReturnType<typeof layerShares>, unit: string): string {
  return [
    `#### ${title}`,
    '',
    `Busy ${result.busyMs} ms of the main thread in the measured window.`,
    '',
    `| layer | ms | µs per ${unit} | % of busy |`,
    '| --- | ---: | ---: | ---: |',
    ...result.shares.map((s) => `| ${s.layer} | ${s.ms} | ${s.usPerUnit ?? '—'} | ${s.percent} |`),
    '',
  ].join('\n');
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
