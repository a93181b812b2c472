// The customer's panel: details, online or not (kept current by the event stream's
// presence), current URL, language, location and their other conversations.
import {call, el, failed, fullName, safeUrl, sourceName, when} from './api.js';
import * as events from './events.js';

let shownUserId = null;

function presence(online) {
  const node = document.getElementById('customer-online');
  if (node) node.textContent = online ? 'Online now' : 'Offline';
}

events.on('presence', (data) => {
  if (shownUserId !== null && String(data.user_id) === shownUserId) presence(data.online);
});

const LOCATION_SLUGS = ['location', 'city', 'country', 'timezone', 'ip'];

function row(label, value, link) {
  if (!value) return null;
  const url = link ? safeUrl(value) : null;
  return [el('dt', {text: label}),
    el('dd', {}, url ? el('a', {href: url, target: '_blank', rel: 'noopener noreferrer', text: value}) : value)];
}

export async function show(userId, conversationId) {
  const panel = document.getElementById('customer');
  panel.replaceChildren(el('p', {class: 'muted', text: 'Loading the customer…'}));
  shownUserId = String(userId);
  try {
    const [user, url, language, others, online] = await Promise.all([
      call('get-user', {user_id: Number(userId), extra: true}),
      call('current-url', {user_id: Number(userId)}),
      call('get-user-language', {user_id: Number(userId)}),
      call('get-user-conversations', {user_id: Number(userId), exclude_id: Number(conversationId)}),
      call('is-online', {user_id: Number(userId)}),
    ]);
    if (shownUserId !== String(userId)) return;  // another customer was opened meanwhile
    if (!user) { panel.replaceChildren(el('p', {class: 'muted', text: 'The customer was deleted.'})); return; }
    const details = Array.isArray(user.details) ? user.details : [];
    const detail = (slug) => (details.find((d) => d.slug === slug) || {}).value;
    const avatar = safeUrl(user.profile_image);
    const location = LOCATION_SLUGS.map(detail).filter(Boolean).join(', ');
    const shown = new Set(['current_url', 'language', 'browser_language', ...LOCATION_SLUGS]);
    panel.replaceChildren(
      el('h2', {class: 'visually-hidden', text: 'Customer'}),
      el('div', {class: 'customer-head'},
        avatar ? el('img', {src: avatar, alt: '', class: 'avatar large'}) : null,
        el('div', {},
          el('strong', {text: fullName(user.first_name, user.last_name)}),
          el('div', {class: 'muted', text: user.user_type}))),
      el('dl', {class: 'details'},
        [el('dt', {text: 'Status'}), el('dd', {id: 'customer-online', text: online ? 'Online now' : 'Offline'})],
        row('Email', user.email),
        row('Current URL', url || detail('current_url'), true),
        row('Language', language || detail('language') || detail('browser_language')),
        row('Location', location),
        row('Last seen', when(user.last_activity)),
        row('Customer since', when(user.creation_time)),
        details.filter((d) => !shown.has(d.slug)).map((d) => row(d.name || d.slug, d.value))),
      el('h3', {text: 'Other conversations'}),
      others.length
        ? el('ul', {class: 'others'}, others.map((other) => el('li', {},
          el('button', {type: 'button', class: 'link',
            onclick: () => document.dispatchEvent(new CustomEvent('sb:open', {detail: {id: other.conversation_id, row: other}}))},
          `${when(other.last_update_time)} · ${sourceName(other.source)} · ${(other.message || other.title || '').slice(0, 60)}`))))
        : el('p', {class: 'muted', text: 'None.'}));
  } catch (error) {
    failed(error);
  }
}
