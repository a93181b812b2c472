// One conversation: its messages (attachments, rich messages as text), the reply box
// with attachments and saved replies, internal notes, assignment, status, tags and
// typing both ways. Messages and the customer's typing arrive on the event stream, or by
// polling get-new-messages and is-typing while it is down (events.js).
import {call, el, failed, fullName, me, safeUrl, say, upload, when} from './api.js';
import * as customer from './customer.js';
import * as events from './events.js';

const TYPING_EVERY_MS = 3000;
const IMAGE = /\.(png|jpe?g|gif|webp|bmp|svg)(\?|#|$)/i;
const AGENTS = new Set(['agent', 'admin', 'bot']);
let current = null;  // {id, details, lastId, seen:Set}
let poller = null;
let typingTimer = null;
let lastTypingSent = 0;
const $ = (id) => document.getElementById(id);

function parseAttachments(stored) {
  if (!stored) return [];
  try {
    const value = typeof stored === 'string' ? JSON.parse(stored) : stored;
    return Array.isArray(value) ? value.filter((a) => Array.isArray(a) && a.length > 1) : [];
  } catch (error) {
    return [];
  }
}

// Support Board's rich messages are shortcodes: [buttons options="A,B" title="…"]. They
// are shown as what they are: a type and its values, all as text.
const SHORTCODE = /\[(buttons|select|email|inputs|registration|rating|chips|list|list-image|table|button|video|image|slider|slider-images|card|share|timetable|articles)((?:\s+[a-z-]+="[^"]*")*)\s*\]/g;

function messageBody(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(SHORTCODE)) {
    if (match.index > last) parts.push(el('span', {class: 'text', text: text.slice(last, match.index)}));
    const fields = [...match[2].matchAll(/([a-z-]+)="([^"]*)"/g)];
    parts.push(el('div', {class: 'rich', 'aria-label': `rich message: ${match[1]}`},
      el('span', {class: 'rich-type', text: match[1]}),
      fields.map(([, key, value]) => el('span', {class: 'rich-field'},
        el('b', {text: key}), ' ', value.split(',').map((v) => el('span', {class: 'chip', text: v.trim()}))))));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(el('span', {class: 'text', text: text.slice(last)}));
  return parts;
}

function messageItem(row) {
  const mine = AGENTS.has(row.user_type);
  const attachments = parseAttachments(row.attachments).map(([name, url]) => {
    const link = safeUrl(url);
    if (!link) return el('span', {class: 'file', text: String(name)});
    return IMAGE.test(link) || IMAGE.test(String(name))
      ? el('a', {href: link, target: '_blank', rel: 'noopener noreferrer', class: 'image'},
        el('img', {src: link, alt: String(name), loading: 'lazy'}))
      : el('a', {href: link, target: '_blank', rel: 'noopener noreferrer', class: 'file', text: String(name)});
  });
  return el('li', {class: 'message ' + (mine ? 'from-agent' : 'from-customer'), dataset: {id: row.id}},
    el('div', {class: 'meta'},
      el('span', {class: 'author', text: fullName(row.first_name, row.last_name)}),
      el('time', {text: when(row.creation_time), title: row.creation_time})),
    el('div', {class: 'body'}, messageBody(row.message || '')),
    attachments.length ? el('div', {class: 'attachments'}, attachments) : null);
}

function addMessages(rows) {
  const box = $('messages');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  for (const row of rows) {
    if (current.seen.has(row.id)) continue;
    current.seen.add(row.id);
    current.lastId = Math.max(current.lastId, Number(row.id));
    box.append(messageItem(row));
  }
  if (atBottom || rows.length) box.scrollTop = box.scrollHeight;
}

function renderNotes(notes) {
  $('notes').replaceChildren(...notes.map((note) => el('li', {},
    el('div', {class: 'meta'},
      el('span', {class: 'author', text: note.name || fullName(note.first_name, note.last_name)}),
      el('time', {text: when(note.creation_time)}),
      el('button', {type: 'button', class: 'link', text: 'Delete', 'aria-label': 'Delete this note',
        onclick: async () => {
          try {
            await call('delete-note', {conversation_id: Number(current.id), note_id: Number(note.id)});
            loadNotes();
          } catch (error) { failed(error); }
        }})),
    el('p', {class: 'body', text: note.message}))));
  if (!notes.length) $('notes').append(el('li', {class: 'muted', text: 'No notes.'}));
}

async function loadNotes() {
  renderNotes(await call('get-notes', {conversation_id: Number(current.id)}));
}

function renderHead() {
  const d = current.details;
  $('conversation-title').textContent = `${fullName(d.first_name, d.last_name)}${d.title ? ' · ' + d.title : ''}`;
  const status = Number(d.conversation_status_code);
  $('archive').hidden = status === 3;
  $('trash').hidden = status === 4;
  $('restore').hidden = status < 3;
  $('assign-department').value = d.department || '';
}

async function fetchNew(id) {
  const rows = await call('get-new-messages', {conversation_id: Number(id), datetime: String(current.lastId)});
  if (current && current.id === id) addMessages(rows);
}

function showTyping(typing, seconds = 0) {
  clearTimeout(typingTimer);
  $('typing').textContent = typing ? `${fullName(current.details.first_name, current.details.last_name)} is typing…` : '';
  if (typing && seconds) typingTimer = setTimeout(() => showTyping(false), seconds * 1000);
}

async function poll() {
  const id = current && current.id;
  if (!id) return;
  await fetchNew(id);
  if (current && current.id === id && !events.isUp()) {  // with the stream up, typing arrives as events
    const typing = await call('is-typing', {user_id: Number(current.details.user_id), conversation_id: Number(id)});
    if (current && current.id === id) showTyping(typing);
  }
}

// the stream's events of the open conversation
function ours(data) {
  return current && String(data.conversation_id) === current.id;
}

function streamed(kind, data) {
  if (!ours(data)) return;
  if (kind === 'message') {
    if (data.user_id === String(current.details.user_id)) showTyping(false);
    addMessages([data]);
  } else if (kind === 'message-updated' || kind === 'message-deleted') {
    const item = $('messages').querySelector(`li[data-id="${CSS.escape(String(data.id))}"]`);
    if (item && kind === 'message-updated') item.replaceWith(messageItem(data));
    else if (item) item.remove();
  } else if (kind === 'typing' && data.user_id === String(current.details.user_id)) {
    showTyping(true, Math.max(1, Number(data.seconds) || 5));
  } else if (kind === 'status') {
    current.details.conversation_status_code = String(data.status_code);
    renderHead();
  } else if (kind === 'assignment') {
    if ('department' in data) current.details.department = data.department;
    if ('agent_id' in data) $('assign-agent').value = data.agent_id || '';
    renderHead();
  }
}

export async function open(id, row = null) {
  try {
    const answer = await call('get-conversation', {conversation_id: Number(id)});
    if (!answer.details) { say('That conversation no longer exists.', true); return; }
    current = {id: String(id), details: answer.details, lastId: 0, seen: new Set(), row: null};
    $('no-conversation').hidden = true;
    $('conversation-body').hidden = false;
    document.body.classList.add('reading');
    $('messages').replaceChildren();
    addMessages(answer.messages);
    renderHead();
    $('assign-agent').value = row && row.agent_id ? row.agent_id : '';
    $('tags').value = row && row.tags ? row.tags.split(',').join(', ') : '';
    loadNotes();
    showTyping(false);
    customer.show(answer.details.user_id, id);
    poller.soon();  // what came between get-conversation and now
  } catch (error) {
    failed(error);
  }
}

async function send(event) {
  event.preventDefault();
  if (!current) return;
  const text = $('reply').value;
  const files = [...$('reply-files').files];
  if (!text.trim() && !files.length) return;
  const button = $('send');
  button.disabled = true;
  try {
    if ($('as-note').checked) {
      await call('add-note', {conversation_id: Number(current.id), user_id: me.id, name: me.name, message: text});
      await loadNotes();
      say('Note added.');
    } else {
      const attachments = [];
      for (const file of files) {
        const stored = await upload(file);
        attachments.push([stored.name, stored.url]);
      }
      await call('send-message', {user_id: me.id, conversation_id: Number(current.id), message: text,
        attachments: attachments.length ? attachments : null});
      call('set-typing', {user_id: me.id, conversation_id: -1}).catch(() => {});
      lastTypingSent = 0;
      await fetchNew(current.id);
    }
    $('reply').value = '';
    $('reply-files').value = '';
  } catch (error) {
    failed(error);
  } finally {
    button.disabled = false;
    $('reply').focus();
  }
}

async function setStatus(code) {
  try {
    await call('update-conversation-status', {conversation_id: Number(current.id), status_code: code});
    current.details.conversation_status_code = String(code);
    renderHead();
    say(code === 3 ? 'Archived.' : code === 4 ? 'Moved to the trash.' : 'Restored to the inbox.');
  } catch (error) { failed(error); }
}

export function focusReply() {
  if (!$('conversation-body').hidden) $('reply').focus();
}

export function currentId() {
  return current && current.id;
}

export function init(agents, departments, savedReplies) {
  for (const agent of agents) {
    $('assign-agent').append(el('option', {value: agent.id, text: fullName(agent.first_name, agent.last_name)}));
  }
  for (const [id, department] of Object.entries(departments)) {
    $('assign-department').append(el('option', {value: id, text: department.name || id}));
  }
  (savedReplies || []).forEach((reply, index) => {
    $('saved-replies').append(el('option', {value: String(index), text: reply['reply-name'] || `Reply ${index + 1}`}));
  });
  $('saved-replies').addEventListener('change', (event) => {
    const reply = (savedReplies || [])[Number(event.target.value)];
    if (reply) {
      const box = $('reply');
      box.value = box.value ? `${box.value}\n${reply['reply-text']}` : reply['reply-text'];
      box.focus();
    }
    event.target.value = '';
  });
  $('reply-form').addEventListener('submit', send);
  $('reply').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('reply-form').requestSubmit();
    }
  });
  $('reply').addEventListener('input', () => {
    if (!current || $('as-note').checked || Date.now() - lastTypingSent < TYPING_EVERY_MS) return;
    lastTypingSent = Date.now();
    call('set-typing', {user_id: me.id, conversation_id: Number(current.id)}).catch(() => {});
  });
  $('archive').addEventListener('click', () => setStatus(3));
  $('trash').addEventListener('click', () => setStatus(4));
  $('restore').addEventListener('click', () => setStatus(1));
  $('assign-agent').addEventListener('change', async (event) => {
    try {
      await call('update-conversation-agent', {conversation_id: Number(current.id),
        agent_id: event.target.value ? Number(event.target.value) : false});
      say('Assigned.');
    } catch (error) { failed(error); }
  });
  $('assign-department').addEventListener('change', async (event) => {
    try {
      await call('update-conversation-department', {conversation_id: Number(current.id),
        department: event.target.value ? Number(event.target.value) : false});
      say('Department changed.');
    } catch (error) { failed(error); }
  });
  $('tags').addEventListener('change', async (event) => {
    try {
      const tags = await call('update-conversation-tags', {conversation_id: Number(current.id),
        tags: event.target.value.split(',').map((t) => t.trim()).filter(Boolean)});
      event.target.value = tags.join(', ');
      say('Tags saved.');
    } catch (error) { failed(error); }
  });
  $('back').addEventListener('click', () => document.body.classList.remove('reading'));
  poller = events.poller(poll);
  for (const kind of ['message', 'message-updated', 'message-deleted', 'typing', 'status', 'assignment']) {
    events.on(kind, (data) => streamed(kind, data));
  }
  document.addEventListener('sb:open', (event) => open(event.detail.id, event.detail.row));
}
