/* sbcore chat widget: one plain script, no build step, no outside requests.
 *
 *   <script src="https://your-sbcore/widget.js" async></script>
 *
 * It adds a launcher button and a chat panel (in a shadow root, so the page's CSS and the
 * widget's never meet) and talks to the visitor API of the sbcore it came from
 * (POST <base>/widget/api, POST <base>/widget/upload) with fetch, `credentials: "omit"`
 * and `Authorization: Bearer <login-cookie>`; the login cookie is kept in the page's
 * localStorage, never in a cookie. Message text is only ever put in the page as text
 * nodes; rich-message shortcodes become real controls built element by element.
 * The server prepends `window.SBCORE_CONFIG = {...};`; without it the base URL is where
 * this script was loaded from (…/widget.js or …/static/widget.js). A script tag with `data-sbcore-full` (the /chat page)
 * shows the panel alone, filling the window.
 * New messages and typing arrive over GET <events_url>/widget/events (Server-Sent Events read
 * with fetch, the login cookie in the Authorization header, resumed with Last-Event-ID);
 * while that stream is up polling only runs as a slow safety net, and when it fails
 * polling takes over at once and the stream is tried again with backoff. */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[src$="/widget.js"], script[src*="/widget.js?"]');
  if (window.__sbcoreWidget) return;  // loaded twice: the first one stays
  window.__sbcoreWidget = true;

  var CONFIG = (window.SBCORE_CONFIG && typeof window.SBCORE_CONFIG === "object") ? window.SBCORE_CONFIG : {};
  // without the server's config line (the file as /static/widget.js or a copy of it),
  // sbcore is where the script came from
  var BASE = String(CONFIG.url || (script && script.src ? script.src.replace(/\/(?:static\/)?widget\.js(?:[?#].*)?$/, "") : location.origin)).replace(/\/+$/, "");
  var FULL = !!(script && script.hasAttribute("data-sbcore-full")) || CONFIG.full === true;
  var POLL_MS = Math.max(500, Number(CONFIG.poll_ms) || 1500);
  // the event streams' base URL (the server's SB_EVENTS_URL); without it the widget polls
  var EVENTS_URL = typeof CONFIG.events_url === "string" && /^https?:\/\//.test(CONFIG.events_url)
    ? CONFIG.events_url.replace(/\/+$/, "") : null;
  var TYPING_EVERY_MS = 2000;
  var STREAM_SAFETY_MS = 60000;   // the poll while the event stream is up (a safety net)
  var STREAM_RETRY_MAX_MS = 30000;
  var KEY = "sbcore:" + BASE + ":";
  var SVG_NS = "http://www.w3.org/2000/svg";

  // ---------------------------------------------------------------- storage
  var memory = {};
  var store = {
    get: function (name) {
      try { return window.localStorage.getItem(KEY + name); } catch (e) { return memory[name] || null; }
    },
    set: function (name, value) {
      try {
        if (value === null || value === undefined) window.localStorage.removeItem(KEY + name);
        else window.localStorage.setItem(KEY + name, String(value));
      } catch (e) {
        if (value === null || value === undefined) delete memory[name]; else memory[name] = String(value);
      }
    }
  };

  // ---------------------------------------------------------------- state
  var state = {
    cookie: store.get("login-cookie"),
    user: null,
    conversationId: store.get("conversation") ? Number(store.get("conversation")) : null,
    lastId: 0,
    seen: {},
    open: false,
    unread: 0,
    pending: [],        // uploaded attachments waiting for send: [name, url]
    uploading: 0,
    lastTypingSent: 0,
    pollTimer: null,
    polling: false,
    language: "en",
    strings: {},
    view: "chat",
    sessionPromise: null
  };

  function t(text) {
    var value = state.strings[text];
    return typeof value === "string" && value ? value : text;
  }

  // ---------------------------------------------------------------- API
  function ApiFailure(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message || code;
  }

  // `cookie`: the login cookie this request carries (the current one when not given); a
  // failure remembers it, so that a 401 ends only the session that was refused.
  function post(path, body, isForm, cookie) {
    var headers = {};
    if (cookie === undefined) cookie = state.cookie;
    if (!isForm) headers["Content-Type"] = "application/json";
    if (cookie) headers.Authorization = "Bearer " + cookie;
    return fetch(BASE + path, {
      method: "POST", mode: "cors", credentials: "omit", cache: "no-store",
      headers: headers, body: isForm ? body : JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!answer || answer.success !== true) {
          var failure = new ApiFailure(response.status, answer && answer.response, answer && answer.message);
          failure.cookie = cookie;
          throw failure;
        }
        return answer.response;
      }, function () {
        throw new ApiFailure(response.status, "bad-answer", "HTTP " + response.status);
      });
    }, function (error) {
      throw new ApiFailure(0, "network-error", String(error && error.message || error));
    });
  }

  function forgetSession() {
    stopStream();
    state.cookie = null;
    state.user = null;
    store.set("login-cookie", null);
    setConversation(null);
  }

  function ensureSession() {
    if (state.cookie) return Promise.resolve();
    if (!state.sessionPromise) {
      state.sessionPromise = post("/widget/api", { "function": "register" }).then(function (answer) {
        state.cookie = answer["login-cookie"];
        state.user = answer.user || null;
        store.set("login-cookie", state.cookie);
      }).then(function () { state.sessionPromise = null; }, function (error) {
        state.sessionPromise = null;
        throw error;
      });
    }
    return state.sessionPromise;
  }

  // Functions the server answers without a login: reading them creates no visitor.
  var PUBLIC = { "get-translation": 1, "get-articles": 1, "search-articles": 1 };

  // A 401 ends the session the refused request carried, and only that one: a poll or a
  // typing call still in flight with an old cookie must not throw away the session that
  // replaced it.
  function refused(error) {
    if (!(error instanceof ApiFailure) || error.status !== 401 || !error.cookie) return false;
    if (state.cookie === error.cookie) forgetSession();
    return true;
  }

  // A call of the visitor API. The first call that needs a visitor registers one; a
  // call refused for an expired or logged-out login cookie is tried once more with the
  // current session (a new visitor when the refused session was the current one).
  function api(name, args) {
    var body = { "function": name };
    for (var key in args || {}) if (Object.prototype.hasOwnProperty.call(args, key)) body[key] = args[key];
    return (PUBLIC[name] ? Promise.resolve() : ensureSession()).then(function () {
      return post("/widget/api", body, false, state.cookie);
    }).catch(function (error) {
      if (refused(error)) {
        return ensureSession().then(function () { return post("/widget/api", body, false, state.cookie); });
      }
      throw error;
    });
  }

  function upload(file) {
    return ensureSession().then(function () {
      var form = new FormData();
      form.append("file", file, file.name);
      return post("/widget/upload", form, true);
    });
  }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key) || attrs[key] === null || attrs[key] === undefined || attrs[key] === false) continue;
      if (key === "text") node.textContent = attrs[key];
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), attrs[key]);
      else node.setAttribute(key, attrs[key] === true ? "" : String(attrs[key]));
    }
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function icon(paths) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    paths.forEach(function (d) {
      var path = document.createElementNS(SVG_NS, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  var ICONS = {
    chat: ["M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"],
    close: ["M6 6l12 12M18 6L6 18"],
    send: ["M3 20l18-8L3 4v6l12 2-12 2z"],
    attach: ["M16 7l-7.5 7.5a2 2 0 0 0 2.8 2.8L19 9.6a4 4 0 0 0-5.7-5.7L5.6 11.6a6 6 0 0 0 8.5 8.5L20 14"],
    help: ["M12 22a10 10 0 1 1 0-20 10 10 0 0 1 0 20z", "M9.5 9a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6V14", "M12 17.5v.5"],
    list: ["M4 6h16M4 12h16M4 18h16"],
    plus: ["M12 5v14M5 12h14"],
    done: ["M5 12l5 5L20 7"],
    up: ["M7 10v11H3V10z", "M7 10l4-8a3 3 0 0 1 3 3v4h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H7"],
    down: ["M7 14V3H3v11z", "M7 14l4 8a3 3 0 0 0 3-3v-4h6a2 2 0 0 0 2-2.3l-1.4-8A2 2 0 0 0 18.6 3H7"]
  };

  function safeUrl(value) {
    try {
      var url = new URL(String(value), BASE + "/");
      return (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function parseJson(value, fallback) {
    if (value && typeof value === "object") return value;
    if (typeof value !== "string" || !value) return fallback;
    try { return JSON.parse(value); } catch (e) { return fallback; }
  }

  // "YYYY-MM-DD HH:MM:SS" in UTC, shown as the visitor's local time.
  function formatTime(value) {
    var match = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d))?/.exec(String(value || ""));
    if (!match) return "";
    var date = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3], +match[4], +match[5], +(match[6] || 0)));
    try {
      return date.toLocaleTimeString(state.language, { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return match[4] + ":" + match[5];
    }
  }

  // Text with its links made clickable, built from text nodes only.
  var LINK = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  function appendText(parent, text) {
    var last = 0, match;
    LINK.lastIndex = 0;
    while ((match = LINK.exec(text))) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var href = safeUrl(match[0]);
      parent.appendChild(href ? el("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: match[0] })
        : document.createTextNode(match[0]));
      last = match.index + match[0].length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---------------------------------------------------------------- rich messages
  var RICH = /\[(buttons|chips|select|email|inputs|registration|rating)((?:\s+[\w-]+\s*=\s*"[^"]*")*)\s*\]/g;
  var ATTR = /([\w-]+)\s*=\s*"([^"]*)"/g;

  function parseShortcodes(text) {
    var parts = [], last = 0, match;
    RICH.lastIndex = 0;
    while ((match = RICH.exec(text))) {
      if (match.index > last) parts.push({ text: text.slice(last, match.index) });
      var attrs = {}, attr;
      ATTR.lastIndex = 0;
      while ((attr = ATTR.exec(match[2]))) attrs[attr[1].toLowerCase()] = attr[2];
      parts.push({ rich: match[1], attrs: attrs });
      last = match.index + match[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return parts;
  }

  // "A,B\,C" -> ["A", "B,C"] (a comma inside an option is written \,)
  function splitOptions(value) {
    var items = [], current = "", text = String(value || "");
    for (var i = 0; i < text.length; i++) {
      if (text[i] === "\\" && text[i + 1] === ",") { current += ","; i++; }
      else if (text[i] === ",") { items.push(current); current = ""; }
      else current += text[i];
    }
    items.push(current);
    return items.map(function (item) { return item.trim(); }).filter(Boolean);
  }

  function slug(text) {
    return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "value";
  }

  function truthy(value) {
    return value === "true" || value === "1" || value === "yes";
  }

  // Marks the buttons of `box` busy while a call runs; answers true when they already
  // were. aria-disabled rather than disabled: disabling the focused button would drop
  // the keyboard focus out of the panel.
  function busy(box, on) {
    if (on && box.getAttribute("aria-busy") === "true") return true;
    box.setAttribute("aria-busy", on ? "true" : "false");
    Array.prototype.forEach.call(box.querySelectorAll("button"), function (button) {
      if (on) button.setAttribute("aria-disabled", "true"); else button.removeAttribute("aria-disabled");
    });
    return false;
  }

  function richDone(box, attrs, summary, success) {
    var hadFocus = box.contains(shadow.activeElement);
    while (box.firstChild) box.removeChild(box.firstChild);
    box.classList.add("sb-done");
    if (attrs.title) box.appendChild(el("p", { "class": "sb-rich-title", text: attrs.title }));
    success = attrs.success || success;
    if (success) box.appendChild(el("p", { "class": "sb-success", role: "status", tabindex: "-1", text: success }));
    if (summary) box.appendChild(el("p", { "class": "sb-summary", tabindex: "-1", text: summary }));
    // the control that had the focus is gone: keep the focus in the panel, on the answer
    var answer = box.querySelector(".sb-success, .sb-summary");
    if (hadFocus && answer) answer.focus();
  }

  function richFailed(box, error) {
    var line = box.querySelector(".sb-form-error");
    if (line) line.textContent = error;
  }

  function submitRich(message, type, attrs, values) {
    return api("rich-message", {
      conversation_id: Number(message.conversation_id || state.conversationId),
      message_id: Number(message.id), type: type, id: attrs.id || "", values: values
    });
  }

  function field(label, type, name, required, autocomplete) {
    var id = "sb-f-" + Math.random().toString(36).slice(2);
    return el("div", { "class": "sb-field" }, [
      el("label", { "for": id, text: label }),
      el("input", { id: id, type: type, name: name, required: required || null, autocomplete: autocomplete || null })
    ]);
  }

  function formBox(message, kind, attrs, fields, submitLabel, onSubmit) {
    var box = el("form", { "class": "sb-rich sb-rich-" + kind, novalidate: true });
    if (attrs.title) box.appendChild(el("p", { "class": "sb-rich-title", text: attrs.title }));
    if (attrs.message) box.appendChild(el("p", { "class": "sb-rich-message", text: attrs.message }));
    fields.forEach(function (item) { box.appendChild(item); });
    box.appendChild(el("p", { "class": "sb-form-error", role: "alert" }));
    box.appendChild(el("button", { type: "submit", "class": "sb-btn", text: submitLabel }));
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      richFailed(box, "");
      var inputs = Array.prototype.slice.call(box.querySelectorAll("input, select"));
      var missing = inputs.some(function (input) { return input.required && !input.value.trim(); });
      if (missing) return richFailed(box, t("All fields are required."));
      var email = box.querySelector('input[type="email"]');
      if (email && email.value && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.value.trim())) {
        return richFailed(box, t("Invalid email address."));
      }
      if (busy(box, true)) return;
      Promise.resolve(onSubmit(box)).then(function (summary) {
        richDone(box, attrs, summary, t("Thank you! We will get back to you soon."));
      }, function (error) {
        busy(box, false);
        richFailed(box, typeof error === "string" ? error : errorText(error));
      });
    });
    return box;
  }

  function values(box) {
    var result = {};
    Array.prototype.forEach.call(box.querySelectorAll("input, select"), function (input) {
      if (input.type === "password") return;
      var label = box.querySelector('label[for="' + input.id + '"]');
      result[input.name] = [input.value.trim(), label ? label.textContent : input.name];
    });
    return result;
  }

  // The server keeps each answer in the message's payload under "rich-messages",
  // by the shortcode's id (or its type): an answered form shows as answered.
  function richAnswer(message, key) {
    var payload = parseJson(message.payload, {});
    var answers = payload && payload["rich-messages"];
    var answer = answers && typeof answers === "object" ? answers[key] : null;
    return answer && typeof answer === "object" && answer.result && typeof answer.result === "object" ? answer : null;
  }

  function summaryOf(kind, result) {
    if (kind === "rating") return result.rating && String(result.rating[0]) === "1" ? t("Positive") : t("Negative");
    return Object.keys(result).map(function (name) {
      return Array.isArray(result[name]) ? String(result[name][0]) : String(result[name]);
    }).filter(Boolean).join(", ");
  }

  function renderRich(message, part) {
    var kind = part.rich, attrs = part.attrs;
    var answered = richAnswer(message, attrs.id || kind);
    if (answered) {
      var done = el("div", { "class": "sb-rich sb-rich-" + kind });
      richDone(done, attrs, summaryOf(kind, answered.result));
      return done;
    }
    var head = [];
    if (attrs.title) head.push(el("p", { "class": "sb-rich-title", text: attrs.title }));
    if (attrs.message) head.push(el("p", { "class": "sb-rich-message", text: attrs.message }));

    if (kind === "buttons" || kind === "chips") {
      var group = el("div", { "class": "sb-rich sb-rich-buttons", role: "group", "aria-label": attrs.title || t("Select an option") }, head);
      var row = el("div", { "class": "sb-options" });
      splitOptions(attrs.options).forEach(function (option) {
        row.appendChild(el("button", { type: "button", "class": "sb-option", text: option, onclick: function () {
          if (busy(row, true)) return;
          submitRich(message, kind, attrs, { option: [option, attrs.title || ""] }).then(function () {
            richDone(group, attrs, option);
          }, function (error) {
            busy(row, false);
            showError(errorText(error));
          });
        } }));
      });
      group.appendChild(row);
      return group;
    }

    if (kind === "select") {
      var selectId = "sb-f-" + Math.random().toString(36).slice(2);
      var select = el("select", { id: selectId, name: "option", required: true },
        [el("option", { value: "", text: t("Select an option") })].concat(splitOptions(attrs.options).map(function (option) {
          return el("option", { value: option, text: option });
        })));
      var wrap = el("div", { "class": "sb-field" }, [
        el("label", { "for": selectId, text: attrs.title || t("Select an option") }), select]);
      return formBox(message, "select", attrs, [wrap], t("Submit"), function (box) {
        var choice = select.value;
        return submitRich(message, "select", attrs, { option: [choice, attrs.title || ""] }).then(function () { return choice; });
      });
    }

    if (kind === "inputs") {
      var inputs = splitOptions(attrs.values).map(function (label) { return field(label, "text", slug(label), true); });
      return formBox(message, "inputs", attrs, inputs, attrs.button || t("Send"), function (box) {
        var given = values(box);
        return submitRich(message, "inputs", attrs, given).then(function () { return summaryOf("inputs", given); });
      });
    }

    if (kind === "email") {
      var list = [];
      if (truthy(attrs.name)) list.push(field(t("First name"), "text", "first_name", true, "given-name"));
      if (truthy(attrs["last-name"])) list.push(field(t("Last name"), "text", "last_name", true, "family-name"));
      if (truthy(attrs.phone)) list.push(field(t("Phone"), "tel", "phone", truthy(attrs["phone-required"]), "tel"));
      var emailField = field(attrs.placeholder || t("Your email"), "email", "email", true, "email");
      list.push(emailField);
      return formBox(message, "email", attrs, list, t("Subscribe"), function (box) {
        var given = values(box);
        var address = given.email[0];
        return api("subscribe", { email: address, conversation_id: Number(message.conversation_id || state.conversationId) }).then(function () {
          return submitRich(message, "email", attrs, given);
        }).then(function () { return address; });
      });
    }

    if (kind === "registration") {
      var fields = [
        field(t("First name"), "text", "first_name", true, "given-name"),
        field(t("Last name"), "text", "last_name", true, "family-name"),
        field(t("Email"), "email", "email", true, "email"),
        field(t("Password"), "password", "password", true, "new-password"),
        field(t("Repeat password"), "password", "password-check", true, "new-password")
      ];
      return formBox(message, "registration", attrs, fields, t("Register"), function (box) {
        var password = box.querySelector('input[name="password"]').value;
        if (password.length < 8) return Promise.reject(t("The password must be at least 8 characters long."));
        if (password !== box.querySelector('input[name="password-check"]').value) return Promise.reject(t("The passwords do not match."));
        var given = values(box);
        return api("update-user", {
          first_name: given.first_name[0], last_name: given.last_name[0], email: given.email[0], password: password
        }).then(function () {
          return submitRich(message, "registration", attrs, given);
        }).then(function () { return given.email[0]; });
      });
    }

    // rating
    var rating = el("div", { "class": "sb-rich sb-rich-rating", role: "group", "aria-label": attrs.title || t("Rate your experience") }, head);
    if (!attrs.title) rating.insertBefore(el("p", { "class": "sb-rich-title", text: t("Rate your experience") }), rating.firstChild);
    rating.appendChild(ratingButtons(message, attrs, function (value) {
      richDone(rating, { success: attrs.success || t("Thank you for your feedback!") }, value ? t("Positive") : t("Negative"));
    }));
    return rating;
  }

  // Positive / negative; with a [rating] message (and its attributes) the answer is a
  // rich-message, which also rates the conversation; without one, set-rating.
  function ratingButtons(message, attrs, done) {
    var row = el("div", { "class": "sb-options" });
    [[1, t("Positive"), ICONS.up], [0, t("Negative"), ICONS.down]].forEach(function (choice) {
      row.appendChild(el("button", { type: "button", "class": "sb-option", "aria-label": choice[1], "data-rating": choice[0], onclick: function () {
        if (busy(row, true)) return;
        var call = message
          ? submitRich(message, "rating", attrs, { rating: [String(choice[0]), choice[1]] })
          : api("set-rating", { conversation_id: state.conversationId, rating: choice[0] });
        call.then(function () { done(choice[0]); }, function (error) {
          busy(row, false);
          showError(errorText(error));
        });
      } }, [icon(choice[2]), " " + choice[1]]));
    });
    return row;
  }

  // ---------------------------------------------------------------- styles
  var CSS = [
    ":host{all:initial}",
    "*,*::before,*::after{box-sizing:border-box}",
    ".sb-root{--c1:#028be5;--c2:#02659f;--c3:#f5f7fa;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2329;-webkit-font-smoothing:antialiased}",
    ".sb-root [hidden]{display:none!important}",
    ".sb-sr{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}",
    "button,input,select,textarea{font:inherit;color:inherit;margin:0}",
    "form,p,h2,h3,ul{margin:0}",  /* a quirks-mode page gives forms a bottom margin */
    "button{cursor:pointer}",
    "svg{width:20px;height:20px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}",
    ":focus-visible{outline:3px solid var(--c2);outline-offset:2px}",
    ".sb-launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;background:var(--c1);color:#fff;display:flex;align-items:center;justify-content:center;box-shadow:0 4px 16px rgba(0,0,0,.25)}",
    ".sb-launcher:hover{background:var(--c2)}",
    "@media (max-width:480px){.sb-open .sb-launcher{display:none}}",
    ".sb-launcher svg{width:26px;height:26px}",
    ".sb-badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#e5322d;color:#fff;font-size:12px;line-height:20px;text-align:center}",
    ".sb-panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:370px;max-width:calc(100vw - 24px);height:600px;max-height:calc(100vh - 108px);background:#fff;border-radius:12px;box-shadow:0 8px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".sb-full .sb-panel{inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0;box-shadow:none}",
    "@media (max-width:480px){.sb-panel{inset:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}}",
    ".sb-header{background:var(--c1);color:#fff;padding:12px 10px 12px 16px;display:flex;align-items:center;gap:4px}",
    ".sb-header h2{flex:1;margin:0;font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".sb-icon{background:transparent;border:0;color:inherit;width:34px;height:34px;border-radius:8px;display:inline-flex;align-items:center;justify-content:center;padding:0}",
    ".sb-icon:hover{background:rgba(255,255,255,.18)}",
    ".sb-view{flex:1;display:flex;flex-direction:column;min-height:0;background:var(--c3)}",
    ".sb-messages{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:8px}",
    ".sb-empty{margin:auto;text-align:center;color:#5b6470;padding:20px}",
    ".sb-msg{max-width:85%;align-self:flex-start;background:#fff;border-radius:12px;padding:8px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08);overflow-wrap:anywhere}",
    ".sb-msg.sb-own{align-self:flex-end;background:var(--c1);color:#fff}",
    ".sb-msg.sb-own a{color:#fff}",
    ".sb-author{display:block;font-size:12px;font-weight:600;color:#5b6470;margin-bottom:2px}",
    ".sb-text{white-space:pre-wrap}",
    ".sb-time{display:block;font-size:11px;opacity:.7;margin-top:2px;text-align:right}",
    ".sb-files{display:flex;flex-direction:column;gap:4px;margin-top:6px}",
    ".sb-files img{max-width:100%;max-height:200px;border-radius:8px;display:block}",
    "a{color:var(--c2)}",
    ".sb-typing{min-height:20px;padding:0 14px;font-size:12px;color:#5b6470;font-style:italic}",
    ".sb-rate{padding:10px 14px;background:#fff;border-top:1px solid #e3e7ec}",
    ".sb-rate p{margin:0 0 6px}",
    ".sb-pending{display:flex;flex-wrap:wrap;gap:6px;padding:0 10px}",
    ".sb-chip{display:inline-flex;align-items:center;gap:4px;background:#fff;border:1px solid #d5dbe2;border-radius:14px;padding:2px 4px 2px 10px;font-size:12px}",
    ".sb-chip button{border:0;background:transparent;width:22px;height:22px;padding:0;border-radius:50%}",
    ".sb-chip svg{width:14px;height:14px}",
    ".sb-composer{display:flex;align-items:flex-end;gap:6px;padding:10px;background:#fff;border-top:1px solid #e3e7ec}",
    ".sb-composer textarea{flex:1;resize:none;border:1px solid #d5dbe2;border-radius:8px;padding:8px 10px;min-height:38px;max-height:120px;background:#fff}",
    ".sb-composer textarea:focus{border-color:var(--c1);outline:none;box-shadow:0 0 0 2px var(--c3)}",
    ".sb-composer .sb-icon{color:#5b6470}",
    ".sb-composer .sb-send{background:var(--c1);color:#fff}",
    ".sb-composer .sb-send:hover{background:var(--c2)}",
    ".sb-error{color:#b3261e;font-size:12px;padding:0 12px;min-height:0}",
    ".sb-error:not(:empty){padding:6px 12px;background:#fff}",
    ".sb-rich{margin-top:6px;display:flex;flex-direction:column;gap:6px;color:#1f2329}",
    ".sb-rich-title{margin:0;font-weight:600}",
    ".sb-rich-message,.sb-success,.sb-summary{margin:0}",
    ".sb-summary{font-style:italic}",
    ".sb-options{display:flex;flex-wrap:wrap;gap:6px}",
    ".sb-option{border:1px solid var(--c1);color:var(--c2);background:#fff;border-radius:16px;padding:5px 12px;display:inline-flex;align-items:center;gap:4px}",
    ".sb-option svg{width:16px;height:16px}",
    ".sb-option:hover:not([aria-disabled=true]){background:var(--c1);color:#fff}",
    "button[aria-disabled=true]{opacity:.6;cursor:default}",
    ".sb-field{display:flex;flex-direction:column;gap:2px}",
    ".sb-field label{font-size:12px;color:#5b6470}",
    ".sb-field input,.sb-field select,.sb-search{border:1px solid #d5dbe2;border-radius:6px;padding:6px 8px;background:#fff;width:100%}",
    ".sb-form-error{margin:0;color:#b3261e;font-size:12px}",
    ".sb-form-error:empty{display:none}",
    ".sb-btn{align-self:flex-start;background:var(--c1);color:#fff;border:0;border-radius:6px;padding:6px 14px}",
    ".sb-btn:hover:not([aria-disabled=true]){background:var(--c2)}",
    ".sb-link{background:none;border:0;padding:0;color:var(--c2);text-decoration:underline}",
    ".sb-pane{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px}",
    ".sb-list{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:6px}",
    ".sb-list button{width:100%;text-align:left;background:#fff;border:1px solid #e3e7ec;border-radius:8px;padding:10px 12px;display:flex;flex-direction:column;gap:2px}",
    ".sb-list button:hover{border-color:var(--c1)}",
    ".sb-list small{color:#5b6470;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;max-width:100%}",
    ".sb-article h3{margin:0 0 8px;font-size:16px}",
    ".sb-article .sb-text{background:#fff;border-radius:8px;padding:10px 12px}"
  ].join("\n");

  // ---------------------------------------------------------------- the panel
  var host = el("div", { id: "sbcore-widget", "data-sbcore": "widget" });
  // set through the CSSOM (allowed under a page's Content-Security-Policy), !important
  // so that the page's own rules for div or #id cannot hide or move it
  [["all", "initial"], ["display", "block"], ["position", "static"]].forEach(function (pair) {
    host.style.setProperty(pair[0], pair[1], "important");
  });
  var shadow = host.attachShadow({ mode: "open" });
  try {  // a constructed style sheet is not an inline <style> a strict CSP would refuse
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    shadow.appendChild(el("style", { text: CSS }));
  }

  var ui = {};
  ui.root = el("div", { "class": "sb-root" + (FULL ? " sb-full" : ""), lang: "en" });
  applyColors(CONFIG.colors || {});
  ui.badge = el("span", { "class": "sb-badge", "aria-hidden": "true", hidden: true });
  ui.launcher = el("button", { type: "button", "class": "sb-launcher", "aria-label": "Open chat",
    "aria-expanded": "false", "aria-controls": "sbcore-panel", "aria-haspopup": "dialog" }, [icon(ICONS.chat), ui.badge]);
  ui.title = el("h2", { id: "sbcore-title", text: CONFIG.title || "Chat with us" });
  ui.articlesButton = el("button", { type: "button", "class": "sb-icon", "data-action": "articles", "aria-label": "Help center" }, [icon(ICONS.help)]);
  ui.listButton = el("button", { type: "button", "class": "sb-icon", "data-action": "conversations", "aria-label": "Conversations" }, [icon(ICONS.list)]);
  ui.newButton = el("button", { type: "button", "class": "sb-icon", "data-action": "new", "aria-label": "New conversation" }, [icon(ICONS.plus)]);
  ui.endButton = el("button", { type: "button", "class": "sb-icon", "data-action": "end", "aria-label": "Close conversation", hidden: true }, [icon(ICONS.done)]);
  ui.closeButton = el("button", { type: "button", "class": "sb-icon", "data-action": "close", "aria-label": "Minimize chat", hidden: FULL }, [icon(ICONS.close)]);
  var header = el("div", { "class": "sb-header" }, [ui.title, ui.articlesButton, ui.listButton, ui.newButton, ui.endButton, ui.closeButton]);

  // chat view
  ui.messages = el("div", { "class": "sb-messages", role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-label": "Messages", tabindex: "0" });
  ui.empty = el("p", { "class": "sb-empty", text: "Welcome! How can we help you?" });
  ui.messages.appendChild(ui.empty);
  ui.typing = el("div", { "class": "sb-typing", "aria-live": "polite" });
  ui.rateText = el("p", { text: "Rate your experience" });
  ui.rate = el("div", { "class": "sb-rate", role: "group", "aria-label": "Rate your experience", hidden: true }, [ui.rateText]);
  ui.pending = el("div", { "class": "sb-pending", "aria-live": "polite" });
  ui.inputLabel = el("label", { "for": "sbcore-input", "class": "sb-sr", text: "Write a message..." });
  ui.input = el("textarea", { id: "sbcore-input", rows: "1", placeholder: "Write a message...", autocomplete: "off" });
  ui.file = el("input", { type: "file", multiple: true, hidden: true, tabindex: "-1", "aria-hidden": "true" });
  ui.attach = el("button", { type: "button", "class": "sb-icon sb-attach", "aria-label": "Attach a file" }, [icon(ICONS.attach)]);
  ui.send = el("button", { type: "submit", "class": "sb-icon sb-send", "aria-label": "Send" }, [icon(ICONS.send)]);
  ui.composer = el("form", { "class": "sb-composer" }, [ui.inputLabel, ui.input, ui.file, ui.attach, ui.send]);
  ui.error = el("div", { "class": "sb-error", role: "alert" });
  ui.chat = el("div", { "class": "sb-view sb-chat" }, [ui.messages, ui.typing, ui.rate, ui.pending, ui.error, ui.composer]);

  // help center view
  ui.searchLabel = el("label", { "for": "sbcore-search", "class": "sb-sr", text: "Search for articles..." });
  ui.search = el("input", { id: "sbcore-search", type: "search", "class": "sb-search", placeholder: "Search for articles...", autocomplete: "off" });
  ui.articleList = el("ul", { "class": "sb-list", "aria-live": "polite" });
  ui.article = el("div", { "class": "sb-article", hidden: true });
  ui.articles = el("div", { "class": "sb-view sb-articles", hidden: true }, [
    el("div", { "class": "sb-pane" }, [ui.searchLabel, ui.search, ui.articleList, ui.article])]);

  // conversations view
  ui.conversationList = el("ul", { "class": "sb-list" });
  ui.conversations = el("div", { "class": "sb-view sb-conversations", hidden: true }, [
    el("div", { "class": "sb-pane" }, [ui.conversationList])]);

  ui.panel = el("div", { id: "sbcore-panel", "class": "sb-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "sbcore-title", hidden: !FULL }, [header, ui.chat, ui.articles, ui.conversations]);
  ui.root.appendChild(ui.panel);
  if (!FULL) ui.root.appendChild(ui.launcher);
  shadow.appendChild(ui.root);

  function applyColors(colors) {
    [["color-1", "--c1"], ["color-2", "--c2"], ["color-3", "--c3"]].forEach(function (pair) {
      var value = colors[pair[0]];
      if (typeof value === "string" && window.CSS && CSS_SUPPORTS(value)) ui.root.style.setProperty(pair[1], value);
    });
  }
  function CSS_SUPPORTS(value) {
    try { return window.CSS.supports("color", value); } catch (e) { return false; }
  }

  // The visible strings, in the visitor's language once it is known.
  function applyStrings() {
    ui.root.setAttribute("lang", state.language);
    ui.launcher.setAttribute("aria-label", state.unread ? t("Open chat") + " (" + state.unread + ")" : t("Open chat"));
    ui.title.textContent = t(CONFIG.title || "Chat with us");
    [[ui.articlesButton, "Help center"], [ui.listButton, "Conversations"], [ui.newButton, "New conversation"],
      [ui.endButton, "Close conversation"], [ui.closeButton, "Minimize chat"], [ui.attach, "Attach a file"],
      [ui.send, "Send"]].forEach(function (pair) {
      pair[0].setAttribute("aria-label", t(pair[1]));
      pair[0].setAttribute("title", t(pair[1]));
    });
    ui.messages.setAttribute("aria-label", t("Message"));
    ui.empty.textContent = t("Welcome! How can we help you?");
    ui.rateText.textContent = t("Rate your experience");
    ui.rate.setAttribute("aria-label", t("Rate your experience"));
    ui.inputLabel.textContent = t("Write a message...");
    ui.input.setAttribute("placeholder", t("Write a message..."));
    ui.searchLabel.textContent = t("Search for articles...");
    ui.search.setAttribute("placeholder", t("Search for articles..."));
  }

  function loadStrings() {
    var wanted = [];
    (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""]).forEach(function (tag) {
      var code = String(tag || "").toLowerCase().split(/[-_]/)[0];
      if (code && wanted.indexOf(code) < 0) wanted.push(code);
    });
    if (CONFIG.language) wanted.push(String(CONFIG.language).toLowerCase());
    function next(index) {
      var code = wanted[index];
      if (!code || code === "en") { state.language = "en"; state.strings = {}; return Promise.resolve(); }
      return api("get-translation", { language_code: code }).then(function (catalog) {
        if (catalog && catalog.front && typeof catalog.front === "object") {
          state.language = code;
          state.strings = catalog.front;
          return;
        }
        return next(index + 1);
      }, function () { return next(index + 1); });
    }
    return next(0).then(applyStrings);
  }

  // ---------------------------------------------------------------- messages
  function errorText(error) {
    if (error instanceof ApiFailure && error.status === 0) return t("Something went wrong. Please try again.");
    if (error instanceof ApiFailure && error.code === "extension-not-allowed") return t("The file type is not allowed.");
    if (error instanceof ApiFailure && (error.status === 413 || error.code === "file-too-large")) return t("The file is too large.");
    if (error instanceof ApiFailure && error.code === "duplicate-email") return t("This email is already in use.");
    return t("Something went wrong. Please try again.");
  }

  function showError(text) {
    ui.error.textContent = text || "";
  }

  function isOwn(message) {
    return state.user && String(message.user_id) === String(state.user.id);
  }

  function renderMessage(message) {
    var id = String(message.id);
    if (state.seen[id]) return null;
    state.seen[id] = true;
    var own = isOwn(message);
    var node = el("div", { "class": "sb-msg" + (own ? " sb-own" : ""), "data-id": id, "data-user-type": message.user_type || "" });
    if (!own) {
      var name = [message.first_name, message.last_name].filter(Boolean).join(" ");
      node.appendChild(el("span", { "class": "sb-author", text: name || t(message.user_type === "bot" ? "Bot" : "Agent") }));
    }
    // the visitor's own text is never turned into controls; an agent's shortcodes are,
    // in their place between the pieces of text around them
    var parts = own ? [{ text: String(message.message || "") }] : parseShortcodes(String(message.message || ""));
    parts.forEach(function (part) {
      if (part.rich) { node.appendChild(renderRich(message, part)); return; }
      var piece = parts.length > 1 ? part.text.trim() : part.text;
      if (!piece && parts.length > 1) return;
      var text = el("div", { "class": "sb-text" });
      appendText(text, piece);
      node.appendChild(text);
    });
    var files = parseJson(message.attachments, []);
    if (Array.isArray(files) && files.length) {
      var list = el("div", { "class": "sb-files" });
      files.forEach(function (file) {
        if (!Array.isArray(file)) return;
        var href = safeUrl(file[1]);
        var name = String(file[0] || file[1] || "");
        if (!href) { list.appendChild(el("span", { text: name })); return; }
        var link = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" });
        if (/\.(png|jpe?g|gif|webp|bmp)$/i.test(new URL(href).pathname)) link.appendChild(el("img", { src: href, alt: name, loading: "lazy" }));
        else link.textContent = name;
        list.appendChild(link);
      });
      node.appendChild(list);
    }
    var time = formatTime(message.creation_time);
    if (time) node.appendChild(el("time", { "class": "sb-time", datetime: String(message.creation_time).replace(" ", "T") + "Z", text: time }));

    // in id order: a reply that was written before our own message goes before it
    var after = null, all = ui.messages.querySelectorAll(".sb-msg");
    var last = all.length ? all[all.length - 1] : null;
    if (last && Number(last.getAttribute("data-id")) > Number(id)) {  // rare: not the newest
      Array.prototype.some.call(all, function (other) {
        if (Number(other.getAttribute("data-id")) > Number(id)) { after = other; return true; }
        return false;
      });
    }
    ui.empty.hidden = true;
    ui.messages.insertBefore(node, after);
    return node;
  }

  function scrollDown() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  // Adds messages; the ones from others that arrive while the panel is closed are counted
  // on the launcher (not those of a conversation being loaded: they were there before).
  function receive(messages, loading) {
    var fresh = 0;
    (messages || []).forEach(function (message) {
      var id = Number(message.id);
      if (id > state.lastId) state.lastId = id;
      if (renderMessage(message) && !isOwn(message)) fresh += 1;
    });
    if (fresh) {
      ui.typing.textContent = "";
      if (!state.open && !loading) {
        state.unread += fresh;
        ui.badge.textContent = String(state.unread);
        ui.badge.hidden = false;
        applyStrings();
      }
      scrollDown();
    }
    return fresh;
  }

  function clearMessages() {
    Array.prototype.slice.call(ui.messages.querySelectorAll(".sb-msg")).forEach(function (node) { node.remove(); });
    state.seen = {};
    state.lastId = 0;
    ui.empty.hidden = false;
    ui.typing.textContent = "";
  }

  function setConversation(id) {
    state.conversationId = id ? Number(id) : null;
    store.set("conversation", state.conversationId);
    ui.endButton.hidden = !state.conversationId;
  }

  function loadConversation(id) {
    return api("get-conversation", { conversation_id: Number(id) }).then(function (answer) {
      if (!answer || !answer.details) { setConversation(null); clearMessages(); return; }
      clearMessages();
      setConversation(id);
      receive(answer.messages || [], true);
      scrollDown();
    }, function (error) {
      if (error instanceof ApiFailure && (error.status === 404 || error.status === 403)) { setConversation(null); clearMessages(); return; }
      throw error;
    });
  }

  // Opens the last conversation when there is one.
  function restore() {
    return api("get-user", {}).then(function (user) {
      if (user) state.user = user;
    }).then(function () {
      if (state.conversationId) return loadConversation(state.conversationId);
      return api("get-user-conversations", {}).then(function (list) {
        if (Array.isArray(list) && list.length) return loadConversation(list[0].conversation_id);
      });
    });
  }

  // ---------------------------------------------------------------- event stream
  var stream = { controller: null, up: false, failures: 0, retryTimer: null, lastEventId: null, typingTimer: null };

  function streamSupported() {
    return EVENTS_URL !== null && typeof window.fetch === "function" && typeof window.TextDecoder === "function" &&
      typeof window.AbortController === "function" && typeof window.ReadableStream === "function";
  }

  function setStreamUp(up) {
    stream.up = up;
    ui.root.setAttribute("data-stream", up ? "up" : "down");
  }

  function stopStream() {
    clearTimeout(stream.retryTimer);
    stream.retryTimer = null;
    if (stream.controller) stream.controller.abort();
    stream.controller = null;
    stream.lastEventId = null;
    setStreamUp(false);
  }

  function startStream() {
    if (stream.controller || stream.retryTimer || !state.cookie || !streamSupported()) return;
    var controller = new AbortController();
    var cookie = state.cookie;
    stream.controller = controller;
    var headers = { Authorization: "Bearer " + cookie };
    if (stream.lastEventId !== null) headers["Last-Event-ID"] = String(stream.lastEventId);
    fetch(EVENTS_URL + "/widget/events", { method: "GET", mode: "cors", credentials: "omit", cache: "no-store",
      headers: headers, signal: controller.signal }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("text/event-stream") !== 0 || !response.body) throw new Error("no event stream");
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
          var blocks = buffer.split("\n\n");
          buffer = blocks.pop();
          blocks.forEach(streamBlock);
          return pump();
        });
      }
      return pump();
    }).catch(function () { /* polling takes over below */ }).then(function () {
      if (stream.controller !== controller) return;  // stopped on purpose
      var wasUp = stream.up;
      stream.controller = null;
      setStreamUp(false);
      stream.failures = wasUp ? 0 : stream.failures + 1;
      schedulePoll(0);
      var delay = Math.min(STREAM_RETRY_MAX_MS, 1000 * Math.pow(2, stream.failures));
      stream.retryTimer = setTimeout(function () {
        stream.retryTimer = null;
        if (state.cookie === cookie) startStream();
      }, delay);
    });
  }

  // One block of the stream: "id:", "event:", "data:" lines; comments start with ":".
  function streamBlock(block) {
    var id = null, kind = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line === ": ready") {
        setStreamUp(true);
        stream.failures = 0;
        schedulePoll(0);  // what came before the stream opened, once
        return;
      }
      if (!line || line.charAt(0) === ":") return;
      var colon = line.indexOf(":");
      var name = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (name === "id") id = value;
      else if (name === "event") kind = value;
      else if (name === "data") data.push(value);
    });
    if (id !== null && /^\d+$/.test(id) && (stream.lastEventId === null || Number(id) > stream.lastEventId)) stream.lastEventId = Number(id);
    if (!data.length) return;
    streamEvent(kind, parseJson(data.join("\n"), null));
  }

  function streamEvent(kind, data) {
    if (kind === "reset") { schedulePoll(0); return; }
    if (!data || typeof data !== "object" || Number(data.conversation_id) !== state.conversationId) return;
    if (kind === "message") {
      clearTimeout(stream.typingTimer);
      receive([data]);
    } else if (kind === "typing" && !isOwn(data) && data.user_type !== "visitor" && data.user_type !== "user" && data.user_type !== "lead") {
      ui.typing.textContent = ([data.first_name, data.last_name].filter(Boolean).join(" ") || t("Agent")) + " " + t("is typing...");
      clearTimeout(stream.typingTimer);
      stream.typingTimer = setTimeout(function () { ui.typing.textContent = ""; }, Math.max(1, Number(data.seconds) || 5) * 1000);
    }
  }

  // ---------------------------------------------------------------- polling
  function schedulePoll(delay) {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(poll, delay !== undefined ? delay
      : stream.up ? STREAM_SAFETY_MS : (state.open ? POLL_MS : POLL_MS * 4));
  }

  function poll() {
    if (!state.conversationId || !state.cookie) { state.pollTimer = null; return; }
    startStream();
    if (state.polling) { schedulePoll(); return; }
    state.polling = true;
    var id = state.conversationId;
    var calls = [api("get-new-messages", { conversation_id: id, datetime: String(state.lastId) }).then(function (messages) {
      if (id === state.conversationId) receive(messages);
    }, function (error) {
      if (gone(error) && id === state.conversationId) setConversation(null);  // deleted meanwhile
    })];
    if (state.open && !stream.up) {  // with the stream up, typing arrives as events
      calls.push(api("is-agent-typing", { conversation_id: id }).then(function (agent) {
        if (id !== state.conversationId) return;
        ui.typing.textContent = agent && typeof agent === "object"
          ? ([agent.first_name, agent.last_name].filter(Boolean).join(" ") || t("Agent")) + " " + t("is typing...") : "";
      }));
    }
    Promise.all(calls).catch(function () { /* the next poll tries again */ }).then(function () {
      state.polling = false;
      schedulePoll();
    });
  }

  // ---------------------------------------------------------------- sending
  function startConversation() {
    if (state.conversationId) return Promise.resolve(state.conversationId);
    return api("new-conversation", {}).then(function (answer) {
      var id = answer && answer.details && answer.details.id;
      if (!id) throw new ApiFailure(500, "no-conversation", "no conversation id");
      clearMessages();
      setConversation(id);
      receive(answer.messages || [], true);
      return state.conversationId;
    });
  }

  function gone(error) {
    return error instanceof ApiFailure && error.code === "conversation-not-found";
  }

  function send() {
    var text = ui.input.value.replace(/^\s+|\s+$/g, "");
    if (state.uploading) return;
    if (!text && !state.pending.length) return;
    var attachments = state.pending.slice();
    showError("");
    if (busy(ui.composer, true)) return;
    function sendIn(conversationId) {
      return api("send-message", { conversation_id: conversationId, message: text, attachments: attachments });
    }
    startConversation().then(function (conversationId) {
      return sendIn(conversationId).catch(function (error) {
        if (!gone(error)) throw error;
        // the conversation was deleted (or the login expired): the message opens a new one
        setConversation(null);
        return startConversation().then(function (id) { conversationId = id; return sendIn(id); });
      }).then(function (answer) {
        if (ui.input.value.replace(/^\s+|\s+$/g, "") === text) ui.input.value = "";
        state.pending = [];
        renderPending();
        state.lastTypingSent = 0;
        var messageId = answer && (answer["message-id"] || answer.message_id);
        if (messageId && state.user) {
          renderMessage({ id: messageId, user_id: state.user.id, message: text, attachments: attachments.length ? JSON.stringify(attachments) : "",
            conversation_id: conversationId, creation_time: new Date().toISOString().slice(0, 19).replace("T", " ") });
          scrollDown();
        }
        schedulePoll(0);
      });
    }).catch(function (error) {
      showError(errorText(error));
    }).then(function () {
      busy(ui.composer, false);
      ui.input.focus();
    });
  }

  function typing() {
    var now = Date.now();
    if (!state.conversationId || !ui.input.value || now - state.lastTypingSent < TYPING_EVERY_MS) return;
    state.lastTypingSent = now;
    api("set-typing", { conversation_id: state.conversationId }).catch(function () {});
  }

  function renderPending() {
    while (ui.pending.firstChild) ui.pending.removeChild(ui.pending.firstChild);
    state.pending.forEach(function (file, index) {
      ui.pending.appendChild(el("span", { "class": "sb-chip" }, [file[0],
        el("button", { type: "button", "aria-label": t("Delete") + " " + file[0], onclick: function () {
          state.pending.splice(index, 1);
          renderPending();
          ui.input.focus();
        } }, [icon(ICONS.close)])]));
    });
    if (state.uploading) ui.pending.appendChild(el("span", { "class": "sb-chip sb-uploading", text: t("Uploading...") }));
  }

  function attachFiles(files) {
    showError("");
    Array.prototype.forEach.call(files, function (file) {
      state.uploading += 1;
      renderPending();
      upload(file).then(function (answer) {
        if (answer && answer.url) state.pending.push([String(answer.name || file.name), String(answer.url)]);
      }, function (error) {
        showError(errorText(error));
      }).then(function () {
        state.uploading -= 1;
        renderPending();
      });
    });
  }

  // ---------------------------------------------------------------- views
  function showView(name) {
    state.view = name;
    ui.chat.hidden = name !== "chat";
    ui.articles.hidden = name !== "articles";
    ui.conversations.hidden = name !== "conversations";
    if (name === "chat") ui.input.focus();
    if (name === "articles") { ui.article.hidden = true; ui.articleList.hidden = false; searchArticles(); ui.search.focus(); }
    if (name === "conversations") listConversations();
  }

  var searchTimer = null, searchSeq = 0;
  function searchArticles() {
    var query = ui.search.value.trim();
    var seq = ++searchSeq;
    var call = query ? api("search-articles", { search: query, articles_language: state.language })
      : api("get-articles", { count: 10, articles_language: state.language });
    call.then(function (list) {
      if (seq !== searchSeq) return;
      while (ui.articleList.firstChild) ui.articleList.removeChild(ui.articleList.firstChild);
      if (!Array.isArray(list) || !list.length) {
        ui.articleList.appendChild(el("li", { "class": "sb-empty", text: t("No results found.") }));
        return;
      }
      list.forEach(function (article) {
        ui.articleList.appendChild(el("li", {}, [el("button", { type: "button", onclick: function () { openArticle(article.id); } }, [
          el("strong", { text: String(article.title || "") }),
          el("small", { text: htmlToText(article.content) })])]));
      });
    }, function (error) { showError(errorText(error)); });
  }

  // Article content may be HTML written by an admin; the widget shows its text only
  // (DOMParser builds an inert document: nothing in it runs or loads).
  function htmlToText(value) {
    var source = String(value || "").replace(/<br\s*\/?>/gi, "\n").replace(/<\/(p|div|li|h[1-6]|tr)>/gi, "$&\n");
    try {
      return new DOMParser().parseFromString(source, "text/html").body.textContent.replace(/\n{3,}/g, "\n\n").trim();
    } catch (e) {
      return source;
    }
  }

  function openArticle(id) {
    api("get-articles", { id: id, full: true, articles_language: state.language }).then(function (article) {
      if (Array.isArray(article)) article = article[0];  // Support Board 3.8 answers an array
      if (!article || typeof article !== "object") return;
      while (ui.article.firstChild) ui.article.removeChild(ui.article.firstChild);
      var back = el("button", { type: "button", "class": "sb-link", text: t("Back"), onclick: function () {
        ui.article.hidden = true; ui.articleList.hidden = false; ui.search.hidden = false; ui.search.focus();
      } });
      var heading = el("h3", { tabindex: "-1", text: String(article.title || "") });
      var feedback = el("div", { "class": "sb-rich", role: "group", "aria-label": t("Was this article helpful?") }, [
        el("p", { "class": "sb-rich-title", text: t("Was this article helpful?") })]);
      var row = el("div", { "class": "sb-options" });
      [[1, t("Yes")], [0, t("No")]].forEach(function (choice) {
        row.appendChild(el("button", { type: "button", "class": "sb-option", text: choice[1], onclick: function () {
          api("article-ratings", { article_id: String(article.id), rating: choice[0] }).then(function () {
            richDone(feedback, { success: t("Thank you for your feedback!") });
          }, function (error) { showError(errorText(error)); });
        } }));
      });
      feedback.appendChild(row);
      var parts = [back, heading, el("div", { "class": "sb-text", text: htmlToText(article.content) })];
      var link = safeUrl(article.link);
      if (article.link && link) parts.push(el("p", {}, [el("a", { href: link, target: "_blank", rel: "noopener noreferrer", text: t("Open") })]));
      parts.push(feedback);
      parts.forEach(function (node) { ui.article.appendChild(node); });
      ui.articleList.hidden = true;
      ui.search.hidden = true;
      ui.article.hidden = false;
      heading.focus();
    }, function (error) { showError(errorText(error)); });
  }

  function listConversations() {
    (state.cookie ? api("get-user-conversations", {}) : Promise.resolve([])).then(function (list) {
      while (ui.conversationList.firstChild) ui.conversationList.removeChild(ui.conversationList.firstChild);
      if (!Array.isArray(list) || !list.length) {
        ui.conversationList.appendChild(el("li", { "class": "sb-empty", text: t("No results found.") }));
        return;
      }
      list.forEach(function (item) {
        var title = item.title || [item.message_first_name, item.message_last_name].filter(Boolean).join(" ") || t("Conversations");
        var preview = String(item.message || "").replace(RICH, "").trim() || (item.attachments ? t("Attachments") : "");
        ui.conversationList.appendChild(el("li", {}, [el("button", { type: "button", "data-conversation": String(item.conversation_id), onclick: function () {
          loadConversation(item.conversation_id).then(function () { showView("chat"); schedulePoll(0); });
        } }, [el("strong", { text: String(title) }), el("small", { text: preview + (item.last_update_time ? " · " + formatTime(item.last_update_time) : "") })])]));
      });
      var first = ui.conversationList.querySelector("button");
      if (first) first.focus();
    }, function (error) { showError(errorText(error)); });
  }

  function endConversation() {
    if (!state.conversationId) return;
    ui.rate.hidden = false;
    while (ui.rate.childNodes.length > 1) ui.rate.removeChild(ui.rate.lastChild);
    ui.rate.appendChild(ratingButtons(null, null, function () {
      while (ui.rate.childNodes.length > 1) ui.rate.removeChild(ui.rate.lastChild);
      ui.rate.appendChild(el("p", { "class": "sb-success", role: "status", text: t("Thank you for your feedback!") }));
      setConversation(null);
      setTimeout(function () { ui.rate.hidden = true; }, 4000);
      ui.input.focus();
    }));
    var first = ui.rate.querySelector("button");
    if (first) first.focus();
  }

  function newConversation() {
    setConversation(null);
    clearMessages();
    ui.rate.hidden = true;
    showView("chat");
  }

  // ---------------------------------------------------------------- open / close
  // A returning visitor (a login cookie in this page's storage): who they are and their
  // last conversation. A new visitor is registered only when they first send something.
  var restored = null;
  function boot() {
    if (!state.cookie) return Promise.resolve();
    if (!restored) {
      restored = restore().catch(function (error) {
        restored = null;
        showError(errorText(error));
      });
    }
    return restored;
  }

  function openPanel() {
    if (state.open) return;
    state.open = true;
    state.unread = 0;
    ui.badge.hidden = true;
    ui.panel.hidden = false;
    ui.root.classList.add("sb-open");
    ui.launcher.setAttribute("aria-expanded", "true");
    applyStrings();
    showView(state.view === "chat" ? "chat" : state.view);
    ui.input.focus();
    boot().then(function () { scrollDown(); schedulePoll(0); });
  }

  function closePanel() {
    if (!state.open || FULL) return;
    state.open = false;
    ui.panel.hidden = true;
    ui.root.classList.remove("sb-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.focus();
    schedulePoll();
  }

  ui.launcher.addEventListener("click", function () { if (state.open) closePanel(); else openPanel(); });
  ui.closeButton.addEventListener("click", closePanel);
  ui.articlesButton.addEventListener("click", function () { showView(state.view === "articles" ? "chat" : "articles"); });
  ui.listButton.addEventListener("click", function () { showView(state.view === "conversations" ? "chat" : "conversations"); });
  ui.newButton.addEventListener("click", newConversation);
  ui.endButton.addEventListener("click", function () { showView("chat"); endConversation(); });
  ui.root.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      if (state.view !== "chat") { event.preventDefault(); showView("chat"); return; }
      if (!FULL) { event.preventDefault(); closePanel(); }
    }
  });
  ui.composer.addEventListener("submit", function (event) { event.preventDefault(); send(); });
  ui.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });
  ui.input.addEventListener("input", function () {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 120) + "px";
    typing();
  });
  ui.attach.addEventListener("click", function () { ui.file.click(); });
  ui.file.addEventListener("change", function () {
    if (ui.file.files && ui.file.files.length) attachFiles(ui.file.files);
    ui.file.value = "";
  });
  ui.search.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchArticles, 250);
  });

  function mount() {
    document.body.appendChild(host);
    applyStrings();
    loadStrings();
    if (FULL) {
      state.open = true;
      ui.input.focus();
      boot().then(function () { scrollDown(); schedulePoll(0); });
    } else if (state.cookie) {
      // new replies are counted on the launcher while the panel is closed
      boot().then(function () { schedulePoll(); });
    }
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
