// pino JSON logs; pretty-printed only for a developer watching a terminal.
import { pino, type Logger } from 'pino';
import type { LogLevel, NodeEnv } from '../config/config.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  logLevel: LogLevel;
  nodeEnv: NodeEnv;
  /** Where JSON lines go (tests); defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = { level: options.logLevel, base: { service: 'synckairos' } };
  if (options.destination) return pino(base, options.destination);
  const pretty = options.nodeEnv === 'development' && process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } },
    });
  }
  return pino(base);
}
