// A real OpenID Connect provider for the test suite: panva's certified oidc-provider on
// 127.0.0.1, with a login page of our own, configured users and clients, a signing key made at
// start, and JWT access tokens for pgplane's API. Tests start it in-process (startProvider) or,
// from Rust, as a child process (see main() at the bottom and README.md beside this file).
import { generateKeyPairSync, randomBytes, randomUUID, sign } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Provider, errors } from "oidc-provider";

const SCOPE = "openid email profile groups";

// The two signature algorithms that pgplane's JWT verification is expected to accept.
// ES256 is the default because every JOSE library speaks it; EdDSA is there to test the other.
const KEY_PAIRS = {
  ES256: () => generateKeyPairSync("ec", { namedCurve: "P-256" }),
  EdDSA: () => generateKeyPairSync("ed25519"),
};

function makeSigningKey(alg) {
  if (!KEY_PAIRS[alg]) throw new Error(`alg must be one of ${Object.keys(KEY_PAIRS)}`);
  const { privateKey, publicKey } = KEY_PAIRS[alg]();
  // alg and use on the JWK let a verifier pick the algorithm from the JWKS instead of the token.
  const meta = { kid: randomUUID(), alg, use: "sig" };
  return {
    privateKey,
    privateJwk: { ...privateKey.export({ format: "jwk" }), ...meta },
    publicJwk: { ...publicKey.export({ format: "jwk" }), ...meta },
  };
}

// Signs by hand with node:crypto rather than jose (only a transitive dependency here), which
// also lets a test put any alg or kid in the header while still signing with the real key.
function signWith(key, claims, { kid = key.publicJwk.kid, alg = key.publicJwk.alg, header } = {}) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  // typ at+jwt (RFC 9068) as on the provider's own access tokens; override it through header.
  const input = `${part({ alg, kid, typ: "at+jwt", ...header })}.${part(claims)}`;
  if (alg === "none") return `${input}.`;
  const digest = key.publicJwk.alg === "ES256" ? "sha256" : null;
  const signature = sign(digest, Buffer.from(input), {
    key: key.privateKey,
    dsaEncoding: "ieee-p1363", // JWS wants r||s, not DER
  });
  return `${input}.${signature.toString("base64url")}`;
}

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Every page we serve is plain and self-contained: oidc-provider's stock error and logout pages
// load a web font from the internet, which a browser test here must never reach for.
const page = (title, body) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title}</title></head>
<body>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;

// The login form a Playwright test fills by label: "Email", "Password", button "Sign in".
function loginPage(res, { error, email = "" } = {}) {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(
    page(
      "Sign in",
      `${error ? `<p role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post">
<p><label for="email">Email</label><br>
<input id="email" name="email" type="email" autocomplete="username" required
  value="${escapeHtml(email)}"></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<button type="submit">Sign in</button>
</form>`,
    ),
  );
}

async function readForm(req) {
  let body = "";
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new Error("form too large");
  }
  return new URLSearchParams(body);
}

// Our interaction handler, at interactions.url. Login checks the configured users' passwords;
// consent is granted without asking, as every configured client is pgplane's own (first party).
async function interaction(provider, users, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;

  if (prompt.name === "consent") {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(" "));
    }
    const grantId = await grant.save();
    return provider.interactionFinished(
      req,
      res,
      { consent: details.grantId ? {} : { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  if (req.method !== "POST") return loginPage(res);
  const form = await readForm(req);
  const email = form.get("email") ?? "";
  const user = users.find((u) => u.email === email);
  // Plain comparison: fixture passwords on loopback; the message does not tell which was wrong.
  if (!user || user.password !== form.get("password")) {
    return loginPage(res, { error: "Wrong email or password", email });
  }
  return provider.interactionFinished(
    req,
    res,
    { login: { accountId: user.sub } },
    { mergeWithLastSubmission: false },
  );
}

function providerConfig({ key, clients, users, groupsClaim, audience, resource, accessTokenTTL }) {
  const bySub = new Map(users.map((u) => [u.sub, u]));
  const alg = key.publicJwk.alg;
  return {
    jwks: { keys: [key.privateJwk] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    clients: clients.map((client) => ({
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code", "refresh_token", "client_credentials"],
      response_types: ["code"],
      id_token_signed_response_alg: alg, // the client default is RS256, and we have no RSA key
      ...client,
    })),
    responseTypes: ["code"], // code flow only: no tokens through the front channel
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name"],
      groups: [groupsClaim],
    },
    async findAccount(ctx, sub) {
      const user = bySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: user.email,
          email_verified: true,
          name: user.name,
          [groupsClaim]: user.groups ?? [],
        }),
      };
    },
    // OIDC Core puts scope-requested claims in userinfo only, for the code flow; pgplane reads
    // them from the ID token, as it would from most real providers.
    conformIdTokenClaims: false,
    // PKCE for every client, confidential ones included (the default requires it only of
    // public clients). oidc-provider 9 knows no other method than S256.
    pkce: { required: () => true },
    interactions: { url: (ctx, { uid }) => `/interaction/${uid}` },
    // Refresh tokens whenever the client may use them, without the offline_access + consent
    // ceremony, so that refreshing can be tested.
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
    features: {
      devInteractions: { enabled: false }, // accept-any-login forms: ours is above
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          // form is oidc-provider's hidden form (with its CSRF token) that the buttons submit.
          ctx.body = page(
            "Sign out",
            `${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page("Signed out", "<p>You are signed out.</p>");
        },
      },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Every request is for pgplane's API, whether or not it names the resource...
        defaultResource: async () => resource,
        // ...and gets a JWT (not an opaque token) that pgplane verifies by itself via JWKS.
        getResourceServerInfo: async (ctx, indicator) => {
          if (indicator !== resource) throw new errors.InvalidTarget();
          return {
            scope: SCOPE,
            audience,
            accessTokenFormat: "jwt",
            accessTokenTTL,
            jwt: { sign: { alg } }, // the default is RS256
          };
        },
        // A code exchange without a resource parameter yields the API token, not a userinfo one.
        useGrantedResource: async () => true,
      },
    },
    // Who the user is, in the access token itself: pgplane maps email and groups to a principal.
    async extraTokenClaims(ctx, token) {
      const user = bySub.get(token.accountId); // undefined for client_credentials tokens
      return user && { email: user.email, [groupsClaim]: user.groups ?? [] };
    },
    // The stock error page, minus its web font (see page above); so are the logout pages.
    async renderError(ctx, out) {
      ctx.type = "html";
      const lines = Object.entries(out).map(([k, v]) => `<p>${k}: ${escapeHtml(v)}</p>`);
      ctx.body = page("Sign-in error", lines.join("\n"));
    },
    // Set explicitly, if only to silence oidc-provider's "you SHOULD change" notices.
    ttl: {
      AccessToken: accessTokenTTL,
      ClientCredentials: accessTokenTTL,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
  };
}

/**
 * Starts the provider on 127.0.0.1. Options (all optional): port (0 = any free one), clients,
 * users, groupsClaim, audience, resource, accessTokenTTL (seconds), alg ("ES256" or "EdDSA").
 */
export async function startProvider({
  port = 0,
  clients = [],
  users = [],
  groupsClaim = "groups",
  audience = "pgplane-api",
  resource = "urn:pgplane:api", // RFC 8707 wants an absolute URI; the audience need not be one
  accessTokenTTL = 300,
  alg = "ES256",
} = {}) {
  if (!URL.canParse(resource)) throw new Error("resource must be an absolute URI (RFC 8707)");
  const key = makeSigningKey(alg);

  // Listen first: the issuer URL has to carry the port, and port 0 is only known once bound.
  let handle = (req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handle(req, res));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const actualPort = server.address().port;
  const issuer = `http://127.0.0.1:${actualPort}`;

  const config = { key, clients, users, groupsClaim, audience, resource, accessTokenTTL };
  let provider;
  try {
    provider = new Provider(issuer, providerConfig(config));
    // Static clients are only validated when first used: look each one up now, so that a bad
    // config fails here rather than as an error page in the middle of a browser test.
    for (const { client_id } of clients) await provider.Client.find(client_id);
  } catch (err) {
    server.close();
    throw new Error(`bad provider config: ${err.error_description ?? err.message}`, {
      cause: err,
    });
  }
  const oidc = provider.callback();
  handle = (req, res) => {
    if (!req.url.startsWith("/interaction/")) return oidc(req, res);
    interaction(provider, users, req, res).catch((err) => {
      res.writeHead(err.statusCode ?? 500, { "content-type": "text/plain; charset=utf-8" });
      res.end(`${err.name}: ${err.error_description ?? err.message}\n`);
    });
  };

  return {
    issuer,
    port: actualPort,
    jwks: { keys: [key.publicJwk] },
    privateJwk: key.privateJwk,
    signToken: (claims, options) => signWith(key, claims, options),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive sockets would hold close() open
      }),
  };
}

// CLI: node e2e/oidc/provider.mjs [--port N] [--config file.json] [--expose-private-key]
// Prints {"issuer": ..., "port": ...} as one line on stdout once listening (with
// --expose-private-key also "privateJwk", for tests that forge tokens with the provider's own
// key); stops on SIGTERM or SIGINT.
async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      config: { type: "string" },
      "expose-private-key": { type: "boolean", default: false },
    },
  });
  const config = values.config ? JSON.parse(await readFile(values.config, "utf8")) : {};
  // stdout carries only the ready line; oidc-provider prints its notices with console.info.
  console.info = console.error;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("bad --port");

  const running = await startProvider({ ...config, port });
  const ready = { issuer: running.issuer, port: running.port };
  if (values["expose-private-key"]) ready.privateJwk = running.privateJwk;
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const stop = () => running.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
