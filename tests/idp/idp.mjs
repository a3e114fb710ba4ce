// A real OpenID provider (npm oidc-provider) for pit's tests, on loopback only.
//
//   node tests/idp/idp.mjs CONFIG.json [PORT]        (PORT also from $PIT_IDP_PORT; 0 = any)
//
// The first line on stdout is `listening 127.0.0.1:PORT`; the issuer is http://127.0.0.1:PORT.
// SIGTERM or SIGINT: closes the listener and exits 0.
//
// CONFIG.json (tests/idp/README.md has the whole format):
//   { "alg": "RS256" | "ES256" | "EdDSA",                        (default RS256)
//     "resources": { "urn:pit:shop.v1.Orders": { "scope": "orders.place orders.read",
//                                                 "ttl": 300, "audience": "shop.v1.Orders" } },
//     "clients": [ { "client_id": "gateway", "client_secret": "s3cret",
//                    "scope": "orders.place", "resources": ["urn:pit:shop.v1.Orders"],
//                    "exchange": true, "accepts": ["gateway"],
//                    "token_endpoint_auth_method": "client_secret_basic" } ] }
//
// What it issues:
// - client_credentials with `resource` (RFC 8707): a JWT access token (RFC 9068, typ at+jwt)
//   with aud = the resource's "audience" (default: the resource indicator itself), scope =
//   requested ∩ the resource's scopes ∩ the client's, client_id, sub = the client id.
// - token exchange (RFC 8693, grant_type urn:ietf:params:oauth:grant-type:token-exchange),
//   for clients with "exchange": true: subject_token = an access token this provider issued
//   (checked: signature against its own keys, iss, typ, exp; and, when the client has
//   "accepts", the token's aud must be one of them); resource (or audience) = a configured
//   resource indicator. The new token keeps the subject token's sub, carries the resource's
//   audience, scope = (requested or the subject's) ∩ the subject's ∩ the resource's, and
//   act = { sub: <exchanging client id>, act: <the subject token's act, if any> }.
//
// Test-only endpoints (not OpenID):
//   POST /__test/rotate             a new signing key, used from now on; the old keys stay
//                                   in the JWKS. `?drop_old=1`: the JWKS holds the new key only.
//   GET  /__test/stats              {"jwks_fetches": N, "token_requests": N, "kids": [...]}
//   POST /__test/fail?status=503&count=N   the next N token requests answer that status
//                                   (with Retry-After: 1 for 503/429)
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

// oidc-provider prints its notices with console.info (stdout); the first stdout line is
// this script's, so every library message goes to stderr.
console.info = console.error;
console.log = console.error;

const { default: Provider, errors } = await import('oidc-provider');
const jose = await import('jose');

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

function fail(message) {
  process.stderr.write(`idp: ${message}\n`);
  process.exit(2);
}

const [configPath, portArg] = process.argv.slice(2);
if (!configPath) fail('usage: node idp.mjs CONFIG.json [PORT]');
let config;
try {
  config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
} catch (e) {
  fail(`cannot read ${configPath}: ${e.message}`);
}
const port = Number(portArg ?? process.env.PIT_IDP_PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port '${portArg}'`);

const alg = config.alg ?? 'RS256';
const resources = config.resources ?? {};
const clients = config.clients ?? [];
if (!['RS256', 'ES256', 'EdDSA'].includes(alg)) fail(`alg must be RS256, ES256 or EdDSA, not ${alg}`);

function newSigningKey() {
  const pair = alg === 'RS256' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256' ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : crypto.generateKeyPairSync('ed25519');
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomUUID(), alg, use: 'sig' };
}

// Newest first: oidc-provider signs with the first key that fits the algorithm.
let signingKeys = [newSigningKey()];
const stats = { jwks_fetches: 0, token_requests: 0 };
let injected = { status: 0, count: 0 };

function clientMetadata(c) {
  if (!c.client_id || !c.client_secret) fail('every client needs client_id and client_secret');
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    grant_types: c.exchange ? ['client_credentials', TOKEN_EXCHANGE] : ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    id_token_signed_response_alg: alg,
    ...(c.scope !== undefined ? { scope: c.scope } : {}),
  };
}

const clientsById = new Map(clients.map((c) => [c.client_id, c]));
const allScopes = new Set(Object.values(resources).flatMap((r) => (r.scope ?? '').split(' ').filter(Boolean)));

function resourceServerInfo(indicator, clientId) {
  const r = resources[indicator];
  const allowed = clientsById.get(clientId)?.resources;
  if (!r || (allowed && !allowed.includes(indicator))) throw new errors.InvalidTarget();
  return {
    scope: r.scope ?? '',
    audience: r.audience ?? indicator,
    accessTokenTTL: r.ttl ?? 300,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg } },
  };
}

const publicJwks = () => ({
  keys: signingKeys.map(({ kty, crv, n, e, x, y, kid, use }) => ({ kty, crv, n, e, x, y, kid, use, alg })),
});

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: clients.map(clientMetadata),
    jwks: { keys: signingKeys },
    scopes: [...allScopes],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, indicator, client) => resourceServerInfo(indicator, client.clientId),
      },
    },
    formats: {
      customizers: {
        // An exchanged token speaks for the subject, with the exchanging client as actor.
        async jwt(ctx, token, structured) {
          if (token.pitExchange) {
            structured.payload.sub = token.pitExchange.sub;
            structured.payload.act = token.pitExchange.act;
          }
        },
      },
    },
  });
  provider.registerGrantType(TOKEN_EXCHANGE, tokenExchange, [
    'subject_token', 'subject_token_type', 'requested_token_type', 'resource', 'audience', 'scope',
    'actor_token', 'actor_token_type',
  ]);
  return provider;
}

async function tokenExchange(ctx) {
  const { params, client, provider } = ctx.oidc;
  if (!params.subject_token) throw new errors.InvalidRequest('missing subject_token');
  if (params.subject_token_type && params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest('subject_token_type must be an access token');
  }
  if (params.actor_token) throw new errors.InvalidRequest('actor_token is not supported');
  let subject;
  try {
    ({ payload: subject } = await jose.jwtVerify(params.subject_token, jose.createLocalJWKSet(publicJwks()), {
      issuer: provider.issuer, typ: 'at+jwt',
    }));
  } catch (e) {
    throw new errors.InvalidGrant(`subject_token: ${e.code ?? e.message}`);
  }
  const accepts = clientsById.get(client.clientId)?.accepts;
  const audiences = [subject.aud].flat();
  if (accepts && !audiences.some((a) => accepts.includes(a))) {
    throw new errors.InvalidGrant('subject_token was not issued to this client');
  }
  const indicator = params.resource ?? params.audience;
  if (!indicator) throw new errors.InvalidTarget('resource or audience is required');
  const resourceServer = new provider.ResourceServer(indicator, resourceServerInfo(indicator, client.clientId));

  const subjectScopes = new Set((subject.scope ?? '').split(' ').filter(Boolean));
  const requested = params.scope ? params.scope.split(' ').filter(Boolean) : [...subjectScopes];
  const scope = requested.filter((s) => subjectScopes.has(s) && resourceServer.scopes.has(s));
  if (params.scope && scope.length !== requested.length) {
    throw new errors.InvalidScope('requested scope is not granted by the subject token or the resource');
  }

  const token = new provider.ClientCredentials({ client, scope: scope.join(' ') || undefined });
  token.resourceServer = resourceServer;
  token.pitExchange = {
    sub: subject.sub,
    act: subject.act ? { sub: client.clientId, act: subject.act } : { sub: client.clientId },
  };
  ctx.oidc.entity('ClientCredentials', token);
  const value = await token.save();
  ctx.body = {
    access_token: value,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: token.expiration,
    ...(token.scope ? { scope: token.scope } : {}),
  };
}

let provider;
let callback;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const reply = (status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/__test/stats' && req.method === 'GET') {
    return reply(200, { ...stats, kids: signingKeys.map((k) => k.kid) });
  }
  if (url.pathname === '/__test/rotate' && req.method === 'POST') {
    const fresh = newSigningKey();
    signingKeys = url.searchParams.get('drop_old') === '1' ? [fresh] : [fresh, ...signingKeys];
    provider = makeProvider(issuer);
    callback = provider.callback();
    return reply(200, { kid: fresh.kid, kids: signingKeys.map((k) => k.kid) });
  }
  if (url.pathname === '/__test/fail' && req.method === 'POST') {
    injected = { status: Number(url.searchParams.get('status') ?? 503), count: Number(url.searchParams.get('count') ?? 1) };
    return reply(200, injected);
  }
  if (url.pathname === '/jwks') stats.jwks_fetches += 1;
  if (url.pathname === '/token') {
    stats.token_requests += 1;
    if (injected.count > 0) {
      injected.count -= 1;
      const retry = injected.status === 503 || injected.status === 429 ? { 'retry-after': '1' } : {};
      return reply(injected.status, { error: 'temporarily_unavailable' }, retry);
    }
  }
  return callback(req, res);
});

let issuer;
server.listen(port, '127.0.0.1', () => {
  const chosen = server.address().port;
  issuer = `http://127.0.0.1:${chosen}`;
  provider = makeProvider(issuer);
  callback = provider.callback();
  process.stdout.write(`listening 127.0.0.1:${chosen}\n`);
});
server.on('error', (e) => fail(e.message));

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
