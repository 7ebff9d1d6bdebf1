// The web UI of host-demo: plain JavaScript over the HTTP API (/api/v1/auth/*, /api/v1/users*).
// The account page lists the caller's sessions (GET /auth/sessions) to end one or all others.
//
// The session token lives in sessionStorage: the API takes bearer tokens only, so nothing is sent
// automatically (no CSRF surface), and the token ends with the tab. Pages never build HTML from
// data: every value goes through textContent, and the CSP forbids inline script.
'use strict';

const TOKEN_KEY = 'dagu-auth.token';
const ROLES = ['admin', 'manager', 'developer', 'operator', 'viewer'];
const GRANT_ROLES = ['manager', 'developer', 'operator', 'viewer'];
const ROLE_NAMES = { admin: 'Admin', manager: 'Manager', developer: 'Developer', operator: 'Operator', viewer: 'Viewer' };

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else if (value === true) node.setAttribute(name, '');
    else if (value !== false && value !== undefined) node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

class ApiError extends Error {
  constructor(status, message, data = null) {
    super(message);
    this.status = status;
    // The answer's JSON: `code`, and the `mfaToken` of a sign-in's second step.
    this.data = data;
  }
}

const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

// Only this origin's pages are followed after sign-in. The value is parsed the way the browser
// will follow it, because a prefix test cannot see what the parser does: it drops tabs and newlines
// and reads a backslash as a slash, so `/<TAB>/evil.example` and `/\evil.example` both mean
// `//evil.example`. The parsed URL is what is followed, so what was checked is what is visited.
function safeNext(value) {
  if (!value) return null;
  let url;
  try { url = new URL(value, location.origin); } catch (e) { return null; }
  if (url.origin !== location.origin || url.pathname.startsWith('/login')) return null;
  return url.href;
}

function toLogin(reason) {
  session.token = null;
  const next = location.pathname + location.search;
  const params = new URLSearchParams({ next });
  if (reason) params.set(reason, '1');
  location.assign('/login?' + params);
}

// A 401 on a signed-in call means the session ended (expired, revoked or signed out elsewhere).
async function api(method, path, body, { signedIn = true, expireOn401 = signedIn } = {}) {
  const headers = {};
  if (signedIn && session.token) headers.Authorization = 'Bearer ' + session.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch('/api/v1' + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached. Check your connection and try again.');
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (response.status === 401 && expireOn401) {
    toLogin('expired');
    throw new ApiError(401, 'Your session has expired.');
  }
  if (!response.ok) {
    const retry = response.headers.get('Retry-After');
    let message = (data && data.message) || `Request failed (${response.status})`;
    if (response.status === 429 && retry) message += ` Try again in ${retry} seconds.`;
    // A role that requires two-factor sign-in: the account page is where it is set up.
    if (response.status === 403 && data && data.code === 'mfa_enrollment_required'
        && location.pathname !== '/account') {
      location.assign('/account?enrol=1');
    }
    throw new ApiError(response.status, message, data);
  }
  return data;
}

function showMessage(node, message) {
  node.textContent = message || '';
  node.hidden = !message;
}

// Runs a form's submit handler with the button disabled and the server's message on failure.
function handleForm(form, errorNode, submit) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('button[type=submit]', form);
    showMessage(errorNode, '');
    button.disabled = true;
    try {
      await submit();
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 401 && session.token === null)) {
        showMessage(errorNode, e.message);
        errorNode.focus?.();
      }
    } finally {
      button.disabled = false;
    }
  });
}

function accessSummary(access) {
  if (!access || access.all) return 'All workspaces';
  return access.grants.map((g) => `${g.workspace} (${ROLE_NAMES[g.role] || g.role})`).join(', ');
}

function roleOptions(select, roles, selected) {
  select.replaceChildren(...roles.map((r) => el('option', { value: r, text: ROLE_NAMES[r], selected: r === selected })));
}

// {setupRequired, setupCodeRequired}: an exposed fresh install also asks for the code in its log.
async function setupStatus() {
  return (await api('GET', '/auth/setup', undefined, { signedIn: false })) || {};
}

// Every signed-in page: who am I, and the navigation for my role.
async function requireUser() {
  if (!session.token) {
    toLogin();
    throw new ApiError(401, 'not signed in');
  }
  const { user } = await api('GET', '/auth/me');
  $('#nav').hidden = false;
  $('#nav-users').hidden = user.role !== 'admin';
  $('#whoami').textContent = `${user.username} (${ROLE_NAMES[user.role] || user.role})`;
  $('#sign-out').addEventListener('click', async () => {
    try { await api('POST', '/auth/logout', undefined, { expireOn401: false }); } catch (e) { /* signed out anyway */ }
    session.token = null;
    location.assign('/login?signedout=1');
  });
  return user;
}

function landingFor(user) {
  return user.role === 'admin' ? '/users' : '/account';
}

// ---- pages -------------------------------------------------------------------------------

const pages = {};

pages.home = async () => {
  const user = await requireUser();
  location.replace(landingFor(user));
};

pages.setup = async () => {
  const status = await setupStatus();
  if (!status.setupRequired) {
    location.replace('/login');
    return;
  }
  const codeRequired = Boolean(status.setupCodeRequired);
  $('#setup-code-field').hidden = !codeRequired;
  const form = $('#setup-form');
  $('#setup-username').focus();
  handleForm(form, $('#setup-error'), async () => {
    const username = $('#setup-username').value.trim();
    const password = $('#setup-password').value;
    if (!username) throw new ApiError(400, 'Enter a username.');
    if (password !== $('#setup-confirm').value) throw new ApiError(400, 'The passwords do not match.');
    const body = { username, password };
    if (codeRequired) body.setupCode = $('#setup-code').value.trim();
    const login = await api('POST', '/auth/setup', body, { signedIn: false });
    session.token = login.token;
    location.assign('/users');
  });
};

pages.login = async () => {
  const params = new URLSearchParams(location.search);
  // An SSO sign-in lands here with the session token in the fragment, which no server sees.
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('token')) {
    session.token = fragment.get('token');
    history.replaceState(null, '', '/login');
    const me = await api('GET', '/auth/me');
    location.assign(landingFor(me.user));
    return;
  }
  if (params.get('error')) showMessage($('#login-error'), params.get('error'));
  ssoButtons().catch(() => {});
  const notice = $('#login-notice');
  if (params.has('expired')) showMessage(notice, 'Your session has expired. Sign in again to continue.');
  else if (params.has('signedout')) showMessage(notice, 'You have signed out.');
  else if (params.has('changed')) showMessage(notice, 'Your password was changed. Sign in with the new password.');
  $('#login-username').focus();
  handleForm($('#login-form'), $('#login-error'), async () => {
    const username = $('#login-username').value.trim();
    const password = $('#login-password').value;
    let login;
    try {
      login = await api('POST', '/auth/login', { username, password }, { signedIn: false });
    } catch (e) {
      if (!(e instanceof ApiError && e.data && e.data.code === 'mfa_required')) throw e;
      askForCode(e.data.mfaToken, params);
      return;
    }
    session.token = login.token;
    location.assign(safeNext(params.get('next')) || landingFor(login.user));
  });
};

function localTime(text) {
  const when = text ? new Date(text) : null;
  return when && !Number.isNaN(when.getTime()) ? when.toLocaleString() : '';
}

// The caller's sessions, each with a button that ends it; ending the current one signs out.
// Answers the list's refresh, for the page to call after a change that ends sessions.
async function sessionsSection() {
  const status = $('#sessions-status');
  const tbody = $('#sessions-table tbody');
  const endOthers = $('#sessions-end-others');

  async function refresh(message) {
    const { sessions } = await api('GET', '/auth/sessions');
    tbody.replaceChildren(...sessions.map(row));
    endOthers.disabled = sessions.length < 2;
    showMessage(status, message);
  }

  function row(s) {
    const client = s.userAgent || 'Unknown client';
    const end = el('button', {
      type: 'button', class: s.current ? 'secondary' : 'danger', 'data-action': 'end-session',
      'data-current': s.current ? 'true' : 'false',
      'aria-label': s.current ? 'Sign out this session' : `End the session of ${client}`,
      text: s.current ? 'Sign out' : 'End',
    });
    end.addEventListener('click', async () => {
      try {
        await api('DELETE', `/auth/sessions/${encodeURIComponent(s.id)}`, undefined, { expireOn401: !s.current });
        if (s.current) {
          session.token = null;
          location.assign('/login?signedout=1');
          return;
        }
        await refresh('Session ended. It is signed out on its next request.');
      } catch (e) {
        showMessage(status, e.message);
      }
    });
    return el('tr', { 'data-session': s.id, 'data-current': s.current ? 'true' : 'false' },
      el('th', { scope: 'row', 'data-label': 'Browser or client' }, client,
        s.current ? el('span', { class: 'you', text: ' (this session)' }) : ''),
      el('td', { 'data-label': 'Address', text: s.clientIp || 'Unknown' }),
      el('td', { 'data-label': 'Signed in', text: localTime(s.createdAt) }),
      el('td', { 'data-label': 'Last used', text: localTime(s.lastUsedAt) }),
      el('td', { class: 'row-actions', 'data-label': 'Actions' }, end));
  }

  endOthers.addEventListener('click', async () => {
    try {
      const { ended } = await api('DELETE', '/auth/sessions');
      await refresh(`Signed out ${ended} other session${ended === 1 ? '' : 's'}.`);
    } catch (e) {
      showMessage(status, e.message);
    }
  });
  await refresh('');
  return refresh;
}

// The second step of a sign-in: the password was right, the server asks for a code.
function askForCode(mfaToken, params) {
  $('#login-form').hidden = true;
  const form = $('#mfa-form');
  form.hidden = false;
  $('#mfa-code').focus();
  handleForm(form, $('#mfa-error'), async () => {
    const code = $('#mfa-code').value.trim();
    const login = await api('POST', '/auth/login/mfa', { mfaToken, code }, { signedIn: false });
    session.token = login.token;
    location.assign(safeNext(params.get('next')) || landingFor(login.user));
  });
}

// One button per SSO door the plugin has configured; each is a plain link, since the sign-in is
// a chain of top-level navigations (the provider, then the callback).
async function ssoButtons() {
  const doors = await api('GET', '/auth/sso', undefined, { signedIn: false });
  const box = $('#sso-buttons');
  for (const door of [doors.oidc, doors.proxy]) {
    if (door) box.append(el('a', { class: 'button sso', href: door.loginPath, text: door.buttonLabel }));
  }
}

pages.account = async () => {
  const user = await requireUser();
  $('#account-username').textContent = user.username;
  $('#account-role').textContent = ROLE_NAMES[user.role] || user.role;
  $('#account-access').textContent = accessSummary(user.workspaceAccess);
  twoFactor(user);
  // A user whose role requires two-factor sign-in may do nothing else until it is set up, listing
  // sessions included: the page still offers the setup, and says why the list is missing.
  let refreshSessions = async () => {};
  try {
    refreshSessions = await sessionsSection();
  } catch (e) {
    showMessage($('#sessions-status'), e.message);
  }
  handleForm($('#account-form'), $('#account-error'), async () => {
    const currentPassword = $('#current-password').value;
    const newPassword = $('#new-password').value;
    if (newPassword !== $('#confirm-password').value) throw new ApiError(400, 'The new passwords do not match.');
    // A 401 here is a wrong current password, not an ended session.
    await api('POST', '/auth/change-password', { currentPassword, newPassword }, { expireOn401: false });
    // The change ends every session, this one too: sign in again with the new password.
    try {
      const login = await api('POST', '/auth/login', { username: user.username, password: newPassword }, { signedIn: false });
      session.token = login.token;
    } catch (e) {
      session.token = null;
      location.assign('/login?changed=1');
      return;
    }
    $('#account-form').reset();
    showMessage($('#account-status'), 'Password changed. Your other sessions have been signed out.');
    await refreshSessions('');
  });
};

// Two-factor setup: a new secret (its QR code drawn by the host at /qr.svg), confirmed with a
// code from the app; the recovery codes are shown once.
function twoFactor(user) {
  const state = $('#mfa-state');
  const start = $('#mfa-start');
  $('#mfa-required').hidden = !new URLSearchParams(location.search).has('enrol');
  state.textContent = user.mfaEnabled ? 'On: sign-in asks for a code from your authenticator app.' : 'Off.';
  start.hidden = Boolean(user.mfaEnabled);
  start.addEventListener('click', async () => {
    showMessage($('#mfa-error'), '');
    try {
      const setup = await api('POST', '/auth/mfa/totp/setup');
      const response = await fetch('/qr.svg', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ text: setup.otpauthUrl }),
      });
      if (!response.ok) throw new ApiError(response.status, 'The QR code could not be drawn.');
      const svg = await response.text();
      $('#mfa-qr').src = 'data:image/svg+xml;base64,' + btoa(svg);
      $('#mfa-secret').textContent = setup.secret;
      start.hidden = true;
      $('#mfa-setup').hidden = false;
      $('#mfa-confirm-code').focus();
    } catch (e) {
      showMessage($('#mfa-error'), e.message);
    }
  });
  handleForm($('#mfa-setup'), $('#mfa-error'), async () => {
    const code = $('#mfa-confirm-code').value.trim();
    const { recoveryCodes } = await api('POST', '/auth/mfa/totp/confirm', { code });
    $('#mfa-setup').hidden = true;
    $('#mfa-required').hidden = true;
    state.textContent = 'On: sign-in asks for a code from your authenticator app.';
    $('#mfa-recovery-codes').replaceChildren(...recoveryCodes.map((c) => el('li', { text: c })));
    $('#mfa-recovery').hidden = false;
  });
}

// The role and workspace-access editor, shared by the create and edit dialogs.
function accessEditor(container, prefix) {
  let counter = 0;
  const role = el('select', { id: `${prefix}-role` });
  roleOptions(role, ROLES, 'viewer');
  const hint = el('p', { class: 'hint', id: `${prefix}-role-hint`, hidden: true,
    text: 'With selected workspaces the account role is Viewer; each workspace has its own role below.' });
  const all = el('input', { type: 'radio', name: `${prefix}-scope`, id: `${prefix}-scope-all`, value: 'all', checked: true });
  const selected = el('input', { type: 'radio', name: `${prefix}-scope`, id: `${prefix}-scope-selected`, value: 'selected' });
  const rows = el('div', { class: 'grant-rows' });
  const add = el('button', { type: 'button', class: 'secondary', id: `${prefix}-add-grant`, text: 'Add workspace' });
  const grants = el('div', { class: 'grants', id: `${prefix}-grants`, hidden: true }, rows, add);

  function addRow(workspace = '', grantRole = 'viewer') {
    counter += 1;
    const n = counter;
    const name = el('input', { id: `${prefix}-ws-${n}`, class: 'grant-workspace', value: workspace, autocomplete: 'off', required: true });
    const select = el('select', { id: `${prefix}-wr-${n}`, class: 'grant-role' });
    roleOptions(select, GRANT_ROLES, grantRole);
    const remove = el('button', { type: 'button', class: 'secondary remove', text: 'Remove' });
    const row = el('div', { class: 'grant' },
      el('div', {}, el('label', { for: name.id, text: 'Workspace' }), name),
      el('div', {}, el('label', { for: select.id, text: 'Role in workspace' }), select),
      remove);
    remove.addEventListener('click', () => {
      row.remove();
      renumber();
      add.focus();
    });
    rows.append(row);
    renumber();
    return name;
  }
  // Remove buttons name their row for screen readers.
  function renumber() {
    [...rows.children].forEach((row, i) => {
      const ws = $('.grant-workspace', row).value || `row ${i + 1}`;
      $('.remove', row).setAttribute('aria-label', `Remove workspace ${ws}`);
    });
  }
  function sync() {
    const scoped = selected.checked;
    grants.hidden = !scoped;
    hint.hidden = !scoped;
    if (scoped) role.value = 'viewer';
    role.disabled = scoped;
    if (scoped && rows.children.length === 0) addRow();
  }
  all.addEventListener('change', sync);
  selected.addEventListener('change', sync);
  add.addEventListener('click', () => addRow().focus());
  rows.addEventListener('input', renumber);

  container.replaceChildren(
    el('label', { for: role.id, text: 'Role' }), role, hint,
    el('fieldset', {},
      el('legend', { text: 'Workspace access' }),
      el('label', { class: 'choice' }, all, ' All workspaces'),
      el('label', { class: 'choice' }, selected, ' Selected workspaces'),
      grants));

  return {
    set(user) {
      rows.replaceChildren();
      const access = user ? user.workspaceAccess : { all: true, grants: [] };
      (access.all ? all : selected).checked = true;
      for (const g of access.grants || []) addRow(g.workspace, g.role);
      sync();
      role.value = user ? user.role : 'viewer';
    },
    value() {
      const scoped = selected.checked;
      return {
        role: scoped ? 'viewer' : role.value,
        workspaceAccess: scoped
          ? { all: false, grants: [...rows.children].map((row) => ({ workspace: $('.grant-workspace', row).value.trim(), role: $('.grant-role', row).value })) }
          : { all: true, grants: [] },
      };
    },
  };
}

function dialog(id) {
  const node = $(id);
  for (const close of node.querySelectorAll('[data-close]')) close.addEventListener('click', () => node.close());
  return node;
}

pages.users = async () => {
  const me = await requireUser();
  if (me.role !== 'admin') {
    $('#not-permitted').hidden = false;
    return;
  }
  const status = $('#users-status');
  const tbody = $('#users-table tbody');
  let current = null;
  let opener = null;

  const createDialog = dialog('#create-dialog');
  const editDialog = dialog('#edit-dialog');
  const resetDialog = dialog('#reset-dialog');
  const deleteDialog = dialog('#delete-dialog');
  const createAccess = accessEditor($('[data-access=create]'), 'create');
  const editAccess = accessEditor($('[data-access=edit]'), 'edit');
  // Focus returns to the button that opened a dialog, for keyboard users.
  for (const d of [createDialog, editDialog, resetDialog, deleteDialog]) {
    d.addEventListener('close', () => opener && opener.isConnected && opener.focus());
  }

  // Providers that overwrite a user's role or workspaces at every SSO sign-in: edits to those
  // fields would not last, so they are shown read-only with the reason.
  let managed = { role: [], workspaces: [] };
  async function refresh(message) {
    const list = await api('GET', '/users');
    managed = { role: list.managedRoleProviders || [], workspaces: list.managedWorkspaceAccessProviders || [] };
    tbody.replaceChildren(...list.users.map(row));
    $('#users-admin').hidden = false;
    showMessage(status, message);
  }

  function open(d, user, focus) {
    current = user;
    opener = document.activeElement;
    for (const error of d.querySelectorAll('.error')) showMessage(error, '');
    d.showModal();
    $(focus, d).focus();
  }

  function row(user) {
    const me_ = user.id === me.id;
    const action = (name, label, handler, cls = 'secondary') => {
      const button = el('button', { type: 'button', class: cls, 'data-action': name, 'data-user': user.username,
        'aria-label': `${label} ${user.username}`, text: label });
      button.addEventListener('click', handler);
      return button;
    };
    const provider = user.authProvider || 'builtin';
    const roleManaged = managed.role.includes(provider);
    const workspacesManaged = managed.workspaces.includes(provider);
    const reason = `managed by ${provider === 'oidc' ? 'SSO' : 'the proxy'}: set at every sign-in`;
    const actions = el('td', { class: 'row-actions', 'data-label': 'Actions' });
    if (!roleManaged || !workspacesManaged) actions.append(
      action('edit', 'Edit', () => {
        $('#edit-title').textContent = `Edit ${user.username}`;
        editAccess.set(user);
        open(editDialog, user, '#edit-role');
      }));
    // One's own password is changed on the account page, with the current one; an SSO user's
    // password belongs to the provider.
    if (!me_ && provider === 'builtin') {
      actions.append(
        action('reset', 'Reset password', () => {
          $('#reset-form').reset();
          $('#reset-title').textContent = `Reset password for ${user.username}`;
          open(resetDialog, user, '#reset-password');
        }));
    }
    if (!me_) {
      actions.append(
        action(user.isDisabled ? 'enable' : 'disable', user.isDisabled ? 'Enable' : 'Disable', async () => {
          try {
            await api('PATCH', `/users/${encodeURIComponent(user.id)}`, { isDisabled: !user.isDisabled });
            await refresh(`${user.isDisabled ? 'Enabled' : 'Disabled'} ${user.username}.`);
          } catch (e) {
            showMessage(status, e.message);
          }
        }),
        // Signs the user out everywhere; their password and API keys stay.
        action('end-sessions', 'End sessions', async () => {
          try {
            const { ended } = await api('DELETE', `/users/${encodeURIComponent(user.id)}/sessions`);
            await refresh(`Ended ${ended} session${ended === 1 ? '' : 's'} of ${user.username}.`);
          } catch (e) {
            showMessage(status, e.message);
          }
        }),
        action('delete', 'Delete', () => {
          $('#delete-text').textContent = `Delete ${user.username}? They are signed out and cannot sign in again. This cannot be undone.`;
          open(deleteDialog, user, '#delete-confirm');
        }, 'danger'));
    }
    return el('tr', { 'data-username': user.username },
      el('th', { scope: 'row', 'data-label': 'Username' }, user.username, me_ ? el('span', { class: 'you', text: ' (you)' }) : ''),
      el('td', { 'data-label': 'Role' }, ROLE_NAMES[user.role] || user.role,
        roleManaged ? el('span', { class: 'hint managed', 'data-managed': 'role', text: ` (${reason})` }) : ''),
      el('td', { 'data-label': 'Workspaces' }, accessSummary(user.workspaceAccess),
        workspacesManaged ? el('span', { class: 'hint managed', 'data-managed': 'workspaces', text: ` (${reason})` }) : ''),
      el('td', { 'data-label': 'Status' }, el('span', { class: user.isDisabled ? 'badge off' : 'badge on', text: user.isDisabled ? 'Disabled' : 'Active' })),
      el('td', { 'data-label': 'Created', text: (user.createdAt || '').slice(0, 10) }),
      actions);
  }

  $('#create-open').addEventListener('click', () => {
    $('#create-form').reset();
    createAccess.set(null);
    open(createDialog, null, '#create-username');
  });
  handleForm($('#create-form'), $('#create-error'), async () => {
    const body = { username: $('#create-username').value.trim(), password: $('#create-password').value, ...createAccess.value() };
    const { user } = await api('POST', '/users', body);
    createDialog.close();
    await refresh(`Created ${user.username}.`);
  });
  handleForm($('#edit-form'), $('#edit-error'), async () => {
    const { user } = await api('PATCH', `/users/${encodeURIComponent(current.id)}`, editAccess.value());
    editDialog.close();
    await refresh(`Saved ${user.username}.`);
  });
  handleForm($('#reset-form'), $('#reset-error'), async () => {
    const newPassword = $('#reset-password').value;
    if (newPassword !== $('#reset-confirm').value) throw new ApiError(400, 'The passwords do not match.');
    await api('POST', `/users/${encodeURIComponent(current.id)}/reset-password`, { newPassword });
    resetDialog.close();
    await refresh(`Password reset for ${current.username}; they have been signed out.`);
  });
  handleForm($('#delete-form'), $('#delete-error'), async () => {
    await api('DELETE', `/users/${encodeURIComponent(current.id)}`);
    deleteDialog.close();
    await refresh(`Deleted ${current.username}.`);
  });

  await refresh('');
};

document.addEventListener('DOMContentLoaded', async () => {
  const page = document.body.dataset.page;
  try {
    await pages[page]();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return; // on its way to /login
    const main = $('#main');
    main.prepend(el('p', { class: 'error', role: 'alert', text: e.message }));
  }
});
