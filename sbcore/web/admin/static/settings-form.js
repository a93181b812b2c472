// The settings form, built from the settings registry (get-settings-registry): each
// type its control, the plugins' settings grouped under their plugin.
import {call, el, failed, say} from './api.js';

function control(setting) {
  const id = `setting-${setting.id}`;
  const value = setting.value;
  switch (setting.type) {
    case 'checkbox':
      return el('input', {id, type: 'checkbox', checked: !!value});
    case 'number':
      return el('input', {id, type: 'number', step: 'any', value: value == null ? '' : String(value)});
    case 'color':
      return el('input', {id, type: 'text', value: value || '', pattern: '#?[0-9a-fA-F]{3,8}|[a-z]+|rgba?\\(.*\\)'});
    case 'password':
      return el('input', {id, type: 'password', autocomplete: 'off', value: value || ''});
    case 'textarea':
      return el('textarea', {id, rows: 3, text: value || ''});
    case 'multi-input':
      if (value && typeof value === 'object' && !Array.isArray(value)) return multiInput(id, value);
      return el('textarea', {id, rows: 4, class: 'code', dataset: {json: '1'}, text: JSON.stringify(value, null, 2)});
    case 'repeater': case 'json':
      return el('textarea', {id, rows: 4, class: 'code', dataset: {json: '1'}, text: JSON.stringify(value, null, 2)});
    default:
      return el('input', {id, type: 'text', value: value == null ? '' : String(value)});
  }
}

const SECRET = /(key|secret|token|password)/i;

// a multi-input setting: one control per key, by the type of its value
function multiInput(id, value) {
  const group = el('fieldset', {id, class: 'multi', dataset: {multi: '1'}},
    el('legend', {class: 'visually-hidden', text: id.replace(/^setting-/, '')}));
  for (const [key, item] of Object.entries(value)) {
    const attributes = {dataset: {key, kind: typeof item}};
    const input = typeof item === 'boolean' ? el('input', {...attributes, type: 'checkbox', checked: item})
      : typeof item === 'number' ? el('input', {...attributes, type: 'number', step: 'any', value: String(item)})
        : el('input', {...attributes, type: SECRET.test(key) ? 'password' : 'text', autocomplete: 'off',
          value: item == null ? '' : (typeof item === 'object' ? JSON.stringify(item) : String(item))});
    if (item !== null && typeof item === 'object') input.dataset.kind = 'json';
    group.append(el('label', {class: 'field'}, el('span', {text: key}), input));
  }
  return group;
}

function read(setting, input) {
  if (input.dataset.multi) {
    return Object.fromEntries([...input.querySelectorAll('input[data-key]')].map((item) => [item.dataset.key,
      item.dataset.kind === 'boolean' ? item.checked : item.dataset.kind === 'number' ? Number(item.value)
        : item.dataset.kind === 'json' ? JSON.parse(item.value || 'null') : item.value]));
  }
  if (setting.type === 'checkbox') return input.checked;
  if (setting.type === 'number') return Number(input.value);
  if (input.dataset.json) return JSON.parse(input.value);
  return input.value;
}

export async function show(root) {
  const settings = await call('get-settings-registry');
  const groups = new Map();
  for (const setting of settings) {
    const group = setting.owner.startsWith('sbcore') ? 'sbcore' : setting.owner;
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(setting);
  }
  const inputs = new Map();
  const nav = el('nav', {class: 'settings-nav', 'aria-label': 'Setting groups'});
  const form = el('form', {class: 'settings', 'aria-label': 'Settings'});
  for (const [group, list] of groups) {
    nav.append(el('a', {href: `#group-${group}`, text: group === 'sbcore' ? 'Core' : `Plugin: ${group}`}));
    form.append(el('fieldset', {id: `group-${group}`},
      el('legend', {text: group === 'sbcore' ? 'Core' : `Plugin: ${group}`}),
      list.map((setting) => {
        const input = control(setting);
        inputs.set(setting.id, [setting, input]);
        return el('div', {class: 'setting'},
          el(input.dataset.multi ? 'span' : 'label', input.dataset.multi ? {} : {for: input.id},
            el('code', {text: setting.id}), ` (${setting.type})`),
          input, setting.description ? el('p', {class: 'muted', text: setting.description}) : null);
      })));
  }
  const save = el('button', {type: 'submit', class: 'sticky-save', text: 'Save the settings'});
  form.append(save);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const changed = {};
    try {
      for (const [id, [setting, input]] of inputs) {
        const value = read(setting, input);
        if (JSON.stringify(value) !== JSON.stringify(setting.value)) changed[id] = value;
      }
    } catch (error) {
      say(`A JSON value is not valid: ${error.message}`, true);
      return;
    }
    if (!Object.keys(changed).length) { say('Nothing changed.'); return; }
    try {
      await call('save-settings', {settings: changed});
      for (const id of Object.keys(changed)) inputs.get(id)[0].value = changed[id];
      say(`Saved ${Object.keys(changed).length} setting(s).`);
    } catch (error) { failed(error); }
  });
  root.replaceChildren(el('h1', {text: 'Settings'}), nav, form);
}
