// The provider endpoints of the fake push gateway (gateway.mjs): APNs, FCM HTTP
// v1 (token exchange and messages:send) and a JSON webhook. Each handler takes
// the request context and returns either a rejection naming the failed check,
// with the provider's own error answer, or an accepted request: its device
// token, the app payload to print, the 200 answer and the answer for each
// behaviour mode. The checks are listed above each handler, in the order they
// are made; the formats are the ones protocols/push/push.hpp specifies.

import crypto from 'node:crypto';

const APNS_VOIP_PAYLOAD_LIMIT = 5120; // APNs: VoIP pushes may carry 5 KB
const PUSH_KINDS = new Set(['call', 'message', 'refresh', 'purr']);

// Set once at start by configure_providers().
let cfg = {};
let apns_key = null;
let fcm_key = null;
let access_tokens = new Map();   // issued FCM access token -> {client_email, expires_at_ms}

/// cfg: the gateway's configuration; apns_key/fcm_key: KeyObjects (or null);
/// tokens: the map of issued FCM access tokens, shared with the gateway.
export function configure_providers(config, keys, tokens) {
  cfg = config;
  apns_key = keys.apns;
  fcm_key = keys.fcm;
  access_tokens = tokens;
}

// -- small helpers --------------------------------------------------------------------

export const is_object = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const now_s = () => Math.floor(Date.now() / 1000);

/// A percent-decoded path segment, or null when the escapes are malformed.
function decode_segment(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

export function parse_json(text) {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: e.message };
  }
}

/// Names of headers sent more than once (rawHeaders is [name, value, name, value...]).
function repeated_headers(req, names) {
  const seen = new Map();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const n = req.rawHeaders[i].toLowerCase();
    seen.set(n, (seen.get(n) || 0) + 1);
  }
  return names.filter((n) => (seen.get(n) || 0) > 1);
}

/// Decodes a compact JWS without trusting it: {header, claims, signing_input, signature}
/// or {error}. Segments must be unpadded base64url (RFC 7515 §2), as JWS requires.
function decode_jwt(jwt) {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { error: `not a compact JWS: ${parts.length} segments, want 3` };
  const names = ['header', 'claims', 'signature'];
  for (let i = 0; i < 3; i++) {
    if (!/^[A-Za-z0-9_-]+$/.test(parts[i]) || parts[i].length % 4 === 1) {
      return { error: `JWT ${names[i]} is not unpadded base64url` };
    }
  }
  const header = parse_json(Buffer.from(parts[0], 'base64url').toString('utf8'));
  if (!header.ok || !is_object(header.value)) return { error: 'JWT header is not a JSON object' };
  const claims = parse_json(Buffer.from(parts[1], 'base64url').toString('utf8'));
  if (!claims.ok || !is_object(claims.value)) return { error: 'JWT claims are not a JSON object' };
  return {
    header: header.value,
    claims: claims.value,
    signing_input: Buffer.from(`${parts[0]}.${parts[1]}`),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

/// null when the signature verifies, else why not.
function check_signature(jwt, key, alg) {
  if (jwt.header.alg !== alg) return `JWT alg is ${JSON.stringify(jwt.header.alg)}, want ${alg}`;
  if (alg === 'ES256') {
    // RFC 7518 §3.4: the ES256 signature is R||S, 64 bytes, not DER.
    if (jwt.signature.length !== 64) return `ES256 signature is ${jwt.signature.length} bytes, want 64 (R||S)`;
    const ok = crypto.verify('sha256', jwt.signing_input, { key, dsaEncoding: 'ieee-p1363' }, jwt.signature);
    return ok ? null : 'ES256 signature does not verify with the configured public key';
  }
  // RFC 7518 §3.3: RS256 is RSASSA-PKCS1-v1_5 with SHA-256.
  const ok = crypto.verify('sha256', jwt.signing_input,
                           { key, padding: crypto.constants.RSA_PKCS1_PADDING }, jwt.signature);
  return ok ? null : 'RS256 signature does not verify with the service account public key';
}

// -- answers --------------------------------------------------------------------------

export const answer = (status, json, headers = {}) => ({ status, json, headers });
const apns_error = (status, reason, headers = {}) => answer(status, { reason }, headers);

function google_error(code, status, message, details) {
  const error = { code, message, status };
  if (details) error.details = details;
  return answer(code, { error }, { 'content-type': 'application/json; charset=UTF-8' });
}
const fcm_error_detail = (code) => ({ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: code });

function fcm_invalid(message, field) {
  const details = [fcm_error_detail('INVALID_ARGUMENT')];
  if (field) {
    details.push({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field, description: message }],
    });
  }
  return google_error(400, 'INVALID_ARGUMENT', message, details);
}

const fcm_unauthenticated = () => {
  const a = google_error(401, 'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or ' +
    'other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
  a.headers['www-authenticate'] = 'Bearer realm="https://accounts.google.com/", error="invalid_token"';
  return a;
};

const oauth_error = (error, description, status = 400) =>
  answer(status, { error, error_description: description }, { 'content-type': 'application/json; charset=utf-8' });

/// What a provider handler returns: a rejection naming the failed check, or an
/// accepted request with its device token and the answer for each behaviour mode.
export const reject = (check, ans, token = null) => ({ valid: false, check, answer: ans, token });

// -- APNs: POST /3/device/<token> -----------------------------------------------------
// Checks, in order (the first failure answers):
//   method POST (405 MethodNotAllowed); path /3/device/<token> (404 BadPath, 400
//   MissingDeviceToken); HTTP/2 (505 unless --apns-allow-http1); no repeated apns-* or
//   authorization header (400 DuplicateHeaders); token hex (400 BadDeviceToken);
//   authorization "bearer <JWT>" (403 MissingProviderToken / InvalidProviderToken):
//   ES256 signature by the configured key, header kid = key id, iss = team id,
//   iat an integer within one hour (older: 403 ExpiredProviderToken);
//   apns-topic = topic (400 MissingTopic / BadTopic); apns-push-type voip (400
//   InvalidPushType); apns-priority 10 (400 BadPriority); apns-expiration digits (400
//   BadExpirationDate); apns-id a UUID when present (400 BadMessageId); body: not
//   empty (400 PayloadEmpty), at most 5120 bytes (413 PayloadTooLarge), a JSON object
//   with an "aps" object and string call_id, non-empty push_id, kind in
//   call|message|refresh|purr (APNs has no reason for malformed JSON: 400 PayloadEmpty).

function check_apns_auth(value) {
  if (value === undefined) return { reason: 'MissingProviderToken', check: 'authorization header missing' };
  const m = /^bearer +(\S+)$/i.exec(value);
  if (!m) return { reason: 'InvalidProviderToken', check: 'authorization is not "bearer <JWT>"' };
  const jwt = decode_jwt(m[1]);
  if (jwt.error) return { reason: 'InvalidProviderToken', check: jwt.error };
  const bad_sig = check_signature(jwt, apns_key, 'ES256');
  if (bad_sig) return { reason: 'InvalidProviderToken', check: bad_sig, jwt };
  if (jwt.header.kid !== cfg.apns_key_id) {
    return { reason: 'InvalidProviderToken', check: `JWT kid ${JSON.stringify(jwt.header.kid)} is not the key id ${cfg.apns_key_id}`, jwt };
  }
  if (jwt.claims.iss !== cfg.team_id) {
    return { reason: 'InvalidProviderToken', check: `JWT iss ${JSON.stringify(jwt.claims.iss)} is not the team id ${cfg.team_id}`, jwt };
  }
  const iat = jwt.claims.iat;
  if (!Number.isInteger(iat)) return { reason: 'InvalidProviderToken', check: 'JWT iat is not an integer', jwt };
  const age = now_s() - iat;
  // Apple refuses provider tokens older than an hour and ones from the future.
  if (age > 3600) return { reason: 'ExpiredProviderToken', check: `JWT iat is ${age} s old (> 3600)`, jwt };
  if (age < -3600) return { reason: 'InvalidProviderToken', check: `JWT iat is ${-age} s in the future (> 3600)`, jwt };
  return { jwt };
}

function apns(ctx) {
  const { req, path, rec } = ctx;
  if (req.method !== 'POST') return reject(`method ${req.method}, want POST`, apns_error(405, 'MethodNotAllowed'));
  if (ctx.query) return reject('query string in :path', apns_error(404, 'BadPath'));
  const m = /^\/3\/device(?:\/([^/]*))?$/.exec(path);
  if (!m) return reject(`path ${path} is not /3/device/<token>`, apns_error(404, 'BadPath'));
  const token = m[1] ? decode_segment(m[1]) : '';
  if (token === null) return reject(`device token ${m[1]} has bad percent escapes`, apns_error(400, 'BadDeviceToken'), m[1]);
  if (!token) return reject('no device token in :path', apns_error(400, 'MissingDeviceToken'));
  if (req.httpVersionMajor !== 2 && !cfg.apns_allow_http1) {
    return reject(`HTTP/${req.httpVersion}: APNs speaks HTTP/2 only`,
                  apns_error(505, 'HTTP/2 required'), token);
  }
  const dup = repeated_headers(req, ['authorization', 'apns-topic', 'apns-push-type', 'apns-priority',
                                     'apns-expiration', 'apns-id', 'apns-collapse-id']);
  if (dup.length) return reject(`repeated header(s): ${dup.join(', ')}`, apns_error(400, 'DuplicateHeaders'), token);
  if (!/^[0-9a-fA-F]+$/.test(token)) return reject(`device token ${JSON.stringify(token)} is not hex`, apns_error(400, 'BadDeviceToken'), token);
  if (!apns_key) return reject('gateway has no APNs public key configured', apns_error(500, 'InternalServerError'), token);

  const h = req.headers;
  const auth = check_apns_auth(h.authorization);
  if (auth.jwt) rec.jwt = { header: auth.jwt.header, claims: auth.jwt.claims };
  if (auth.reason) return reject(auth.check, apns_error(403, auth.reason), token);

  const topic = h['apns-topic'];
  if (topic === undefined) return reject('apns-topic header missing', apns_error(400, 'MissingTopic'), token);
  if (topic !== cfg.topic) return reject(`apns-topic ${JSON.stringify(topic)} is not ${JSON.stringify(cfg.topic)}`, apns_error(400, 'BadTopic'), token);
  if (h['apns-push-type'] !== 'voip') {
    return reject(`apns-push-type ${JSON.stringify(h['apns-push-type'] ?? null)}, want voip`, apns_error(400, 'InvalidPushType'), token);
  }
  // VoIP pushes must be delivered at once: priority 10 (a missing header is refused
  // too, so the switch always says so explicitly).
  if (h['apns-priority'] !== '10') {
    return reject(`apns-priority ${JSON.stringify(h['apns-priority'] ?? null)}, want 10`, apns_error(400, 'BadPriority'), token);
  }
  if (!/^[0-9]+$/.test(h['apns-expiration'] ?? '')) {
    return reject(`apns-expiration ${JSON.stringify(h['apns-expiration'] ?? null)} is not a number of seconds`, apns_error(400, 'BadExpirationDate'), token);
  }
  const apns_id = h['apns-id'];
  if (apns_id !== undefined && !UUID_RE.test(apns_id)) {
    return reject(`apns-id ${JSON.stringify(apns_id)} is not a UUID`, apns_error(400, 'BadMessageId'), token);
  }

  if (ctx.raw.length === 0) return reject('empty body', apns_error(400, 'PayloadEmpty'), token);
  if (ctx.raw.length > APNS_VOIP_PAYLOAD_LIMIT) {
    return reject(`body is ${ctx.raw.length} bytes (VoIP limit ${APNS_VOIP_PAYLOAD_LIMIT})`, apns_error(413, 'PayloadTooLarge'), token);
  }
  const body = ctx.json;
  if (!body || !body.ok || !is_object(body.value)) return reject('body is not a JSON object', apns_error(400, 'PayloadEmpty'), token);
  const b = body.value;
  if (!is_object(b.aps)) return reject('body has no "aps" object', apns_error(400, 'PayloadEmpty'), token);
  const bad_app = check_app_data(b);
  if (bad_app) return reject(bad_app, apns_error(400, 'PayloadEmpty'), token);

  const { aps, ...payload } = b;
  const id = apns_id ?? crypto.randomUUID();
  return {
    valid: true,
    token,
    payload,
    accept: () => answer(200, undefined, { 'apns-id': id }),
    modes: {
      bad_device: () => apns_error(400, 'BadDeviceToken', { 'apns-id': id }),
      unavailable: () => apns_error(503, 'ServiceUnavailable', { 'apns-id': id, 'retry-after': '1' }),
      expired_token: () => apns_error(403, 'ExpiredProviderToken', { 'apns-id': id }),
    },
  };
}

/// The app data every push carries (payload_json): null when fine, else what is wrong.
function check_app_data(d) {
  if (typeof d.call_id !== 'string') return 'app data: call_id missing or not a string';
  if (typeof d.push_id !== 'string' || d.push_id === '') return 'app data: push_id missing or empty';
  if (!PUSH_KINDS.has(d.kind)) return `app data: kind ${JSON.stringify(d.kind ?? null)} is not call|message|refresh|purr`;
  return null;
}

// -- FCM: POST /token (OAuth2 JWT-bearer grant, RFC 7523) ------------------------------
// Checks: method POST (405); content-type application/x-www-form-urlencoded (400
// invalid_request); grant_type = urn:ietf:params:oauth:grant-type:jwt-bearer (400
// unsupported_grant_type); assertion present (400 invalid_request); assertion: RS256
// signature by the service account key, kid (when present and --fcm-key-id is set)
// = the key id, iss = client_email, aud = https://<authority>/token or --token-url,
// scope lists .../auth/firebase.messaging (400 invalid_scope), iat and exp integers,
// exp > now, exp - iat <= 3600, iat not more than 5 minutes ahead (400 invalid_grant).
// The behaviour keyed "/token" (never "*") applies here.

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

function fcm_token(ctx) {
  const { req, rec } = ctx;
  if (req.method !== 'POST') return reject(`method ${req.method}, want POST`, oauth_error('invalid_request', 'Method not allowed', 405));
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    return reject(`content-type ${JSON.stringify(req.headers['content-type'] ?? null)}, want application/x-www-form-urlencoded`,
                  oauth_error('invalid_request', 'Invalid content type, expected application/x-www-form-urlencoded'));
  }
  const form = new URLSearchParams(ctx.raw.toString('utf8'));
  rec.body = Object.fromEntries(form.entries());
  const grant = form.get('grant_type');
  if (grant !== GRANT_TYPE) {
    return reject(`grant_type ${JSON.stringify(grant)}, want ${GRANT_TYPE}`,
                  oauth_error('unsupported_grant_type', `Invalid grant_type: ${grant ?? ''}`));
  }
  const assertion = form.get('assertion');
  if (!assertion) return reject('assertion missing', oauth_error('invalid_request', 'Missing required parameter: assertion'));
  if (!fcm_key) return reject('gateway has no FCM public key configured', oauth_error('server_error', 'no key configured', 500));
  const jwt = decode_jwt(assertion);
  if (jwt.error) return reject(jwt.error, oauth_error('invalid_grant', 'Invalid JWT: malformed assertion.'));
  rec.jwt = { header: jwt.header, claims: jwt.claims };
  const bad_sig = check_signature(jwt, fcm_key, 'RS256');
  if (bad_sig) return reject(bad_sig, oauth_error('invalid_grant', 'Invalid JWT Signature.'));
  if (cfg.fcm_key_id && jwt.header.kid !== undefined && jwt.header.kid !== cfg.fcm_key_id) {
    return reject(`JWT kid ${JSON.stringify(jwt.header.kid)} is not the private_key_id ${cfg.fcm_key_id}`,
                  oauth_error('invalid_grant', 'Invalid JWT Signature.'));
  }
  const c = jwt.claims;
  if (c.iss !== cfg.client_email) {
    return reject(`JWT iss ${JSON.stringify(c.iss)} is not ${cfg.client_email}`, oauth_error('invalid_grant', 'Invalid grant: account not found'));
  }
  const audiences = new Set([`https://${ctx.authority}/token`]);
  if (cfg.token_url) audiences.add(cfg.token_url);
  if (!audiences.has(c.aud)) {
    return reject(`JWT aud ${JSON.stringify(c.aud)} is not ${[...audiences].join(' or ')}`,
                  oauth_error('invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${[...audiences][0]}`));
  }
  if (typeof c.scope !== 'string' || !c.scope.split(' ').includes(FCM_SCOPE)) {
    return reject(`JWT scope ${JSON.stringify(c.scope ?? null)} lacks ${FCM_SCOPE}`,
                  oauth_error('invalid_scope', 'Invalid OAuth scope or ID token audience provided.'));
  }
  const now = now_s();
  const short_lived = 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. ' +
                      'Check your iat and exp values in the JWT claim.';
  if (!Number.isInteger(c.iat) || !Number.isInteger(c.exp)) return reject('JWT iat/exp not integers', oauth_error('invalid_grant', short_lived));
  if (c.exp <= now) return reject(`JWT exp is ${now - c.exp} s in the past`, oauth_error('invalid_grant', short_lived));
  if (c.exp - c.iat > 3600) return reject(`JWT exp - iat = ${c.exp - c.iat} s (> 3600)`, oauth_error('invalid_grant', short_lived));
  if (c.iat > now + 300) return reject(`JWT iat is ${c.iat - now} s in the future`, oauth_error('invalid_grant', short_lived));

  return {
    valid: true,
    token: null,
    behaviour_key: '/token',
    accept: () => {
      const access_token = `ya29.fake-${crypto.randomBytes(24).toString('base64url')}`;
      access_tokens.set(access_token, { client_email: c.iss, expires_at_ms: Date.now() + 3599 * 1000 });
      return answer(200, { access_token, expires_in: 3599, token_type: 'Bearer' },
                    { 'content-type': 'application/json; charset=utf-8' });
    },
    modes: {
      bad_device: () => oauth_error('invalid_grant', 'Invalid grant: account not found'),
      unavailable: () => answer(503, { error: 'temporarily_unavailable', error_description: 'try again' }, { 'retry-after': '1' }),
      expired_token: () => oauth_error('invalid_grant', 'Invalid JWT Signature.'),
    },
  };
}

// -- FCM: POST /v1/projects/<project>/messages:send -----------------------------------
// Checks: method POST (404 NOT_FOUND, as Google answers an unknown method); path;
// authorization "Bearer <token>" issued by /token and not expired (401
// UNAUTHENTICATED); project = --project-id (403 PERMISSION_DENIED); body (400
// INVALID_ARGUMENT, Google's field paths in the message): JSON object with only
// message/validate_only; message has only known fields and a non-empty string
// token; android an object with only known fields, priority "HIGH" (the switch
// sends calls at high priority; FCM itself would also take NORMAL), ttl "<n>s";
// data an object of string values, no reserved key (from, notification,
// message_type, google*, gcm*), with string call_id, non-empty push_id and kind in
// call|message|refresh|purr.

const MESSAGE_FIELDS = new Set(['name', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options',
                                'token', 'topic', 'condition']);
const ANDROID_FIELDS = new Set(['collapse_key', 'priority', 'ttl', 'restricted_package_name', 'data',
                                'notification', 'fcm_options', 'direct_boot_ok']);

function check_fcm_body(ctx) {
  const body = ctx.json;
  if (!body || !body.ok) return fcm_invalid(`Invalid JSON payload received. ${body ? body.error : 'empty body'}`);
  const b = body.value;
  if (!is_object(b)) return fcm_invalid('Invalid JSON payload received. Root element must be a message.');
  for (const k of Object.keys(b)) {
    if (k !== 'message' && k !== 'validate_only') return fcm_invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
  }
  const m = b.message;
  if (!is_object(m)) return fcm_invalid('Request contains an invalid argument.', 'message');
  for (const k of Object.keys(m)) {
    if (!MESSAGE_FIELDS.has(k)) return fcm_invalid(`Invalid JSON payload received. Unknown name "${k}" at 'message': Cannot find field.`, 'message');
  }
  if (typeof m.token !== 'string' || m.token === '') return fcm_invalid('Recipient of the message is not set.', 'message.token');
  if (!is_object(m.android)) return fcm_invalid('message.android missing: the switch must send android.priority HIGH', 'message.android');
  for (const k of Object.keys(m.android)) {
    if (!ANDROID_FIELDS.has(k)) return fcm_invalid(`Invalid JSON payload received. Unknown name "${k}" at 'message.android': Cannot find field.`, 'message.android');
  }
  if (m.android.priority !== 'HIGH') {
    return fcm_invalid(`Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), ${JSON.stringify(m.android.priority ?? null)}: want HIGH`,
                       'message.android.priority');
  }
  // A protobuf Duration in JSON: seconds with up to 9 fractional digits and an "s".
  if (m.android.ttl !== undefined && (typeof m.android.ttl !== 'string' || !/^[0-9]+(\.[0-9]{1,9})?s$/.test(m.android.ttl))) {
    return fcm_invalid(`Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), ${JSON.stringify(m.android.ttl)}`,
                       'message.android.ttl');
  }
  if (!is_object(m.data)) return fcm_invalid('message.data missing or not an object', 'message.data');
  for (const [i, [k, v]] of Object.entries(m.data).entries()) {
    if (typeof v !== 'string') {
      return fcm_invalid(`Invalid value at 'message.data[${i}].value' (TYPE_STRING), ${JSON.stringify(v)}`, `message.data[${i}].value`);
    }
    const lower = k.toLowerCase();
    if (['from', 'notification', 'message_type'].includes(lower) || lower.startsWith('google') || lower.startsWith('gcm')) {
      return fcm_invalid(`Invalid data payload key: ${k}`, 'message.data');
    }
  }
  const bad_app = check_app_data(m.data);
  if (bad_app) return fcm_invalid(`Request contains an invalid argument: ${bad_app}`, 'message.data');
  return null;
}

function fcm_send(ctx) {
  const { req, path } = ctx;
  const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path);
  if (!m || ctx.query) return reject(`path ${path} is not /v1/projects/<project>/messages:send`, google_error(404, 'NOT_FOUND', 'Requested entity was not found.'));
  if (req.method !== 'POST') return reject(`method ${req.method}, want POST`, google_error(404, 'NOT_FOUND', 'Method not found.'));
  const project = decode_segment(m[1]) ?? m[1];
  const body_token = is_object(ctx.json?.value?.message) && typeof ctx.json.value.message.token === 'string'
    ? ctx.json.value.message.token : null;

  const auth = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '');
  const issued = auth ? access_tokens.get(auth[1]) : undefined;
  if (!auth) return reject('authorization is not "Bearer <access token>"', fcm_unauthenticated(), body_token);
  if (!issued) return reject('bearer token was not issued by /token', fcm_unauthenticated(), body_token);
  if (issued.expires_at_ms <= Date.now()) return reject('bearer token expired', fcm_unauthenticated(), body_token);
  if (project !== cfg.project_id) {
    return reject(`project ${JSON.stringify(project)} is not ${cfg.project_id}`,
                  google_error(403, 'PERMISSION_DENIED', `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`),
                  body_token);
  }
  const bad = check_fcm_body(ctx);
  if (bad) return reject(bad.json.error.message, bad, body_token);

  const message = ctx.json.value.message;
  return {
    valid: true,
    token: message.token,
    payload: message.data,
    accept: () => answer(200, { name: `projects/${project}/messages/0:${Date.now()}%${crypto.randomBytes(8).toString('hex')}` },
                         { 'content-type': 'application/json; charset=UTF-8' }),
    modes: {
      bad_device: () => google_error(404, 'NOT_FOUND', 'Requested entity was not found.', [fcm_error_detail('UNREGISTERED')]),
      unavailable: () => {
        const a = google_error(503, 'UNAVAILABLE', 'The service is currently unavailable.', [fcm_error_detail('UNAVAILABLE')]);
        a.headers['retry-after'] = '1';
        return a;
      },
      expired_token: fcm_unauthenticated,
    },
  };
}

// -- webhook: POST /push (both listeners) -----------------------------------------------
// Checks: method POST (405); body is JSON (400). The device token is the body's
// "prid" (the default template), else its "token", else "". The payload printed
// is the whole body.

function webhook(ctx) {
  const { req } = ctx;
  const body = ctx.json;
  const token = body?.ok && is_object(body.value)
    ? String(body.value.prid ?? body.value.token ?? '') : null;
  if (req.method !== 'POST') return reject(`method ${req.method}, want POST`, answer(405, { ok: false, error: 'method not allowed' }, { allow: 'POST' }), token);
  if (!body || !body.ok) return reject(`body is not JSON: ${body ? body.error : 'empty'}`, answer(400, { ok: false, error: 'body is not JSON' }), token);
  return {
    valid: true,
    token: token ?? '',
    payload: body.value,
    accept: () => answer(200, { ok: true }),
    modes: {
      bad_device: () => answer(410, { ok: false, error: 'device token is gone' }),
      unavailable: () => answer(503, { ok: false, error: 'unavailable' }, { 'retry-after': '1' }),
      expired_token: () => answer(401, { ok: false, error: 'credentials expired' }),
    },
  };
}

// -- routing ------------------------------------------------------------------------------

/// [provider name, handler] for a path on a listener ("tls" or "http"), or [null, null].
export function endpoint_for(listener, path) {
  if (path === '/push') return ['webhook', webhook];
  if (listener !== 'tls') return [null, null];     // APNs and FCM are HTTPS only
  if (path === '/3' || path.startsWith('/3/')) return ['apns', apns];
  if (path === '/token') return ['fcm_token', fcm_token];
  if (path.startsWith('/v1/')) return ['fcm', fcm_send];
  return [null, null];
}
