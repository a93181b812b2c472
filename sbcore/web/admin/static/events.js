// The workspace's live feed: GET /admin/events, a Server-Sent Events stream of what this
// agent may see (new messages, typing, status and assignment changes, new conversations,
// presence), read with EventSource (same origin: the session cookie goes with it).
// While the stream is up the inbox and the open conversation poll only every 60 s, as a
// safety net; when it fails (refused, 401, 404, 503, the network) they poll every 1.5 s
// again at once and the stream is retried with backoff, resuming after the last event
// id it had (?last_event_id=, which the server reads as Last-Event-ID), so that nothing
// is missed. The widget does the same with fetch (it needs an Authorization header).
// Where there is no events server the screens poll every 1.5 s (see connect).
const KINDS = ['message', 'message-updated', 'message-deleted', 'typing', 'status', 'assignment',
  'conversation', 'presence', 'reset'];
export const POLL_MS = 1500;
const SAFETY_MS = 60000;
const RETRY_MAX_MS = 30000;

const handlers = new Map();  // kind -> [function(data)]; 'up' -> [function(isUp)]
const stream = {source: null, up: false, failures: 0, retryTimer: null, lastEventId: null};

// on('message', (row) => …); on('up', (isUp) => …) when the stream opens or fails
export function on(kind, handler) {
  if (!handlers.has(kind)) handlers.set(kind, []);
  handlers.get(kind).push(handler);
}

function emit(kind, value) {
  for (const handler of handlers.get(kind) || []) {
    try {
      handler(value);
    } catch (error) {
      console.warn(error);
    }
  }
}

export function isUp() {
  return stream.up;
}

// how long a poller waits before its next poll: slower while the stream carries events,
// slower still in a background tab
export function pollDelay() {
  return stream.up ? SAFETY_MS : document.hidden ? POLL_MS * 4 : POLL_MS;
}

function setUp(up) {
  if (stream.up === up) return;
  stream.up = up;
  document.body.dataset.stream = up ? 'up' : 'down';
  emit('up', up);  // up: a poll catches what came before the stream opened; down: polls resume
}

function received(kind, event) {
  const id = event.lastEventId;
  if (/^\d+$/.test(id || '') && (stream.lastEventId === null || Number(id) > stream.lastEventId)) {
    stream.lastEventId = Number(id);
  }
  let data = null;
  try {
    data = JSON.parse(event.data);
  } catch (error) {
    return;
  }
  if (data && typeof data === 'object') emit(kind, data);
}

// Opens the stream where the server has an events server (the page's data-events="on":
// SB_EVENTS_URL is set and the reverse proxy sends /admin/events there); else the
// screens only poll, so that streams never hold the request workers.
export function connect() {
  if (document.body.dataset.events !== 'on' || typeof window.EventSource !== 'function') return;
  if (stream.source || stream.retryTimer) return;
  const url = stream.lastEventId === null ? '/admin/events' : `/admin/events?last_event_id=${stream.lastEventId}`;
  const source = new EventSource(url);
  stream.source = source;
  source.onopen = () => {
    stream.failures = 0;
    setUp(true);
  };
  source.onerror = () => {
    // EventSource would retry by itself after a dropped connection but gives up on an
    // error status; either way this module retries, with backoff and the last id
    if (stream.source !== source) return;
    source.close();
    stream.source = null;
    const wasUp = stream.up;
    stream.failures = wasUp ? 0 : stream.failures + 1;
    setUp(false);
    const delay = Math.min(RETRY_MAX_MS, 1000 * 2 ** stream.failures);
    stream.retryTimer = setTimeout(() => {
      stream.retryTimer = null;
      connect();
    }, delay);
  };
  for (const kind of KINDS) source.addEventListener(kind, (event) => received(kind, event));
}

// A poll loop around `poll` (async): every pollDelay(), at once when the stream opens or
// fails, and soon() when an event says there is something to fetch. The sooner of two
// schedules wins, so that a burst of events costs one poll.
export function poller(poll) {
  let timer = null;
  let due = Infinity;
  let running = false;
  let again = false;
  async function run() {
    timer = null;
    due = Infinity;
    if (running) { again = true; return; }
    running = true;
    try {
      await poll();
    } catch (error) {
      if (error.status !== 401) console.warn(error);
    } finally {
      running = false;
    }
    schedule(again ? 0 : pollDelay());
    again = false;
  }
  function schedule(delay = pollDelay()) {
    if (timer !== null && due <= Date.now() + delay) return;
    clearTimeout(timer);
    due = Date.now() + delay;
    timer = setTimeout(run, delay);
  }
  on('up', () => schedule(0));
  on('reset', () => schedule(0));
  return {schedule, soon: () => schedule(150)};
}
