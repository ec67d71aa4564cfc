// Checks of parsed JSON that zod does not make: text the audit database can store, no `__proto__`
// key, bounded depth. None recurses: a body well under the size limit may nest deeper than the stack.
import type { ValidationIssue } from '../types/errors.js';

/** Issues reported per request at most: a body full of bad strings gets a short answer. */
const MAX_TEXT_ISSUES = 10;
/**
 * No request field nests anywhere near this (metadata, the deepest, allows 32 levels); deeper
 * input is refused without being walked, which bounds the walk and the paths it reports.
 */
export const MAX_INPUT_DEPTH = 64;

/** Why `text` cannot be stored as it was sent (PostgreSQL text and jsonb), or null when it can. */
export function textProblem(text: string): string | null {
  // An unpaired surrogate has no UTF-8 form: jsonb refuses it, text silently turns it into U+FFFD.
  if (!text.isWellFormed()) return 'must be well-formed Unicode (no unpaired surrogate)';
  if (text.includes('\0')) return 'must not contain the NUL character (U+0000)';
  return null;
}

interface Node {
  value: unknown;
  /** Its key or index in the parent; null for the root. */
  key: string | number | null;
  parent: Node | null;
  /** 0 for the root. */
  depth: number;
}

const isContainer = (value: unknown): value is object => typeof value === 'object' && value !== null;

/** Visits the values of a JSON tree depth first, in document order, until `visit` returns false. */
function walk(root: unknown, visit: (node: Node) => boolean): void {
  const stack: Node[] = [{ value: root, key: null, parent: null, depth: 0 }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (!visit(node)) return;
    const { value } = node;
    if (!isContainer(value)) continue;
    const children: Array<[string | number, unknown]> = Array.isArray(value)
      ? value.map((child, index) => [index, child])
      : Object.entries(value);
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i] as [string | number, unknown];
      stack.push({ value: child, key, parent: node, depth: node.depth + 1 });
    }
  }
}

/** The keys from the root down to `node`; parent links, so a deep tree costs no copied paths. */
function pathOf(node: Node | null): string[] {
  const path: string[] = [];
  for (let at = node; at !== null && at.key !== null; at = at.parent) path.push(String(at.key));
  return path.reverse();
}

/**
 * Every string and key the audit database could not store as sent, and every `__proto__` key,
 * anywhere in `input`, or that it nests too deep to look; paths start with `pathPrefix`.
 */
export function jsonTextIssues(input: unknown, pathPrefix: readonly string[] = []): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const report = (node: Node | null, message: string): void => {
    issues.push({ path: [...pathPrefix, ...pathOf(node)].join('.'), message });
  };
  walk(input, (node) => {
    if (isContainer(node.value) && node.depth >= MAX_INPUT_DEPTH) {
      report(null, `must not nest more than ${MAX_INPUT_DEPTH} levels deep`);
      return false;
    }
    if (typeof node.key === 'string') {
      // Refused rather than kept: JSON.parse keeps it, but an assignment (zod's record, most
      // clients' copies) turns it into the object's prototype and the data silently vanishes.
      if (node.key === '__proto__') report(node, 'is a reserved key');
      const problem = textProblem(node.key);
      if (problem !== null) report(node.parent, `keys ${problem}`);
    }
    if (typeof node.value === 'string') {
      const problem = textProblem(node.value);
      if (problem !== null) report(node, problem);
    }
    return issues.length < MAX_TEXT_ISSUES;
  });
  return issues;
}

/** True when objects and arrays in `value` nest more than `maxDepth` levels (`{}` is one level). */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  let deeper = false;
  walk(value, (node) => {
    deeper = isContainer(node.value) && node.depth >= maxDepth;
    return !deeper;
  });
  return deeper;
}
