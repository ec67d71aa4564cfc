// The few DOM helpers the demo needs; the page's markup lives in page.html.

/** An element of page.html by id; a missing one is a bug in the page, so it throws. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`page.html has no #${id}`);
  return element as T;
}

/** A new element with a class and, optionally, text. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const created = document.createElement(tag);
  created.className = className;
  if (text !== undefined) created.textContent = text;
  return created;
}

/** Shows one of the page's views (home, session, problem) and hides the others. */
export function showView(id: 'home' | 'session' | 'problem'): void {
  for (const view of ['home', 'session', 'problem']) byId(view).hidden = view !== id;
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;

/** A short message at the bottom of the screen; it goes away by itself. */
export function toast(message: string, durationMs = 3500): void {
  const box = byId('toast');
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), durationMs);
}

/** Sets a text only when it changed: the clocks are drawn every frame. */
export function setText(target: HTMLElement, text: string): void {
  if (target.textContent !== text) target.textContent = text;
}
