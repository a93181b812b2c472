// The workspace page: loads what every screen shares, then the inbox; the header's
// buttons switch to the admin pages (admins only; the server refuses agents anyway).
import {call, failed, me} from './api.js';
import * as adminPages from './admin-pages.js';
import * as conversation from './conversation.js';
import * as events from './events.js';
import * as inbox from './inbox.js';
import * as keyboard from './keyboard.js';

function show(view) {
  for (const button of document.querySelectorAll('[data-view]')) {
    if (button.dataset.view === view) button.setAttribute('aria-current', 'page');
    else button.removeAttribute('aria-current');
  }
  document.getElementById('view-inbox').hidden = view !== 'inbox';
  document.getElementById('view-admin').hidden = view === 'inbox';
  if (view !== 'inbox') adminPages.show(view);
}

async function start() {
  keyboard.init();
  for (const button of document.querySelectorAll('[data-view]')) {
    button.addEventListener('click', () => show(button.dataset.view));
  }
  try {
    const [departments, agents, savedReplies] = await Promise.all([
      call('get-departments'),
      call('get-users', {user_types: ['agent', 'admin']}),
      call('saved-replies'),
    ]);
    conversation.init(agents, departments || {}, savedReplies);
    await inbox.init(departments || {});
  } catch (error) {
    failed(error);
  }
  events.connect();  // the live feed; until it opens, and whenever it fails, the screens poll
  document.documentElement.dataset.role = me.role;
  document.body.classList.add('ready');
}

start();
