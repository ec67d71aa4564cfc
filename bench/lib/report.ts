// The run's results as JSON and as the Markdown table in BENCHMARKS.md. The table of each mode
// (full, quick) sits between markers and is rewritten by that mode's runs; the prose around
// the markers is written by people and left alone.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as prettier from 'prettier';
import type { LatencySummary } from './hdr.js';
import type { ProfileSummary } from '../profileSummary.js';

export interface RowResult {
  id: string;
  what: string;
  target: string;
  measured: string;
  floor: string;
  ratio: string;
  met: boolean;
  /** Cores other processes on the machine used while the row ran (null: not measured). */
  otherLoadCores?: number | null;
  data: Record<string, unknown>;
  notes: string[];
}

/** Server CPU per REST switch of each layer stack (bench/httpStacks.ts). */
export interface HttpLayersResult {
  ratePerSec: number;
  rounds: number;
  turnMs: number;
  /** Cores other processes used while the rounds ran. */
  otherLoadCores: number;
  stacks: {
    framework: string;
    depth: number;
    layer: string;
    /** Median of the rounds. */
    cpuUsPerSwitch: number;
    cpuUsRounds: number[];
    latency: LatencySummary;
    statuses: Record<string, number>;
    otherLoadCores: number;
  }[];
}

export interface RunResult {
  date: string;
  mode: 'quick' | 'full';
  profiled: boolean;
  /** The benchmark's processes ran at nice -10. */
  priority: boolean;
  command: string;
  durationS: number;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; redis: string; os: string };
  floors: { redisEvalsha: LatencySummary; httpKeepAlive: LatencySummary; wsEcho: LatencySummary };
  rows: RowResult[];
  floorsOtherLoadCores: number | null;
  profiles: Record<string, ProfileSummary[]>;
  httpLayers?: HttpLayersResult;
}

/** Each stack's CPU per switch and what its last layer added, Express and Fastify side by side. */
function layersTable(layers: HttpLayersResult): string[] {
  const of = (framework: string) => layers.stacks.filter((s) => s.framework === framework);
  const floor = of('node')[0]?.cpuUsPerSwitch ?? 0;
  const cell = (framework: string, depth: number): string => {
    const list = of(framework);
    const here = list.find((s) => s.depth === depth);
    if (!here) return '—';
    const below = list.find((s) => s.depth === depth - 1)?.cpuUsPerSwitch ?? floor;
    const added = here.cpuUsPerSwitch - below;
    return `${here.cpuUsPerSwitch} (${added >= 0 ? '+' : ''}${added})`;
  };
  const depths = [...new Set(layers.stacks.filter((s) => s.depth > 0).map((s) => s.depth))].sort(
    (a, b) => a - b,
  );
  return [
    `Server CPU per REST switch, µs, as layers are added (\`bench/httpStacks.ts\`, ${layers.ratePerSec}/s offered, every stack in turn for ${layers.turnMs / 1000} s, median of ${layers.rounds} rounds; other load ${layers.otherLoadCores} cores; in brackets: what the layer added). Bare \`node:http\` answering a fixed view: ${floor} µs.`,
    '',
    '| depth | layer added | Express | Fastify |',
    '| --- | --- | --- | --- |',
    ...depths.map((depth) => {
      const layer = layers.stacks.find((s) => s.depth === depth)!.layer;
      return `| ${depth} | ${layer} | ${cell('express', depth)} | ${cell('fastify', depth)} |`;
    }),
    '',
  ];
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(run: RunResult): string {
  const f = run.floors;
  const floor = (name: string, s: LatencySummary): string =>
    `${name} p50 ${s.p50Ms} · p99 ${s.p99Ms} · max ${s.maxMs} ms`;
  const lines = [
    `**${run.mode === 'quick' ? 'Quick run (smaller counts, shorter runs: not the reference figures)' : 'Full run'}** — ${run.date.slice(0, 16).replace('T', ' ')} UTC, \`${run.command}\`, ${run.durationS} s${run.profiled ? ', profiled' : ''}${run.priority ? ', every benchmark process at nice −10 (other work on the machine gets less of the CPU)' : ''}.`,
    '',
    `Machine: ${run.machine.cores} cores (${run.machine.cpu}), ${run.machine.memoryGiB} GiB, Node ${run.machine.node}, Redis ${run.machine.redis}, ${run.machine.os}; everything on loopback.`,
    '',
    `Floors measured in this run (sequential round trips from a load process): ${floor('bare Redis EVALSHA (trivial script, ioredis)', f.redisEvalsha)}; ${floor('bare HTTP keep-alive (node:http doing nothing)', f.httpKeepAlive)}; ${floor('bare `ws` echo', f.wsEcho)}.`,
    '',
    '| what | target | measured | floor (same run) | ratio | met | other load |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...run.rows.map(
      (row) =>
        `| ${cell(row.what)} | ${cell(row.target)} | ${cell(row.measured)} | ${cell(row.floor)} | ${cell(row.ratio)} | ${row.met ? '**yes**' : '**no**'} | ${row.otherLoadCores ?? '?'} |`,
    ),
    '',
    `"other load": cores that processes other than this benchmark's used while the row ran (the floors: ${run.floorsOtherLoadCores ?? '?'}); the machine has ${run.machine.cores}. Each row first waits (bounded) for that to fall under 0.25.`,
    '',
    'How each row was measured:',
    '',
    ...run.rows.flatMap((row) => row.notes.map((note) => `- ${row.id}: ${note}`)),
    '',
    ...(run.httpLayers ? layersTable(run.httpLayers) : []),
  ];
  return lines.join('\n');
}

const SKELETON = `# Benchmarks

\`npm run bench\` measures every performance target of SyncKairos on this machine; \`npm run bench -- --quick\` is a
smaller, shorter run. The tables below are rewritten by those runs (the full run's and the quick run's
each between their markers); the rest of this page is written by hand.

<!-- bench:full:start -->
<!-- bench:full:end -->

<!-- bench:quick:start -->
<!-- bench:quick:end -->
`;

/** Rewrites the block of this run's mode in BENCHMARKS.md (created if missing), formatted as `npm run lint` wants it. */
export async function rewriteBenchmarksMd(file: string, run: RunResult): Promise<void> {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : SKELETON;
  const start = `<!-- bench:${run.mode}:start -->`;
  const end = `<!-- bench:${run.mode}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  const block = `${start}\n${markdownTable(run)}${end}`;
  const next =
    from >= 0 && to > from
      ? text.slice(0, from) + block + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  const options = (await prettier.resolveConfig(file)) ?? {};
  writeFileSync(file, await prettier.format(next, { ...options, filepath: file }));
}
