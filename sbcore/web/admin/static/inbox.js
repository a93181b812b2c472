// The inbox: conversations newest first, a page at a time, by status tab, filter or
// search; new and changed ones are fetched with get-new-conversations when the event
// stream tells of them (a message, a new conversation, a status or an assignment), and
// by polling when it is down (events.js).
import {call, el, failed, fullName, me, safeUrl, secondBefore, sourceName, when} from './api.js';
import * as events from './events.js';

const state = {box: 'inbox', assigned: '', department: '', source: '', search: '',
  rows: new Map(), since: null, selected: null, loading: false, cursor: ''};
const list = () => document.getElementById('conversation-list');

function queryArgs() {
  const args = state.cursor ? {before: state.cursor} : {};
  if (state.box !== 'inbox') args.status_code = state.box;
  if (state.department) args.department = Number(state.department);
  if (state.source) args.source = state.source;
  if (state.assigned === 'me') args.routing = true;
  if (state.assigned === 'unassigned') args.unassigned = true;
  return args;
}

function matches(row) {
  const status = Number(row.conversation_status_code);
  if (state.search) return false;
  if (state.box === 'inbox' ? status > 2 : String(status) !== state.box) return false;
  if (state.department && row.department !== state.department) return false;
  if (state.source && row.source !== state.source) return false;
  if (state.assigned === 'me' && row.agent_id !== String(me.id)) return false;
  if (state.assigned === 'unassigned' && row.agent_id) return false;
  return true;
}

function snippet(row) {
  if (row.message) {
    return row.message.replace(/\[([a-z-]+)(\s+[a-z-]+="[^"]*")*\s*\]/g, '[$1]').replace(/\s+/g, ' ').slice(0, 120);
  }
  if (row.attachments) return '[attachment]';
  return row.title || '';
}

function item(row) {
  const name = fullName(row.conversation_first_name, row.conversation_last_name);
  const unread = row.conversation_status_code === '2';
  const avatar = safeUrl(row.conversation_profile_image);
  const button = el('button', {
    type: 'button', class: 'conversation-item' + (unread ? ' unread' : ''),
    dataset: {id: row.conversation_id}, 'aria-current': state.selected === row.conversation_id ? 'true' : null,
    onclick: () => open(row.conversation_id),
  },
  avatar ? el('img', {src: avatar, alt: '', class: 'avatar', loading: 'lazy'}) : el('span', {class: 'avatar'}),
  el('span', {class: 'who'},
    el('span', {class: 'name', text: name}),
    el('span', {class: 'source', text: sourceName(row.source)}),
    unread ? el('span', {class: 'dot', text: 'new', 'aria-label': 'waiting for an agent'}) : null,
    el('time', {text: when(row.last_update_time)})),
  el('span', {class: 'last', text: snippet(row)}));
  return el('li', {}, button);
}

function render() {
  const rows = [...state.rows.values()].sort((a, b) =>
    (b.last_update_time || '').localeCompare(a.last_update_time || '') ||
    Number(b.conversation_id) - Number(a.conversation_id));
  list().replaceChildren(...rows.map(item));
  if (!rows.length) list().append(el('li', {class: 'muted empty', text: state.search ? 'Nothing found.' : 'No conversations here.'}));
}

function remember(rows) {
  for (const row of rows) {
    state.rows.set(row.conversation_id, row);
    if (!state.since || row.last_update_time > state.since) state.since = row.last_update_time;
  }
}

export async function reload() {
  state.cursor = '';
  state.rows.clear();
  await loadPage();
}

async function loadPage() {
  if (state.loading) return;
  state.loading = true;
  try {
    const rows = state.search
      ? await call('search-conversations', {search: state.search})
      : await call('get-conversations', queryArgs());
    remember(rows);
    const last = rows[rows.length - 1];
    if (last) state.cursor = `${last.last_update_time},${last.conversation_id}`;
    document.getElementById('more').hidden = !!state.search || rows.length < 100;
    render();
  } catch (error) {
    failed(error);
  } finally {
    state.loading = false;
  }
}

async function countUnread() {
  try {
    const count = await call('count-conversations', {status_code: 2});
    document.getElementById('unread-count').textContent = Number(count) ? String(count) : '';
  } catch (error) { /* shown on the next call that fails */ }
}

let polls = 0;
async function poll() {
  if (state.since) {
    const rows = await call('get-new-conversations', {datetime: secondBefore(state.since)});
    let changed = false;
    for (const row of rows) {
      const known = state.rows.get(row.conversation_id);
      if (known && known.last_update_time === row.last_update_time && known.message_id === row.message_id &&
          known.conversation_status_code === row.conversation_status_code) continue;  // (two messages may share a second)
      if (matches(row)) {
        state.rows.set(row.conversation_id, row);
        changed = true;
      } else if (known) {
        state.rows.delete(row.conversation_id);
        changed = true;
      }
      if (row.last_update_time > state.since) state.since = row.last_update_time;
      document.dispatchEvent(new CustomEvent('sb:conversation-changed', {detail: row}));
    }
    if (changed) { render(); countUnread(); }
  } else if (!state.search) {
    const rows = await call('get-conversations', {pagination: 0});
    if (rows.length) { remember(rows.filter(matches)); render(); }
  }
  if (++polls % 10 === 0 || events.isUp()) countUnread();
}

// a status or an assignment of a listed conversation, from the stream (neither changes
// last_update_time, so get-new-conversations would not tell of them)
function changed(data) {
  const row = state.rows.get(String(data.conversation_id));
  if (!row) return;
  if ('status_code' in data) row.conversation_status_code = String(data.status_code);
  if ('agent_id' in data) row.agent_id = data.agent_id;
  if ('department' in data) row.department = data.department;
  if (!state.search && !matches(row)) state.rows.delete(row.conversation_id);
  render();
  countUnread();
  document.dispatchEvent(new CustomEvent('sb:conversation-changed', {detail: row}));
}

export function open(id, row = null) {
  state.selected = String(id);
  for (const button of list().querySelectorAll('button[data-id]')) {
    if (button.dataset.id === state.selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  document.dispatchEvent(new CustomEvent('sb:open', {detail: {id: String(id), row: row || state.rows.get(String(id)) || null}}));
}

// the conversation after (+1) or before (-1) the selected one, for the keyboard
export function step(delta) {
  const buttons = [...list().querySelectorAll('button[data-id]')];
  if (!buttons.length) return;
  const at = buttons.findIndex((b) => b.dataset.id === state.selected);
  const next = buttons[Math.min(buttons.length - 1, Math.max(0, at < 0 ? 0 : at + delta))];
  open(next.dataset.id);
  next.focus();
}

export async function init(departments) {
  const departmentFilter = document.getElementById('filter-department');
  for (const [id, department] of Object.entries(departments)) {
    departmentFilter.append(el('option', {value: id, text: department.name || id}));
  }
  for (const tab of document.querySelectorAll('[data-box]')) {
    tab.addEventListener('click', () => {
      state.box = tab.dataset.box;
      for (const other of document.querySelectorAll('[data-box]')) {
        other.setAttribute('aria-selected', String(other === tab));
      }
      reload();
    });
  }
  const bind = (id, key) => document.getElementById(id).addEventListener('change', (event) => {
    state[key] = event.target.value;
    reload();
  });
  bind('filter-assigned', 'assigned');
  bind('filter-department', 'department');
  bind('filter-source', 'source');
  const search = document.getElementById('search');
  document.getElementById('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.search = search.value.trim();
    reload();
  });
  search.addEventListener('input', () => {
    clearTimeout(init.searchTimer);
    init.searchTimer = setTimeout(() => {
      if (search.value.trim() !== state.search) { state.search = search.value.trim(); reload(); }
    }, 350);
  });
  document.getElementById('more').addEventListener('click', () => loadPage());
  await reload();
  countUnread();
  const poller = events.poller(poll);
  for (const kind of ['message', 'conversation']) events.on(kind, poller.soon);
  events.on('status', changed);
  events.on('assignment', changed);
  poller.schedule();
}
