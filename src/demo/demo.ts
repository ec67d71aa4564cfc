// The demo page's script (bundled with the SDK by router.ts): the home page creates a clock, a
// session's link (/s/<id> or /?session=<id>) opens it, on any number of screens at once.
import { byId, showView } from './dom.js';
import { initHome } from './home.js';
import { sessionIdFromUrl, tokenFromUrl } from './links.js';
import { openSession, type OpenSession } from './session.js';

let current: Promise<OpenSession> | null = null;

function route(): void {
  const url = new URL(location.href);
  const token = tokenFromUrl(url);
  const sessionId = sessionIdFromUrl(url);
  const previous = current;
  current = null;
  void previous?.then((open) => open.close());
  if (sessionId === null) {
    showView('home');
    document.title = 'SyncKairos';
    initHome({
      ...(token ? { token } : {}),
      onCreated: (id) => {
        // The hash (a token, if any) stays in this tab; the shared link never carries it.
        history.pushState(null, '', `/s/${encodeURIComponent(id)}${location.hash}`);
        route();
      },
    });
  } else if (typeof sessionId === 'object') {
    showView('problem');
    byId('problem-title').textContent = 'Not a clock link';
    byId('problem-text').textContent = 'Clock ids are 1 to 128 letters, digits and _ . : - characters.';
  } else {
    current = openSession(sessionId, token);
  }
}

window.addEventListener('popstate', route);
route();
