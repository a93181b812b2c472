// The workspace's one door to the server: POST /admin/api with the session cookie and
// the page's CSRF token; the same registry and envelope as the Web API.
const csrf = document.querySelector('meta[name="csrf-token"]').content;

export const me = {
  id: Number(document.body.dataset.userId),
  role: document.body.dataset.role,
  name: document.body.dataset.name,
};

export class ApiFailure extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

async function answer(response) {
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new ApiFailure('bad-answer', `The server answered ${response.status}.`, response.status);
  }
  if (response.status === 401) {
    window.location.assign('/admin');  // the session ended: back to the sign-in form
  }
  if (!body.success) throw new ApiFailure(body.response, body.message, response.status);
  return body.response;
}

export async function call(name, args = {}) {
  const response = await fetch('/admin/api', {
    method: 'POST',
    credentials: 'same-origin',
    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
    body: JSON.stringify({...args, function: name}),
  });
  return answer(response);
}

export async function upload(file) {
  const form = new FormData();
  form.append('file', file, file.name);
  const response = await fetch('/admin/upload', {
    method: 'POST', credentials: 'same-origin', headers: {'X-CSRF-Token': csrf}, body: form,
  });
  return answer(response);
}

// Build an element; strings among the children become text nodes (never HTML).
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function safeUrl(url) {
  return typeof url === 'string' && /^(https?:\/\/|\/)/i.test(url) && !url.startsWith('//') ? url : null;
}

export function say(text, isError = false) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
  status.classList.add('shown');
  clearTimeout(say.timer);
  say.timer = setTimeout(() => status.classList.remove('shown'), 4000);
}

export function failed(error) {
  say(error instanceof ApiFailure ? `${error.message} (${error.code})` : String(error), true);
}

export function fullName(first, last) {
  return `${first || ''} ${last || ''}`.trim() || 'Unnamed';
}

// "YYYY-MM-DD HH:MM:SS" (UTC) as local time
export function when(value) {
  if (!value) return '';
  const date = new Date(value.replace(' ', 'T') + 'Z');
  if (Number.isNaN(date.getTime())) return value;
  const today = new Date();
  return date.toDateString() === today.toDateString()
    ? date.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'})
    : date.toLocaleDateString();
}

export function secondBefore(value) {
  const date = new Date(value.replace(' ', 'T') + 'Z');
  if (Number.isNaN(date.getTime())) return value;
  return new Date(date.getTime() - 1000).toISOString().slice(0, 19).replace('T', ' ');
}

export const SOURCES = {em: 'Email', tk: 'Ticket', wa: 'WhatsApp', fb: 'Messenger', ig: 'Instagram',
  tw: 'Twitter', wc: 'WeChat', tx: 'SMS', gb: 'Google Business', tg: 'Telegram', ln: 'LINE',
  vb: 'Viber'};

export function sourceName(source) {
  return SOURCES[source] || 'Chat';
}
