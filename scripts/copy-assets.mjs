// After `tsc`, copies every file under src/ that tsc does not emit (the Lua scripts, the demo's
// HTML, CSS and icons) to the same place under dist/, since the code reads them beside itself.
import { cpSync } from 'node:fs';

cpSync('src', 'dist', {
  recursive: true,
  filter: (source) => !/\.(ts|tsx|mts|cts)$/.test(source),
});
