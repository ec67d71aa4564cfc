// A logger whose JSON lines a test can read back, parsed, in the order they were written.
import { Writable } from 'node:stream';
import type { LogLevel } from '../../src/config/config.js';
import { createLogger, type Logger } from '../../src/monitoring/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every line so far; a test may empty it between cases. */
  lines: Array<Record<string, unknown>>;
}

export function captureLogs(logLevel: LogLevel): CapturedLogs {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ logLevel, nodeEnv: 'test', destination }), lines };
}
