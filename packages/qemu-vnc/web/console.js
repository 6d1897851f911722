// The web console page: noVNC's RFB client on our own WebSocket endpoint, scaled to the
// window, with Ctrl+Alt+Del, a shared clipboard, "type the clipboard", the connection's
// state, a password prompt, and reconnection by itself when the connection drops (a server
// restart; a guest reboot keeps the connection). Everything is served by qemu-vnc itself.
import RFB from './novnc/core/rfb.js';
import keysyms from './novnc/core/input/keysymdef.js';

const $ = (id) => document.getElementById(id);
const screen = $('screen');
const status = $('status');
const passwordForm = $('password-form');
const passwordInput = $('password');
const passwordError = $('password-error');
const clipboardPanel = $('clipboard-panel');
const clipboardText = $('clipboard-text');
const actions = [$('ctrl-alt-del'), $('type-clipboard')];

/** The RFB endpoint beside this page (works behind a proxy that adds a path prefix). */
const wsUrl = (() => {
  const url = new URL('websockify', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
})();

const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 10_000;
/** Pause between typed characters: the guest's keyboard buffer is small (PS/2: 16 bytes). */
const TYPE_DELAY_MS = 15;
const KEYSYM_RETURN = 0xff0d;
const KEYSYM_TAB = 0xff09;

let rfb = null;
let password = null; // kept in memory for reconnections, never stored
let reconnectDelay = RECONNECT_MIN_MS;
let reconnectTimer = null;
let authFailed = false;

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
  for (const b of actions) b.disabled = state !== 'connected';
}

function askPassword(message) {
  passwordError.textContent = message ?? '';
  passwordForm.hidden = false;
  passwordInput.value = '';
  passwordInput.focus();
}

function connect() {
  clearTimeout(reconnectTimer);
  authFailed = false;
  setStatus(reconnectDelay > RECONNECT_MIN_MS ? 'reconnecting' : 'connecting', 'Connecting…');
  rfb = new RFB(screen, wsUrl, { shared: true, credentials: password === null ? undefined : { password } });
  rfb.scaleViewport = true; // the whole VM screen, scaled to the window
  rfb.resizeSession = false; // the guest's mode is the guest's business
  rfb.addEventListener('connect', onConnect);
  rfb.addEventListener('disconnect', onDisconnect);
  rfb.addEventListener('credentialsrequired', onCredentialsRequired);
  rfb.addEventListener('securityfailure', onSecurityFailure);
  rfb.addEventListener('desktopname', (e) => {
    $('vm-name').textContent = e.detail.name;
    document.title = `${e.detail.name} — console`;
  });
  rfb.addEventListener('clipboard', onGuestClipboard);
}

function onConnect() {
  reconnectDelay = RECONNECT_MIN_MS;
  passwordForm.hidden = true;
  setStatus('connected', 'Connected');
  rfb.focus();
}

function onDisconnect() {
  rfb = null;
  if (authFailed) return; // the password prompt is up; connecting again waits for it
  setStatus('reconnecting', `Disconnected — reconnecting in ${Math.round(reconnectDelay / 1000)} s`);
  reconnectTimer = setTimeout(connect, reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, RECONNECT_MAX_MS);
}

function onCredentialsRequired() {
  if (password !== null) {
    rfb.sendCredentials({ password });
    return;
  }
  setStatus('password', 'Password needed');
  askPassword();
}

function onSecurityFailure(e) {
  authFailed = true;
  password = null;
  setStatus('failed', 'Authentication failed');
  askPassword(e.detail.reason || 'Wrong password');
}

passwordForm.addEventListener('submit', (e) => {
  e.preventDefault();
  password = passwordInput.value;
  passwordForm.hidden = true;
  if (rfb && status.dataset.state === 'password') rfb.sendCredentials({ password });
  else connect();
});

// ---- clipboard ---------------------------------------------------------------------

function onGuestClipboard(e) {
  clipboardText.value = e.detail.text;
  // Works where the page may write the system clipboard (secure context, focused page).
  navigator.clipboard?.writeText(e.detail.text).catch(() => undefined);
}

let clipboardTimer = null;
clipboardText.addEventListener('input', () => {
  clearTimeout(clipboardTimer);
  clipboardTimer = setTimeout(() => rfb?.clipboardPasteFrom(clipboardText.value), 300);
});

/**
 * The system clipboard's text when the browser lets the page read it without asking (the
 * clipboard-read permission is granted, e.g. once allowed for "Type clipboard"), else null.
 */
async function systemClipboardText() {
  try {
    const permission = await navigator.permissions?.query({ name: 'clipboard-read' });
    if (permission?.state !== 'granted' || !navigator.clipboard?.readText) return null;
    return await navigator.clipboard.readText();
  } catch {
    return null; // not focused, not a secure context, or no such permission in this browser
  }
}

/**
 * Coming back to the console (it takes the focus, or the window does while the console has
 * it): what was copied elsewhere meanwhile becomes the guest's clipboard, ready to paste there.
 */
let syncing = false;
async function syncFromSystemClipboard() {
  if (syncing || !rfb || status.dataset.state !== 'connected') return;
  syncing = true;
  try {
    const text = await systemClipboardText();
    if (text === null || text === '' || text === clipboardText.value) return; // nothing new (or the guest's own copy)
    clipboardText.value = text;
    rfb?.clipboardPasteFrom(text);
  } finally {
    syncing = false;
  }
}

screen.addEventListener('focusin', () => void syncFromSystemClipboard());
window.addEventListener('focus', () => {
  if (screen.contains(document.activeElement)) void syncFromSystemClipboard();
});

$('clipboard-toggle').addEventListener('click', (e) => {
  clipboardPanel.hidden = !clipboardPanel.hidden;
  e.currentTarget.setAttribute('aria-expanded', String(!clipboardPanel.hidden));
});

// ---- actions -----------------------------------------------------------------------

$('ctrl-alt-del').addEventListener('click', () => {
  rfb?.sendCtrlAltDel();
  rfb?.focus();
});

/**
 * Types text as key presses: for guests without a clipboard agent (a login prompt, a BIOS).
 * Keysyms, not scancodes: the server picks the keys and Shift for each character.
 */
$('type-clipboard').addEventListener('click', async () => {
  let text = clipboardText.value;
  try {
    if (navigator.clipboard?.readText) text = await navigator.clipboard.readText();
  } catch {
    // no permission to read the system clipboard: the panel's text it is
  }
  const session = rfb;
  for (const ch of text.replace(/\r\n?/g, '\n')) {
    if (rfb !== session || !session) break;
    const keysym = ch === '\n' ? KEYSYM_RETURN : ch === '\t' ? KEYSYM_TAB : keysyms.lookup(ch.codePointAt(0));
    session.sendKey(keysym, null);
    await new Promise((r) => setTimeout(r, TYPE_DELAY_MS));
  }
  rfb?.focus();
});

connect();
