// The admin pages: agents and admins, departments, saved replies, webhooks. Each is a
// form over the same functions the Web API serves (admins only).
import {call, el, failed, fullName, say, when} from './api.js';
import * as settingsForm from './settings-form.js';

const root = () => document.getElementById('view-admin');

function field(label, input) {
  return el('label', {class: 'field'}, el('span', {text: label}), input);
}

// --- agents and admins ---

async function agents() {
  const users = await call('get-users', {user_types: ['agent', 'admin']});
  const table = el('table', {class: 'grid'},
    el('thead', {}, el('tr', {}, ['Name', 'Email', 'Role', 'Last seen', ''].map((h) => el('th', {scope: 'col', text: h})))),
    el('tbody', {}, users.map((user) => el('tr', {},
      el('td', {text: fullName(user.first_name, user.last_name)}),
      el('td', {text: user.email || ''}),
      el('td', {text: user.user_type}),
      el('td', {text: when(user.last_activity)}),
      el('td', {class: 'row-actions'},
        el('button', {type: 'button', text: 'Edit', onclick: () => agentForm(user)}),
        el('button', {type: 'button', text: 'Reset password', onclick: () => resetPassword(user)}),
        el('button', {type: 'button', class: 'danger', text: 'Delete', onclick: () => deleteAgent(user)}))))));
  root().replaceChildren(el('h1', {text: 'Agents and admins'}),
    el('button', {type: 'button', text: 'Add an agent', onclick: () => agentForm(null)}),
    el('div', {id: 'agent-form'}), table);
}

function agentForm(user) {
  const first = el('input', {name: 'first_name', value: user ? user.first_name : '', required: true});
  const last = el('input', {name: 'last_name', value: user ? user.last_name : ''});
  const email = el('input', {name: 'email', type: 'email', value: user ? user.email || '' : '', required: true});
  const role = el('select', {name: 'user_type'}, el('option', {value: 'agent', text: 'agent'}), el('option', {value: 'admin', text: 'admin'}));
  role.value = user ? user.user_type : 'agent';
  const password = user ? null : el('input', {name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8});
  const form = el('form', {class: 'card', 'aria-label': user ? 'Edit agent' : 'Add an agent'},
    el('h2', {text: user ? `Edit ${fullName(user.first_name, user.last_name)}` : 'Add an agent'}),
    field('First name', first), field('Last name', last), field('Email', email), field('Role', role),
    password ? field('Password', password) : null,
    el('button', {type: 'submit', text: user ? 'Save' : 'Add'}));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = {first_name: first.value, last_name: last.value, email: email.value, user_type: role.value};
    try {
      if (user) await call('update-user', {user_id: Number(user.id), ...values});
      else await call('add-user', {...values, password: password.value});
      say(user ? 'Saved.' : 'Added.');
      agents();
    } catch (error) { failed(error); }
  });
  document.getElementById('agent-form').replaceChildren(form);
  first.focus();
}

function resetPassword(user) {
  const password = el('input', {type: 'password', autocomplete: 'new-password', required: true, minlength: 8});
  const form = el('form', {class: 'card', 'aria-label': 'Reset password'},
    el('h2', {text: `New password for ${fullName(user.first_name, user.last_name)}`}),
    field('New password', password), el('button', {type: 'submit', text: 'Set the password'}));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await call('update-user', {user_id: Number(user.id), password: password.value});
      say('Password changed; their sessions have ended.');
      agents();
    } catch (error) { failed(error); }
  });
  document.getElementById('agent-form').replaceChildren(form);
  password.focus();
}

async function deleteAgent(user) {
  if (!window.confirm(`Delete ${fullName(user.first_name, user.last_name)}?`)) return;
  try {
    await call('delete-user', {user_id: Number(user.id)});
    say('Deleted.');
    agents();
  } catch (error) { failed(error); }
}

// --- list settings: departments and saved replies ---

async function listSetting(title, id, columns, blank) {
  let rows = await call('get-setting', {setting: id});
  rows = Array.isArray(rows) ? rows : [];
  const body = el('tbody');
  const addRow = (values) => body.append(el('tr', {},
    columns.map(([key, label, type]) => el('td', {}, type === 'textarea'
      ? el('textarea', {'aria-label': label, dataset: {key}, rows: 2, text: values[key] == null ? '' : String(values[key])})
      : el('input', {'aria-label': label, dataset: {key}, type: type || 'text', value: values[key] == null ? '' : String(values[key])}))),
    el('td', {}, el('button', {type: 'button', class: 'danger', text: 'Remove', onclick: (event) => event.target.closest('tr').remove()}))));
  rows.forEach(addRow);
  const form = el('form', {'aria-label': title},
    el('table', {class: 'grid'}, el('thead', {}, el('tr', {}, columns.map(([, label]) => el('th', {scope: 'col', text: label})), el('th'))), body),
    el('button', {type: 'button', text: 'Add a row', onclick: () => addRow(blank(body.children.length))}),
    el('button', {type: 'submit', text: 'Save'}));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = [...body.children].map((tr) => Object.fromEntries(columns.map(([key, , type]) => {
      const input = tr.querySelector(`[data-key="${key}"]`);
      return [key, type === 'number' ? Number(input.value) : input.value];
    })));
    try {
      await call('save-settings', {settings: {[id]: value}});
      say('Saved.');
    } catch (error) { failed(error); }
  });
  root().replaceChildren(el('h1', {text: title}), form);
}

const departments = () => listSetting('Departments', 'departments',
  [['department-id', 'ID', 'number'], ['department-name', 'Name'], ['department-color', 'Colour'], ['department-image', 'Image URL']],
  (n) => ({'department-id': n + 1, 'department-name': '', 'department-color': '', 'department-image': ''}));
const savedReplies = () => listSetting('Saved replies', 'saved-replies',
  [['reply-name', 'Name'], ['reply-text', 'Text', 'textarea']], () => ({'reply-name': '', 'reply-text': ''}));

// --- webhooks ---

async function webhooks(status = '') {
  const setting = await call('get-setting', {setting: 'webhooks'}) || {};
  const active = el('input', {type: 'checkbox', checked: !!setting['webhooks-active']});
  const url = el('input', {type: 'url', value: setting['webhooks-url'] || ''});
  const key = el('input', {type: 'password', autocomplete: 'off', value: setting['webhooks-key'] || ''});
  const allowed = el('input', {value: setting['webhooks-allowed'] || ''});
  const form = el('form', {class: 'card', 'aria-label': 'Webhook settings'},
    field('Active', active), field('URL', url), field('Signing key', key), field('Events (comma-separated, empty for all)', allowed),
    el('button', {type: 'submit', text: 'Save'}),
    el('button', {type: 'button', text: 'Send a test delivery', onclick: async () => {
      try {
        const answer = await call('test-webhook');
        say(answer.delivered ? 'The receiver took the test delivery.' : `The test delivery failed: ${answer.error}`, !answer.delivered);
      } catch (error) { failed(error); }
    }}));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await call('save-settings', {settings: {webhooks: {'webhooks-active': active.checked,
        'webhooks-url': url.value, 'webhooks-key': key.value, 'webhooks-allowed': allowed.value}}});
      say('Saved.');
    } catch (error) { failed(error); }
  });
  const filter = el('select', {'aria-label': 'Show deliveries'},
    ['', 'pending', 'delivered', 'failed', 'skipped'].map((s) => el('option', {value: s, text: s || 'all'})));
  filter.value = status;
  filter.addEventListener('change', () => webhooks(filter.value));
  const events = await call('get-webhook-deliveries', {status});
  const log = el('table', {class: 'grid'},
    el('thead', {}, el('tr', {}, ['ID', 'Event', 'Status', 'Attempts', 'Created', 'Last error', ''].map((h) => el('th', {scope: 'col', text: h})))),
    el('tbody', {}, events.map((e) => el('tr', {},
      el('td', {text: e.id}), el('td', {text: e.event}), el('td', {text: e.status}), el('td', {text: e.attempts}),
      el('td', {text: when(e.created)}), el('td', {class: 'error-text', text: e.last_error}),
      el('td', {}, e.status === 'failed' || e.status === 'delivered'
        ? el('button', {type: 'button', text: 'Replay', onclick: async () => {
          try { await call('replay-webhook', {event_id: Number(e.id)}); say('Queued again.'); webhooks(status); } catch (error) { failed(error); }
        }}) : null)))));
  root().replaceChildren(el('h1', {text: 'Webhooks'}), form,
    el('h2', {text: 'Delivery log'}), field('Status', filter), log);
}

const PAGES = {agents, departments, 'saved-replies': savedReplies, webhooks, settings: () => settingsForm.show(root())};

export async function show(view) {
  root().replaceChildren(el('p', {class: 'muted', text: 'Loading…'}));
  try {
    await PAGES[view]();
    const heading = root().querySelector('h1');
    if (heading) { heading.tabIndex = -1; heading.focus(); }
  } catch (error) {
    root().replaceChildren(el('p', {class: 'error', text: error.code === 'forbidden' ? 'Admins only.' : error.message}));
    failed(error);
  }
}
