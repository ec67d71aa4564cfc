// @synckairos/client as a developer gets it: packed, installed from the tarball into an empty
// project of its own, imported by plain `node` (no TypeScript loader) and type-checked by tsc.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/index.js';
import { testDataDir } from '../helpers/testDataDir.js';

const run = promisify(execFile);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** What the installed package's script prints: the state it read and the switch it made. */
interface ConsumerReport {
  connectedVersion: number;
  status: string;
  switchedActive: string | null;
  switchedVersion: number;
  remainingWhiteMs: number;
}

const CONSUMER_SCRIPT = `
import { connect, createClient } from '@synckairos/client';
import WebSocket from 'ws';

const [url, sessionId] = process.argv.slice(2);
const api = createClient({ url });
await api.createSession({
  session_id: sessionId,
  sync_mode: 'per_participant',
  participants: [{ participant_id: 'white' }, { participant_id: 'black' }],
  total_time_ms: 60000,
});
const handle = await connect({ url, sessionId, WebSocket });
const connectedVersion = handle.state.version;
await handle.start();
const switched = await handle.switch();
console.log(JSON.stringify({
  connectedVersion,
  status: switched.status,
  switchedActive: switched.active_participant_id,
  switchedVersion: handle.state.version,
  remainingWhiteMs: handle.remaining('white'),
}));
await handle.close();
`;

const TYPED_CONSUMER = `
import { connect, type SessionView, type SyncKairosHandle } from '@synckairos/client';

export async function watch(url: string, token: () => Promise<string>): Promise<SyncKairosHandle> {
  const handle = await connect({ url, sessionId: 'game-1', token });
  handle.on('state', (state: SessionView) => console.log(state.version, state.active_participant_id));
  handle.on('connection', (status) => {
    const known: 'connected' | 'reconnecting' | 'disconnected' | 'unauthorized' = status;
    console.log(known);
  });
  const left: number | null = handle.remaining('white');
  console.log(left);
  return handle;
}

// @ts-expect-error: a switch takes options, not a participant id string
await (null as unknown as SyncKairosHandle).switch('black');
`;

describe('the packed SDK installed into an empty project', () => {
  let server: RunningServer;
  let project: string;
  let packedFiles: string[];

  beforeAll(async () => {
    project = mkdtempSync(path.join(tmpdir(), 'synckairos-consumer-'));
    // prepack builds the package; --json lists what the tarball holds.
    const { stdout } = await run(
      'npm',
      ['pack', '-w', 'packages/client', '--pack-destination', project, '--json'],
      { cwd: repoRoot },
    );
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [
      { filename: string; files: { path: string }[] },
    ];
    packedFiles = packed.files.map((f) => f.path);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    // Offline: the tarball has no dependencies to fetch, and ws comes from this checkout.
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        path.join(project, packed.filename),
        path.join(repoRoot, 'node_modules/ws'),
      ],
      { cwd: project },
    );
    server = await startServer(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DATA_DIR: testDataDir() }),
    );
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (project !== undefined) rmSync(project, { recursive: true, force: true });
  });

  it('ships compiled JavaScript with its types and no runtime dependencies', () => {
    expect(packedFiles).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']),
    );
    expect(
      packedFiles.filter(
        (file) => file.startsWith('dist/') && file.endsWith('.ts') && !file.endsWith('.d.ts'),
      ),
    ).toEqual([]);
    const manifest = JSON.parse(
      readFileSync(path.join(project, 'node_modules/@synckairos/client/package.json'), 'utf8'),
    ) as { dependencies?: object; sideEffects?: boolean };
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.sideEffects).toBe(false);
  });

  it('plain node imports it, connects, reads the state and makes a switch', async () => {
    writeFileSync(path.join(project, 'consumer.mjs'), CONSUMER_SCRIPT);
    const sessionId = `pack-${process.pid}`;
    const { stdout } = await run(process.execPath, ['consumer.mjs', server.url, sessionId], {
      cwd: project,
      timeout: 30_000,
    });
    const report = JSON.parse(stdout.trim()) as ConsumerReport;
    expect(report).toMatchObject({
      connectedVersion: 1,
      status: 'running',
      switchedActive: 'black',
      switchedVersion: 3,
    });
    expect(report.remainingWhiteMs).toBeGreaterThan(0);
    expect(report.remainingWhiteMs).toBeLessThanOrEqual(60_000);
  });

  it('tsc checks a typed consumer against the installed declarations', async () => {
    writeFileSync(path.join(project, 'consumer.ts'), TYPED_CONSUMER);
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM'],
          types: [],
          strict: true,
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', project], { cwd: project }).then(
      () => ({ code: 0, output: '' }),
      (err: { code: number; stdout: string }) => ({ code: err.code, output: err.stdout }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
    // A whole tsc run: seconds alone, more beside the rest of the suite on two cores.
  }, 90_000);
});
