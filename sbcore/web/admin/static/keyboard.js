// Shortcuts: j / Alt+↓ next conversation, k / Alt+↑ previous, r the reply box, / search,
// ? the list of shortcuts. Letters only act outside text fields.
import * as conversation from './conversation.js';
import * as inbox from './inbox.js';

function typing(target) {
  return target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

export function init() {
  const dialog = document.getElementById('shortcuts');
  document.getElementById('shortcuts-button').addEventListener('click', () => dialog.showModal());
  document.addEventListener('keydown', (event) => {
    if (document.getElementById('view-inbox').hidden || dialog.open) return;
    if (event.altKey && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      inbox.step(event.key === 'ArrowDown' ? 1 : -1);
      return;
    }
    if (event.key === 'Escape' && typing(event.target)) {
      event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const actions = {
      j: () => inbox.step(1),
      k: () => inbox.step(-1),
      r: () => conversation.focusReply(),
      '/': () => document.getElementById('search').focus(),
      '?': () => dialog.showModal(),
    };
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });
}
