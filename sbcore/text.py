"""Chat text formatting: ``*bold*``, ``_italic_``, ``~strike~``, `` `code` ``, code
blocks and links. ``to_html`` escapes the text first, so a message can never inject
markup; ``clear`` strips the markers."""

import html
import re

CODE_BLOCK = re.compile(r"```\n?(.+?)\n?```", re.S)
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.I)
INLINE = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])"), "del"),
)


def _protect(text, pattern, render, store):
    def keep(match):
        store.append(render(match))
        return f"\x00{len(store) - 1}\x00"
    return pattern.sub(keep, text)


def _restore(text, store):
    return re.sub(r"\x00(\d+)\x00", lambda m: store[int(m.group(1))], text)


def _escape(text):
    return html.escape(text, quote=True)


def to_html(message):
    """Code and links are cut out of the raw text and escaped on their own; the rest is
    escaped, then the inline markers become tags."""
    text = (message or "").replace("\x00", "")
    store = []
    text = _protect(text, CODE_BLOCK, lambda m: f"<pre><code>{_escape(m.group(1))}</code></pre>", store)
    text = _protect(text, CODE, lambda m: f"<code>{_escape(m.group(1))}</code>", store)
    text = _protect(text, LINK, lambda m: f'<a href="{_escape(m.group(0))}" target="_blank" '
                                          f'rel="noopener noreferrer">{_escape(m.group(0))}</a>', store)
    text = _escape(text)
    for pattern, tag in INLINE:
        text = pattern.sub(lambda m, tag=tag: f"<{tag}>{m.group(1)}</{tag}>", text)
    return _restore(text, store).replace("\n", "<br>")


def clear(message):
    text = (message or "").replace("\x00", "")
    store = []
    text = _protect(text, CODE_BLOCK, lambda m: m.group(1), store)
    text = _protect(text, CODE, lambda m: m.group(1), store)
    text = _protect(text, LINK, lambda m: m.group(0), store)
    for pattern, _ in INLINE:
        text = pattern.sub(lambda m: m.group(1), text)
    return _restore(text, store)
