// An OpenID Connect issuer for the broker end-to-end tests: the real npm `oidc-provider`
// (installed by `cargo xtask test-servers` into target/test-servers/node), listening on a free
// loopback port, with one confidential client allowed the client-credentials grant and JWT access
// tokens that live ACCESS_TOKEN_TTL seconds.
//
// Environment: OIDC_PROVIDER_MODULE (absolute path of oidc-provider's lib/index.js),
// OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_AUDIENCE, OIDC_SCOPE, ACCESS_TOKEN_TTL.
// Prints `listening <port>` on stdout once it serves.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc_issuer: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const { default: Provider } = await import(pathToFileURL(env('OIDC_PROVIDER_MODULE')).href);
const audience = env('OIDC_AUDIENCE');
const scope = env('OIDC_SCOPE');
const ttl = Number(env('ACCESS_TOKEN_TTL'));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: env('OIDC_CLIENT_ID'),
        client_secret: env('OIDC_CLIENT_SECRET'),
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope,
      },
    ],
    scopes: scope.split(' '),
    jwks: { keys: [signingKey] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope,
          audience,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    ttl: { ClientCredentials: ttl },
  });
  server.on('request', provider.callback());
  console.log(`listening ${port}`);
});
