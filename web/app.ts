// The viewer's entry: routes the URL to a page, takes in-app link clicks without a page load, and
// shows any failure as a readable message on the page.
import { comparePage } from './pages/compare.js';
import { intermediatePage } from './pages/intermediate.js';
import { queryPage } from './pages/query.js';
import { storePage } from './pages/store.js';
import { errorBox, h, link, ready } from './util.js';

async function render(): Promise<void> {
  const main = document.getElementById('main')!;
  const q = new URLSearchParams(location.search);
  const page = location.pathname.replace(/\/+$/, '') || '/store';
  document.querySelectorAll('header nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('href') === page));
  delete document.body.dataset.ready;
  try {
    if (page === '/store') await storePage(main);
    else if (page === '/intermediate') await intermediatePage(main, q);
    else if (page === '/compare') await comparePage(main, q);
    else if (page === '/query') await queryPage(main, q);
    else main.replaceChildren(h('p', null, `no page ${page}: `, link('/store', 'the store')));
  } catch (e) {
    main.replaceChildren(errorBox(e), h('p', null, link('/store', 'back to the store')));
    ready('error');
  }
  document.title = `mistique — ${main.querySelector('h1')?.textContent ?? 'error'}`;
}

document.addEventListener('click', (e) => {
  const a = (e.target as Element).closest('a');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api')) return;
  e.preventDefault();
  history.pushState(null, '', url);
  void render();
});
window.addEventListener('popstate', () => { void render(); });
void render();
