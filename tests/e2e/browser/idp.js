// idp.js — a real OpenID provider for burrow's end-to-end tests (npm oidc-provider), over HTTPS
// on 127.0.0.1 with a certificate from the test's own CA.
//
//   node idp.js --port P --cert FILE --key FILE --secret-file FILE --redirect URI
//
// Issuer https://127.0.0.1:P. One static client: client_id "burrow", the secret from
// --secret-file, redirect_uris [URI], client_secret_basic, authorization code + PKCE (required).
// Accounts (any password; the built-in dev login form): alice@site.test (groups [ops]),
// eve@site.test (email_verified false), dave@site.test (groups [dev]), noemail (no email claim). Claims go into the ID token.
// Prints "READY <issuer>" once it listens.
'use strict';

(async () => {
  const fs = require('fs');
  const https = require('https');
  const crypto = require('crypto');
  const { default: Provider } = await import('oidc-provider');

  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  const issuer = `https://127.0.0.1:${a.port}`;
  const secret = fs.readFileSync(a['secret-file'], 'utf8').trim();

  const accounts = {
    'alice@site.test': { sub: 'alice-sub', email: 'Alice@Site.Test', email_verified: true, groups: ['ops'] },
    'eve@site.test': { sub: 'eve-sub', email: 'eve@site.test', email_verified: false, groups: [] },
    'dave@site.test': { sub: 'dave-sub', email: 'dave@site.test', email_verified: true, groups: ['dev'] },
    noemail: { sub: 'noemail-sub', groups: [] },
  };

  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'idp-test-key', use: 'sig', alg: 'RS256' };

  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'burrow',
      client_secret: secret,
      redirect_uris: [a.redirect],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    }],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      const acc = accounts[id];
      if (!acc) return undefined;
      return { accountId: id, async claims() { return { ...acc }; } };
    },
  });
  provider.on('server_error', (ctx, err) => console.error(`server_error ${err.message}`));

  const server = https.createServer({ cert: fs.readFileSync(a.cert), key: fs.readFileSync(a.key) }, provider.callback());
  server.listen(Number(a.port), '127.0.0.1', () => console.log(`READY ${issuer}`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
})().catch((e) => {
  console.log(`ERROR ${e.message.split('\n')[0]}`);
  process.exit(2);
});
