// A child process's JSON log lines, each handed on as it is complete (node:readline splits them).
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export function onJsonLines<Line = Record<string, unknown>>(
  stream: Readable | null,
  onLine: (line: Line) => void,
  /** A line that is not JSON. */
  onOther: (text: string) => void = () => {},
): void {
  if (stream === null) return;
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (text) => {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      onOther(text);
      return;
    }
    onLine(line);
  });
}
