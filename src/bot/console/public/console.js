/* global document, fetch, EventSource, localStorage, setTimeout, clearTimeout, location, history */
// The smsops console in the browser: renders the JSON API, acts through it, and follows
// the server-sent event stream. Customer text only ever reaches the page as textContent.

const $ = (id) => document.getElementById(id);

const state = {
  /** The batch thread open in the thread pane (its parent post id), or null. */
  threadId: null,
  /** Posts currently on screen by id, for in-place updates. */
  posts: new Map(),
  connected: false,
  phonesTimer: null,
};

// ---------- small helpers ----------

/** Builds an element; strings among `children` become text nodes (never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return node;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: 'numeric', minute: '2-digit' });
function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : timeFormat.format(d);
}
function timeEl(iso) {
  return el('time', { datetime: iso, class: 'post-time' }, formatTime(iso));
}
function money(usd) {
  return `$${Number(usd ?? 0).toFixed(usd >= 1 ? 2 : 4)}`;
}
function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
/**
 * Chat text as the core writes it (Slack-style *bold* and `code`), built as nodes: the
 * markers become <strong>/<code>, everything else stays plain text.
 */
function richText(text) {
  const parts = String(text ?? '').split(/(\*[^*\n]+\*|`[^`\n]+`)/);
  return parts.map((part, i) => {
    if (i % 2 === 0) return part;
    return el(part.startsWith('*') ? 'strong' : 'code', {}, part.slice(1, -1));
  });
}

function announce(text) {
  const a = $('announcer');
  a.textContent = '';
  // A fresh node change makes screen readers repeat an identical message.
  setTimeout(() => (a.textContent = text), 30);
}

function actorName() {
  return $('actor-name').value.trim() || 'console';
}

/** Calls the console API; resolves to the JSON body plus the HTTP status (never throws on 4xx). */
async function api(path, body) {
  const init = { credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.method = 'POST';
    init.headers['Content-Type'] = 'application/json';
    init.headers['X-Smsops-Console'] = '1';
    init.body = JSON.stringify({ ...body, actor: actorName() });
  }
  let res;
  try {
    res = await fetch(`/api${path}`, init);
  } catch {
    return { ok: false, status: 0, message: 'The console server cannot be reached. Is smsops still running?' };
  }
  const data = await res.json().catch(() => ({}));
  return { status: res.status, ok: res.ok, message: res.ok ? '' : `Request failed (HTTP ${res.status})`, ...data };
}

// ---------- rendering: posts ----------

function renderFacts(items, className = 'facts') {
  if (!items || items.length === 0) return null;
  return el('dl', { class: className }, items.flatMap((f) => [el('dt', {}, f.label), el('dd', {}, f.value)]));
}

function renderLint(findings) {
  if (!findings || findings.length === 0) return null;
  return el(
    'ul',
    { class: 'lint', 'aria-label': 'Lint findings' },
    findings.map((f) => el('li', { class: `sev-${f.severity}` }, `${f.severity}: ${f.message}`)),
  );
}

function actionButton(label, className, ariaLabel, onClick) {
  return el('button', { type: 'button', class: className, 'aria-label': ariaLabel, onclick: onClick }, label);
}

function renderCard(post) {
  const c = post.model;
  const who = c.customerName || c.maskedPhone;
  const errorId = `post-${post.id}-error`;
  const actions = [];
  if (c.actions.includes('approve')) {
    actions.push(actionButton('Approve', 'approve', `Approve message to ${who}`, (e) => cardAction(post, 'approve', e.currentTarget)));
  }
  if (c.actions.includes('edit')) {
    actions.push(actionButton('Edit', '', `Edit message to ${who}`, () => openEditDialog(post)));
  }
  if (c.actions.includes('reject')) {
    actions.push(actionButton('Reject', 'danger', `Reject message to ${who}`, (e) => cardAction(post, 'reject', e.currentTarget)));
  }
  return el(
    'article',
    { class: `card status-${c.status}`, id: `post-${post.id}`, tabindex: '-1', 'aria-labelledby': `post-${post.id}-title`, 'data-message-id': c.messageId },
    el(
      'div',
      { class: 'post-meta' },
      el('h3', { id: `post-${post.id}-title` }, who),
      el('span', { class: 'phone-masked' }, c.maskedPhone),
      el('span', { class: 'status-badge' }, c.status.replace('_', ' ')),
    ),
    el('p', { class: 'sms' }, c.body),
    el('p', { class: 'card-facts' }, `${plural(c.segments, 'segment')} · ${c.encoding} · about ${money(c.estimatedCostUsd)}`),
    renderFacts(c.context),
    c.rationale ? el('p', { class: 'rationale' }, c.rationale) : null,
    renderLint(c.lint),
    c.statusLine ? el('p', { class: 'status-line' }, c.statusLine) : null,
    c.statusHint ? el('p', { class: 'status-hint' }, c.statusHint) : null,
    actions.length ? el('div', { class: 'actions' }, actions) : null,
    el('p', { class: 'action-error', id: errorId, role: 'alert' }),
  );
}

function renderBatch(post, { inThread }) {
  const h = post.model;
  const counts = Object.entries(h.counts || {}).filter(([, n]) => n > 0);
  const actions = [];
  if (!inThread) {
    const replies = post.replyCount ?? 0;
    actions.push(
      el('button', { type: 'button', class: 'primary', onclick: () => openThread(post.id, { focus: true }) }, `Open thread (${replies})`),
    );
  }
  if (h.actions.includes('approve_all')) {
    actions.push(actionButton('Approve all', 'approve', `Approve all suggestions of batch ${h.batchId}`, (e) => batchAction(post, 'approve-all', e.currentTarget)));
  }
  if (h.actions.includes('reject_all')) {
    actions.push(actionButton('Reject all', 'danger', `Reject all suggestions of batch ${h.batchId}`, (e) => batchAction(post, 'reject-all', e.currentTarget)));
  }
  return el(
    'article',
    { class: 'batch', id: inThread ? `thread-parent-${post.id}` : `post-${post.id}`, tabindex: '-1', 'aria-labelledby': `batch-${post.id}-title${inThread ? '-t' : ''}` },
    el(
      'div',
      { class: 'post-meta' },
      el('h3', { id: `batch-${post.id}-title${inThread ? '-t' : ''}` }, `${h.campaignName} · batch #${h.batchId}`),
      timeEl(post.createdAt),
    ),
    el('p', {}, `${plural(h.suggestionCount, 'suggestion')} for segment ${h.segmentSpec} (${h.generator})`),
    el('p', { class: 'card-facts' }, `${plural(h.lintFindingCount, 'lint finding')} · about ${money(h.estimatedCostUsd)} · sends ${h.sendingWindow}`),
    counts.length ? el('ul', { class: 'counts', 'aria-label': 'Messages by status' }, counts.map(([s, n]) => el('li', {}, `${s.replace('_', ' ')} ${n}`))) : null,
    actions.length ? el('div', { class: 'actions' }, actions) : null,
    el('p', { class: 'action-error', role: 'alert' }),
  );
}

function renderMessage(post) {
  const m = post.model;
  const image = m.image ? el('img', { alt: m.image.alt || m.image.filename }) : null;
  // A data: URL set as a property: the bytes are base64, never parsed as markup.
  if (image) image.src = `data:image/png;base64,${m.image.base64}`;
  return el(
    'article',
    { class: `post tone-${m.tone || 'info'}`, id: `post-${post.id}`, tabindex: '-1' },
    el('div', { class: 'post-meta' }, m.title ? el('h3', {}, m.title) : null, timeEl(post.updatedAt)),
    el('p', { class: 'post-text' }, richText(m.text)),
    renderFacts(m.fields),
    image,
  );
}

function renderPost(post) {
  if (post.kind === 'card') return renderCard(post);
  if (post.kind === 'batch') return renderBatch(post, { inThread: false });
  return renderMessage(post);
}

/** Adds a post to the end of a feed (or replaces it in place when already there). */
function placePost(feed, post) {
  state.posts.set(post.id, post);
  const fresh = el('li', { 'data-post': post.id }, renderPost(post));
  const existing = feed.querySelector(`:scope > li[data-post="${post.id}"]`);
  if (existing) {
    replaceKeepingFocus(existing, fresh);
  } else {
    feed.append(fresh);
  }
}

/** Swaps a rendered node; if focus was inside it, focus moves to the new one (keyboard users stay put). */
function replaceKeepingFocus(oldNode, newNode) {
  const hadFocus = oldNode.contains(document.activeElement);
  const focusedLabel = hadFocus ? document.activeElement.getAttribute('aria-label') : null;
  oldNode.replaceWith(newNode);
  if (!hadFocus) return;
  const same = focusedLabel && [...newNode.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === focusedLabel);
  (same || newNode.querySelector('[tabindex="-1"]') || newNode).focus();
}

// ---------- channel and thread ----------

async function loadChannel() {
  const data = await api('/channel');
  if (!data.ok) return showConnection('down', data.message);
  const feed = $('channel');
  feed.replaceChildren();
  for (const post of data.posts) placePost(feed, post);
  $('demo-offer').hidden = !data.empty;
  scrollToEnd($('channel-pane'));
}

async function openThread(id, { focus = false } = {}) {
  state.threadId = id;
  if (location.hash !== `#thread-${id}`) history.replaceState(null, '', `#thread-${id}`);
  const data = await api(`/threads/${id}`);
  if (!data.ok) {
    $('thread-empty').hidden = false;
    $('thread-empty').textContent = data.message;
    return;
  }
  $('thread-empty').hidden = true;
  renderThreadParent(data.parent);
  const feed = $('thread');
  feed.replaceChildren();
  for (const post of data.posts) placePost(feed, post);
  if (focus) {
    showPane('thread-pane');
    $('thread-pane').focus();
  }
}

function renderThreadParent(post) {
  state.posts.set(post.id, post);
  const holder = $('thread-parent');
  const fresh = renderBatch(post, { inThread: true });
  if (holder.firstElementChild) replaceKeepingFocus(holder.firstElementChild, fresh);
  else holder.append(fresh);
}

function onPost(post) {
  if (post.threadId === null) {
    placePost($('channel'), post);
    $('demo-offer').hidden = true;
    scrollToEnd($('channel-pane'));
    return;
  }
  bumpReplyCount(post.threadId);
  if (post.threadId !== state.threadId) return;
  // Follow the conversation only when the reader is already at its end.
  const pane = $('thread-pane');
  const atEnd = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
  placePost($('thread'), post);
  if (atEnd) scrollToEnd(pane);
}

function onUpdate(post) {
  // Updates carry the model only; the reply count stays what this page has counted.
  if (post.replyCount === undefined) post.replyCount = state.posts.get(post.id)?.replyCount;
  state.posts.set(post.id, post);
  for (const feed of [$('channel'), $('thread')]) {
    if (feed.querySelector(`:scope > li[data-post="${post.id}"]`)) placePost(feed, post);
  }
  if (post.kind === 'batch' && post.id === state.threadId) renderThreadParent(post);
}

function bumpReplyCount(parentId) {
  const parent = state.posts.get(parentId);
  if (!parent) return;
  parent.replyCount = (parent.replyCount ?? 0) + 1;
  const li = $('channel').querySelector(`:scope > li[data-post="${parentId}"]`);
  const button = li && li.querySelector('button.primary');
  if (button) button.textContent = `Open thread (${parent.replyCount})`;
}

function scrollToEnd(pane) {
  pane.scrollTop = pane.scrollHeight;
}

// ---------- actions ----------

function errorSlot(button) {
  return button.closest('article').querySelector('.action-error');
}

/** A card's error line, found again after the card was re-rendered. */
function cardErrorSlot(post, button) {
  const card = document.getElementById(`post-${post.id}`);
  return (card && card.querySelector('.action-error')) || errorSlot(button);
}

async function cardAction(post, action, button) {
  const c = post.model;
  // A message back in review may already have reached the phone: approving again asks first, saying why it came back.
  if (action === 'approve' && c.status === 'needs_review') {
    const ok = await confirmDialog('Approve again?', `${c.statusLine || 'This message needs review.'} Approving schedules it to be sent.`, 'Approve');
    if (!ok) return button.focus();
  }
  button.disabled = true;
  errorSlot(button).textContent = '';
  // The version says which text this card showed: the server refuses a decision on an older one.
  const result = await api(`/messages/${c.messageId}/${action}`, { version: c.version });
  if (result.ok) {
    announce(result.message);
    // The server also streams the update; rendering the returned card now keeps the UI snappy.
    if (result.card) onUpdate({ ...post, model: result.card });
  } else {
    button.disabled = false;
    // Out of date: show the current card, and say why nothing happened.
    if (result.code === 'stale' && result.card) onUpdate({ ...post, model: result.card });
    cardErrorSlot(post, button).textContent = result.message;
    announce(result.message);
  }
}

async function batchAction(post, action, button) {
  const h = post.model;
  const verb = action === 'approve-all' ? 'Approve' : 'Reject';
  const pending = h.counts?.suggested ?? h.suggestionCount;
  const ok = await confirmDialog(`${verb} all?`, `${verb} every remaining suggestion of batch #${h.batchId} (${h.campaignName}): ${plural(pending, 'message')}.`, `${verb} all`);
  if (!ok) return button.focus();
  button.disabled = true;
  // Approve all holds back messages edited after this header was rendered (editsThrough).
  const result = await api(`/batches/${h.batchId}/${action}`, action === 'approve-all' ? { editsThrough: h.editsThrough ?? null } : {});
  button.disabled = false;
  if (!result.ok) errorSlot(button).textContent = result.message;
  announce(result.message);
  button.focus();
}

function confirmDialog(title, text, okLabel) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

// ---------- edit dialog ----------

const edit = { post: null, version: null, timer: null, seq: 0, opener: null };

function openEditDialog(post) {
  edit.post = post;
  // The save is fenced on the version of the text the dialog opened with.
  edit.version = post.model.version;
  edit.opener = document.activeElement;
  const c = post.model;
  $('edit-recipient').textContent = `To ${c.customerName || c.maskedPhone} (${c.maskedPhone}) · ${c.campaignName}`;
  $('edit-text').value = c.body;
  $('edit-errors').replaceChildren();
  $('edit-save').disabled = false;
  $('edit-dialog').showModal();
  $('edit-text').focus();
  validateEdit();
}

function scheduleValidate() {
  clearTimeout(edit.timer);
  edit.timer = setTimeout(validateEdit, 120);
}

async function validateEdit() {
  if (!edit.post) return;
  const seq = ++edit.seq;
  const result = await api(`/messages/${edit.post.model.messageId}/validate`, { text: $('edit-text').value });
  if (seq !== edit.seq) return; // a newer keystroke has been sent since
  const info = $('edit-info');
  if (!result.info) {
    info.textContent = result.message || '';
    return;
  }
  const { segments, encoding } = result.info;
  const chars = [...$('edit-text').value].length;
  info.textContent = `${plural(segments, 'segment')} · ${encoding} · ${plural(chars, 'character')}`;
  info.dataset.over = String(!result.ok);
  const lint = renderLint(result.info.lint) || el('ul', { class: 'lint' });
  lint.id = 'edit-lint';
  $('edit-lint').replaceWith(lint);
  showErrors(result.ok ? [] : result.errors);
}

function showErrors(errors) {
  $('edit-errors').replaceChildren(...(errors || []).map((e) => el('li', {}, e)));
}

async function submitEdit(event) {
  event.preventDefault();
  const post = edit.post;
  if (!post) return;
  $('edit-save').disabled = true;
  const result = await api(`/messages/${post.model.messageId}/edit`, { text: $('edit-text').value, version: edit.version });
  $('edit-save').disabled = false;
  if (!result.ok) {
    // Someone changed it meanwhile: the card behind the dialog shows their text; this one keeps yours.
    if (result.code === 'stale' && result.card) onUpdate({ ...post, model: result.card });
    showErrors(result.errors && result.errors.length ? result.errors : [result.message]);
    return;
  }
  if (result.card) onUpdate({ ...post, model: result.card });
  closeEditDialog();
  announce(result.message);
}

function closeEditDialog() {
  const dialog = $('edit-dialog');
  if (dialog.open) dialog.close();
}

function onEditClosed() {
  const post = edit.post;
  edit.post = null;
  clearTimeout(edit.timer);
  // Back to the card the dialog was opened from (it may have been re-rendered meanwhile).
  const card = post && document.getElementById(`post-${post.id}`);
  const target = (edit.opener && document.body.contains(edit.opener) && edit.opener) || card;
  if (target) target.focus();
}

// ---------- command box ----------

async function runCommand(text) {
  const out = $('command-output');
  out.replaceChildren(el('p', { class: 'hint' }, `Running /campaign ${text}…`));
  const result = await api('/command', { text });
  const reply = result.reply;
  if (!reply) {
    out.replaceChildren(el('p', { class: 'action-error' }, result.message || 'The command failed.'));
    return;
  }
  const nodes = [el('pre', {}, richText(reply.text))];
  if (reply.confirm) {
    const confirm = reply.confirm;
    nodes.push(
      el('p', {}, confirm.prompt),
      el(
        'div',
        { class: 'actions' },
        el('button', { type: 'button', class: 'primary', onclick: () => runCommand(confirm.command) }, 'Confirm'),
        el('button', { type: 'button', onclick: () => out.replaceChildren() }, 'Cancel'),
      ),
    );
  }
  out.replaceChildren(...nodes);
}

// ---------- phones ----------

async function loadPhones() {
  const data = await api('/phones');
  if (!data.ok) return;
  const holder = $('phones');
  $('phones-empty').hidden = data.phones.length > 0;
  for (const phone of data.phones) {
    let article = holder.querySelector(`article[data-phone="${phone.phone}"]`);
    if (!article) {
      article = renderPhone(phone);
      holder.append(article);
    }
    updatePhone(article, phone);
  }
}

function renderPhone(phone) {
  const slug = phone.phone.replace(/\D/g, '');
  const who = phone.name || phone.phone;
  const input = el('input', { id: `reply-${slug}`, name: 'body', maxlength: '1600', autocomplete: 'off', placeholder: 'Reply…' });
  const form = el(
    'form',
    { class: 'reply', onsubmit: (e) => sendReply(e, phone.phone, input, input.value) },
    el('label', { for: `reply-${slug}`, class: 'visually-hidden' }, `Reply from ${who}`),
    input,
    el('button', { type: 'submit', 'aria-label': `Send reply from ${who}` }, 'Send'),
    el('button', { type: 'button', class: 'danger', 'aria-label': `Send STOP from ${who}`, onclick: (e) => sendReply(e, phone.phone, input, 'STOP') }, 'STOP'),
  );
  return el(
    'article',
    { class: 'phone', 'data-phone': phone.phone, 'aria-labelledby': `phone-${slug}` },
    el('h3', { id: `phone-${slug}` }, el('span', { class: 'name' }, who), el('span', { class: 'number' }, phone.phone)),
    el('ol', { class: 'sms-log', 'aria-label': `Texts with ${who}` }),
    form,
  );
}

function updatePhone(article, phone) {
  const h3 = article.querySelector('h3');
  const badge = h3.querySelector('.opted-out');
  if (phone.optedOut && !badge) h3.append(el('span', { class: 'opted-out' }, 'opted out'));
  if (!phone.optedOut && badge) badge.remove();
  const log = article.querySelector('.sms-log');
  log.replaceChildren(
    ...phone.messages.map((m) =>
      el(
        'li',
        { class: `bubble ${m.direction}` },
        el('span', { class: 'visually-hidden' }, m.direction === 'out' ? 'Sent: ' : 'Reply: '),
        m.body,
        el('time', { datetime: m.at }, formatTime(m.at)),
      ),
    ),
  );
  log.scrollTop = log.scrollHeight;
}

async function sendReply(event, phone, input, body) {
  event.preventDefault();
  if (!body.trim()) return input.focus();
  const result = await api(`/phones/${encodeURIComponent(phone)}/reply`, { body });
  if (result.ok) {
    if (body === input.value) input.value = '';
    announce(result.message || 'Reply sent.');
  } else {
    announce(result.message);
  }
  await loadPhones();
}

async function loadActivity() {
  if (!$('activity').open) return;
  const data = await api('/activity');
  if (!data.ok) return;
  const img = $('activity-chart');
  img.alt = data.alt;
  img.src = `data:image/svg+xml;base64,${data.svgBase64}`;
}

function schedulePhones() {
  clearTimeout(state.phonesTimer);
  state.phonesTimer = setTimeout(() => {
    loadPhones();
    loadActivity();
  }, 150);
  const active = document.querySelector('.pane[data-active="true"]');
  if (active && active.id !== 'phones-pane') $('phones-badge').hidden = false;
}

// ---------- layout, connection, start ----------

function showPane(id) {
  for (const pane of document.querySelectorAll('.pane')) pane.dataset.active = String(pane.id === id);
  for (const tab of document.querySelectorAll('.tabs button')) tab.setAttribute('aria-pressed', String(tab.dataset.pane === id));
  if (id === 'phones-pane') $('phones-badge').hidden = true;
}

function showConnection(kind, text) {
  const c = $('connection');
  c.dataset.state = kind;
  c.textContent = text;
}

function connect() {
  const events = new EventSource('/api/events');
  events.addEventListener('open', () => {
    showConnection('live', 'Live');
    // After a drop, anything may have changed: re-read everything once.
    if (state.connected === 'lost') reloadAll();
    state.connected = true;
  });
  events.addEventListener('error', () => {
    showConnection('down', 'Reconnecting…');
    state.connected = 'lost';
  });
  events.addEventListener('post', (e) => onPost(JSON.parse(e.data).post));
  events.addEventListener('update', (e) => onUpdate(JSON.parse(e.data).post));
  events.addEventListener('phones', schedulePhones);
}

async function reloadAll() {
  await loadChannel();
  if (state.threadId !== null) await openThread(state.threadId);
  await loadPhones();
}

async function loadDemo() {
  const button = $('demo-button');
  button.disabled = true;
  $('demo-result').textContent = 'Loading demo data…';
  const result = await api('/demo', {});
  $('demo-result').textContent = result.message;
  button.disabled = result.ok;
}

function start() {
  const saved = localStorage.getItem('smsops.actor');
  $('actor-name').value = saved || 'console';
  $('actor-name').addEventListener('change', () => localStorage.setItem('smsops.actor', actorName()));
  $('actor-form').addEventListener('submit', (e) => e.preventDefault());
  for (const tab of document.querySelectorAll('.tabs button')) tab.addEventListener('click', () => showPane(tab.dataset.pane));
  $('demo-button').addEventListener('click', loadDemo);
  $('activity').addEventListener('toggle', loadActivity);
  $('command-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('command-input').value.trim().replace(/^\/campaign\s*/, '');
    runCommand(text || 'help');
  });
  $('edit-form').addEventListener('submit', submitEdit);
  $('edit-text').addEventListener('input', scheduleValidate);
  $('edit-cancel').addEventListener('click', closeEditDialog);
  $('edit-dialog').addEventListener('close', onEditClosed);

  connect();
  reloadAll().then(() => {
    const m = /^#thread-(\d+)$/.exec(location.hash);
    if (m) openThread(Number(m[1]), { focus: true });
  });
}

start();
