// A real OpenID provider (panva's certified `oidc-provider`) on loopback, for dagu-auth's OIDC
// tests. Usage and the config file's keys: README.md beside this file.
//
// One process serves one issuer. Everything a test changes while it runs (the signing key, the key
// ID tokens are really signed with, claims written over them, accounts, redirect URIs, sessions,
// an artificial delay) goes through the admin routes under /__admin/. Most changes build a fresh
// Provider instance over the same in-memory store (oidc-provider's memory adapter is one per
// process), because oidc-provider takes its keys and clients only at construction.

import {
  createHash, createPrivateKey, generateKeyPair, randomBytes, sign, timingSafeEqual,
} from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs, promisify } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const MAX_BODY_BYTES = 64 * 1024;
const SIGNING_ALG = 'RS256';

// ---------------------------------------------------------------------------------------------
// Configuration

const { values: args } = parseArgs({
  options: {
    config: { type: 'string' },
    port: { type: 'string' },
    issuer: { type: 'string' },
  },
});

function readConfig() {
  const config = args.config ? JSON.parse(readFileSync(args.config, 'utf8')) : {};
  if (args.port !== undefined) config.port = Number(args.port);
  if (args.issuer !== undefined) config.issuer = args.issuer;
  config.host ??= '127.0.0.1';
  config.port ??= 0;
  config.client ??= {};
  config.client.client_id ??= 'dagu-auth-test';
  config.client.client_secret ??= 'dagu-auth-test-secret';
  config.client.redirect_uris ??= ['http://127.0.0.1/oidc-callback'];
  config.client.token_endpoint_auth_method ??= 'client_secret_basic';
  config.pkce_required ??= true;
  config.claims_in_id_token ??= true;
  config.groups_claim ??= 'groups';
  config.groups_scope ??= 'groups';
  config.accounts ??= [];
  if (typeof config.accounts === 'string') {
    config.accounts = JSON.parse(readFileSync(config.accounts, 'utf8'));
  }
  return config;
}

const config = readConfig();

// ---------------------------------------------------------------------------------------------
// Keys: `signing` is published in the JWKS and signs tokens; `foreign` belongs to no published
// key set, as if a second provider had signed, and signs only when a test asks for it.

// RFC 7638: the key's own fingerprint, so every new key has a new kid.
function thumbprint({ e, kty, n }) {
  return createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url');
}

function signingJwk(jwk) {
  return { ...jwk, kid: jwk.kid ?? thumbprint(jwk), alg: SIGNING_ALG, use: 'sig' };
}

async function newKey() {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return signingJwk(privateKey.export({ format: 'jwk' }));
}

function loadKey(path) {
  const jwk = JSON.parse(readFileSync(path, 'utf8'));
  // Throws unless it is a usable private key.
  if (jwk.kty !== 'RSA' || createPrivateKey({ key: jwk, format: 'jwk' }).type !== 'private') {
    throw new Error(`${path}: not a private RSA JWK`);
  }
  return signingJwk(jwk);
}

// With `signing_key` set, that file holds the signing key across restarts: read when it exists,
// else written with a fresh key, and rewritten on every rotation.
async function initialSigningKey() {
  if (!config.signing_key) return newKey();
  if (existsSync(config.signing_key)) return loadKey(config.signing_key);
  const key = await newKey();
  writeFileSync(config.signing_key, JSON.stringify(key), { mode: 0o600 });
  return key;
}

async function rotateSigningKey() {
  state.signing = await newKey();
  if (config.signing_key) writeFileSync(config.signing_key, JSON.stringify(state.signing), { mode: 0o600 });
  buildProvider();
}

function publicPart({ kty, n, e, kid, alg, use }) {
  return { kty, n, e, kid, alg, use };
}

const state = {
  signing: await initialSigningKey(),
  // Keys rotated out but still published (rotate with keep_previous).
  retired: [],
  // Made on first use: a new RSA key takes a noticeable part of a second.
  foreign: undefined,
  // 'signing' | 'foreign' | 'foreign-same-kid'
  signWith: 'signing',
  delayMs: 0,
  // Part of the session cookie's name: a new value orphans every browser's provider session.
  sessionGeneration: 0,
  // Claims written over every ID token the token endpoint issues (a wrong nonce, aud, iss, an
  // exp in the past), re-signed with the key that signs; oidc-provider itself never errs so.
  idTokenOverrides: {},
  accounts: config.accounts,
  redirectUris: config.client.redirect_uris,
};

// The cookie keys stay the same across rebuilds so sessions and interactions survive them.
const cookieKeys = [randomBytes(32).toString('hex')];

// ---------------------------------------------------------------------------------------------
// Accounts

function loginName(account) {
  return account.username ?? account.preferred_username ?? account.sub;
}

function accountBySub(sub) {
  return state.accounts.find((account) => account.sub === sub);
}

function accountByLogin(name) {
  return state.accounts.find((account) => loginName(account) === name);
}

function claimsOf(account) {
  const claims = {
    sub: account.sub,
    email: account.email,
    email_verified: account.email_verified,
    name: account.name,
    preferred_username: account.preferred_username,
    [config.groups_claim]: account.groups,
    ...account.claims,
  };
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}

// Extra claims (account.claims) travel with the profile scope, so role_attribute_path tests can
// read any shape of claim. The groups claim comes with `groups_scope`: its own `groups` scope by
// default, or e.g. `profile`, for relying parties that ask only for Dagu's default scopes.
function scopeClaims() {
  const extra = new Set(state.accounts.flatMap((account) => Object.keys(account.claims ?? {})));
  const claims = {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', ...extra],
    groups: [],
  };
  claims[config.groups_scope] = [...(claims[config.groups_scope] ?? []), config.groups_claim];
  return claims;
}

// ---------------------------------------------------------------------------------------------
// The Provider instance, rebuilt on every change

let issuer;
let issuerPath;
let provider;
let handle;

function keysToSignWith() {
  switch (state.signWith) {
    case 'foreign':
      return [state.foreign];
    case 'foreign-same-kid':
      return [{ ...state.foreign, kid: state.signing.kid }];
    default:
      return [state.signing];
  }
}

function buildProvider() {
  const next = new Provider(issuer, {
    clients: [{
      client_id: config.client.client_id,
      client_secret: config.client.client_secret,
      redirect_uris: state.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: config.client.token_endpoint_auth_method,
      id_token_signed_response_alg: SIGNING_ALG,
    }],
    jwks: { keys: keysToSignWith() },
    cookies: {
      keys: cookieKeys,
      names: {
        session: `_session${state.sessionGeneration}`,
        interaction: '_interaction',
        resume: '_interaction_resume',
      },
    },
    claims: scopeClaims(),
    scopes: [...new Set(['openid', 'email', 'profile', 'groups', config.groups_scope])],
    responseTypes: ['code'],
    // Explicit lifetimes (seconds) also keep oidc-provider from printing a notice for each.
    ttl: {
      AccessToken: 600, AuthorizationCode: 60, Grant: 3600, IdToken: 600, Interaction: 600, Session: 3600,
    },
    pkce: { required: () => config.pkce_required },
    // false: the ID token carries every claim its scopes grant (as Keycloak and Authentik do);
    // true: only `sub` and the protocol claims, the rest from userinfo.
    conformIdTokenClaims: !config.claims_in_id_token,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `${issuerPath}/interaction/${interaction.uid}` },
    findAccount: (ctx, sub) => {
      const account = accountBySub(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: () => claimsOf(account) };
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<p id="provider-error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
    },
  });
  next.on('server_error', (ctx, error) => console.error('server_error', error));
  provider = next;
  handle = next.callback();
}

// ---------------------------------------------------------------------------------------------
// Pages (stable ids for the browser tests)

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>`
    + `<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, error) {
  const action = `${issuerPath}/interaction/${uid}`;
  return page('Sign in to the test provider', `
    ${error ? `<p id="login-error">${escape(error)}</p>` : ''}
    <form id="login-form" method="post" action="${action}/login" autocomplete="off">
      <label>Username <input id="login-username" name="username" autofocus></label>
      <label>Password <input id="login-password" name="password" type="password"></label>
      <button id="login-submit" type="submit">Sign in</button>
    </form>
    <a id="login-abort" href="${action}/abort">Cancel</a>`);
}

function consentPage(uid, clientId, scopes) {
  const action = `${issuerPath}/interaction/${uid}`;
  return page('Authorize', `
    <p>Client <span id="consent-client">${escape(clientId)}</span> asks for
    <span id="consent-scopes">${escape(scopes.join(' '))}</span>.</p>
    <form id="consent-form" method="post" action="${action}/confirm">
      <button id="consent-submit" type="submit">Allow</button>
    </form>
    <a id="consent-deny" href="${action}/abort">Deny</a>`);
}

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readJson(req) {
  const text = await readBody(req);
  return text ? JSON.parse(text) : {};
}

// ---------------------------------------------------------------------------------------------
// Interactions: login (username and password from the accounts), then consent

async function interaction(req, res, uid, step) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.InvalidRequest('interaction mismatch');
  const { prompt, params, session } = details;

  if (step === 'abort') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
  }
  if (req.method === 'GET' && step === undefined) {
    if (prompt.name === 'login') return send(res, 200, 'text/html', loginPage(uid));
    const scopes = String(params.scope ?? '').split(' ').filter(Boolean);
    return send(res, 200, 'text/html', consentPage(uid, params.client_id, scopes));
  }
  if (req.method === 'POST' && step === 'login' && prompt.name === 'login') {
    const form = new URLSearchParams(await readBody(req));
    const account = accountByLogin(form.get('username') ?? '');
    if (!account || !sameText(account.password ?? '', form.get('password') ?? '')) {
      return send(res, 200, 'text/html', loginPage(uid, 'Invalid username or password.'));
    }
    return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
      mergeWithLastSubmission: false,
    });
  }
  if (req.method === 'POST' && step === 'confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims } = prompt.details;
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
    const grantId = await grant.save();
    return provider.interactionFinished(req, res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  }
  return send(res, 400, 'text/plain', `unexpected ${req.method} for the ${prompt.name} prompt`);
}

function sameText(a, b) {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

// ---------------------------------------------------------------------------------------------
// Admin routes for the tests

async function admin(req, res, route) {
  const expected = config.admin_token;
  const given = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  if (expected && !sameText(expected, given)) return sendJson(res, 401, { error: 'admin token' });
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'POST only' });
  const body = await readJson(req);
  switch (route) {
    case 'rotate': {
      const previous = state.signing;
      if (body.keep_previous) state.retired.push(previous);
      await rotateSigningKey();
      return sendJson(res, 200, { kid: state.signing.kid, previous_kid: previous.kid });
    }
    case 'sign-with': {
      if (!['signing', 'foreign', 'foreign-same-kid'].includes(body.key)) {
        return sendJson(res, 400, { error: 'key must be signing, foreign or foreign-same-kid' });
      }
      state.signWith = body.key;
      state.foreign ??= await newKey();
      buildProvider();
      return sendJson(res, 200, { key: state.signWith });
    }
    case 'accounts': {
      if (!Array.isArray(body.accounts)) return sendJson(res, 400, { error: 'accounts must be a list' });
      state.accounts = body.accounts;
      buildProvider();
      return sendJson(res, 200, { accounts: state.accounts.length });
    }
    case 'redirect-uris': {
      if (!Array.isArray(body.redirect_uris)) {
        return sendJson(res, 400, { error: 'redirect_uris must be a list' });
      }
      state.redirectUris = body.redirect_uris;
      buildProvider();
      return sendJson(res, 200, { redirect_uris: state.redirectUris });
    }
    case 'id-token-claims': {
      if (typeof body.claims !== 'object' || body.claims === null || Array.isArray(body.claims)) {
        return sendJson(res, 400, { error: 'claims must be an object' });
      }
      state.idTokenOverrides = body.claims;
      return sendJson(res, 200, { claims: state.idTokenOverrides });
    }
    case 'forget-sessions': {
      state.sessionGeneration += 1;
      buildProvider();
      return sendJson(res, 200, { generation: state.sessionGeneration });
    }
    case 'delay': {
      state.delayMs = Math.max(0, Number(body.ms) || 0);
      return sendJson(res, 200, { ms: state.delayMs });
    }
    default:
      return sendJson(res, 404, { error: `no admin route ${route}` });
  }
}

// ---------------------------------------------------------------------------------------------
// ID token overrides

function base64urlJson(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function overriddenIdToken(idToken) {
  const [header, payload] = idToken.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url')));
  const claims = { ...payload, ...state.idTokenOverrides };
  // null removes a claim (e.g. an ID token without a nonce).
  const kept = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null));
  const input = `${base64urlJson(header)}.${base64urlJson(kept)}`;
  const key = createPrivateKey({ key: keysToSignWith()[0], format: 'jwk' });
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

// oidc-provider (through Koa) answers the token request with one res.end(body).
function rewriteIdTokenIn(res) {
  const end = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (chunk === undefined || typeof chunk === 'function' || res.statusCode !== 200) {
      return end(chunk, ...rest);
    }
    const answer = JSON.parse(Buffer.from(chunk).toString('utf8'));
    if (answer.id_token) answer.id_token = overriddenIdToken(answer.id_token);
    const body = JSON.stringify(answer);
    res.setHeader('content-length', Buffer.byteLength(body));
    return end(body, ...rest);
  };
}

// ---------------------------------------------------------------------------------------------
// Routing

// The published key set: what a relying party may trust, whichever key currently signs.
function jwks() {
  return { keys: [state.signing, ...state.retired].map(publicPart) };
}

async function route(req, res) {
  const url = new URL(req.url, 'http://provider.invalid');
  const adminMatch = /^\/__admin\/([a-z-]+)$/.exec(url.pathname);
  if (adminMatch) return admin(req, res, adminMatch[1]);

  if (state.delayMs > 0) await new Promise((resolve) => { setTimeout(resolve, state.delayMs); });

  if (url.pathname !== issuerPath && !url.pathname.startsWith(`${issuerPath}/`)) {
    return send(res, 404, 'text/plain', 'not found');
  }
  const path = url.pathname.slice(issuerPath.length) || '/';
  if (path === '/jwks' && req.method === 'GET') {
    return send(res, 200, 'application/jwk-set+json', JSON.stringify(jwks()));
  }
  const interactionMatch = /^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/.exec(path);
  if (interactionMatch) return interaction(req, res, interactionMatch[1], interactionMatch[2]);

  if (path === '/token' && Object.keys(state.idTokenOverrides).length > 0) {
    rewriteIdTokenIn(res);
  }

  // As a mounted app: oidc-provider finds its mount path from originalUrl.
  req.originalUrl = req.url;
  req.url = req.url.slice(issuerPath.length) || '/';
  return handle(req, res);
}

const server = createServer((req, res) => {
  route(req, res).catch((error) => {
    console.error(`${req.method} ${req.url}:`, error);
    if (!res.headersSent) {
      const status = error.statusCode ?? error.status ?? 500;
      send(res, status, 'text/plain', `${error.name}: ${error.message}`);
    } else {
      res.destroy();
    }
  });
});

server.listen(config.port, config.host, () => {
  const { port } = server.address();
  issuer = (config.issuer ?? `http://${config.host}:${port}${config.issuer_path ?? ''}`).replace(/\/$/, '');
  issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
  buildProvider();
  console.log(`READY ${issuer} ${state.signing.kid}`);
});

function stop() {
  server.closeAllConnections();
  server.close(() => process.exit(0));
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', async () => {
  await rotateSigningKey();
  console.log(`ROTATED ${state.signing.kid}`);
});
