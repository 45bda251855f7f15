// Self-test of the OIDC provider fixture, with fetch only (no browser, no pgplane): discovery,
// a whole authorization-code + PKCE sign-in, the tokens it yields, signToken, and the CLI.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startProvider } from "./provider.mjs";

const CLIENT = {
  client_id: "pgplane",
  client_secret: "client secret & more", // non-URL-safe on purpose: Basic auth form-encodes it
  redirect_uris: ["http://127.0.0.1:9/auth/callback"],
  post_logout_redirect_uris: ["http://127.0.0.1:9/signed-out"],
};
const ALICE = {
  sub: "user-alice",
  email: "alice@example.com",
  name: "Alice Example",
  password: "correct horse battery staple",
  groups: ["pgplane-admins", "dba"],
};
const CONFIG = { clients: [CLIENT], users: [ALICE], audience: "pgplane-api" };

let op;
before(async () => {
  op = await startProvider(CONFIG);
});
after(() => op.close());

const b64url = (buf) => Buffer.from(buf).toString("base64url");

function decodeJwt(jwt) {
  const [header, payload] = jwt
    .split(".")
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, "base64url")));
  return { header, payload };
}

// Verifies a compact JWS against a JWKS with node:crypto alone, independently of the fixture.
function verifyJwt(jwt, jwks) {
  const { header, payload } = decodeJwt(jwt);
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `no key ${header.kid} in the JWKS`);
  assert.equal(header.alg, jwk.alg);
  const [h, p, s] = jwt.split(".");
  const ok = verify(
    jwk.alg === "ES256" ? "sha256" : null,
    Buffer.from(`${h}.${p}`),
    { key: createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" },
    Buffer.from(s, "base64url"),
  );
  assert.ok(ok, "signature does not verify");
  return { header, payload };
}

// A minimal browser: one cookie jar (names only: the provider's cookie names differ by purpose)
// and redirects followed by hand, so each hop can be seen.
function browser() {
  const jar = new Map();
  async function request(url, init = {}) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const headers = { ...init.headers, cookie };
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const [name, value] = pair.split("=");
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === "";
      if (expired) jar.delete(name.trim());
      else jar.set(name.trim(), value);
    }
    return res;
  }
  // Follows redirects until one leaves the provider (the client's redirect_uri) or a page shows.
  async function follow(url, init) {
    let res = await request(url, init);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops += 1) {
      assert.ok(hops < 10, "redirect loop");
      const next = new URL(res.headers.get("location"), url);
      if (next.origin !== op.issuer) return { redirect: next };
      await res.arrayBuffer();
      url = next.href;
      res = await request(url);
    }
    return { page: res, url };
  }
  return { follow };
}

function authorizeUrl(params) {
  const url = new URL("/auth", op.issuer);
  url.search = new URLSearchParams({
    client_id: CLIENT.client_id,
    redirect_uri: CLIENT.redirect_uris[0],
    response_type: "code",
    scope: "openid email profile groups",
    ...params,
  }).toString();
  return url.href;
}

// client_secret_basic form-encodes id and secret before Base64 (RFC 6749 section 2.3.1).
const formEncode = (text) => new URLSearchParams({ x: text }).toString().slice(2);
const basicAuth = () =>
  `Basic ${btoa(`${formEncode(CLIENT.client_id)}:${formEncode(CLIENT.client_secret)}`)}`;

async function tokenRequest(form, issuer = op.issuer) {
  const res = await fetch(new URL("/token", issuer), {
    method: "POST",
    headers: { authorization: basicAuth(), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() };
}

async function publishedJwks() {
  const discovery = await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json();
  return (await fetch(discovery.jwks_uri)).json();
}

const postForm = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields),
});
const loginForm = (password) => postForm({ email: ALICE.email, password });

function pkcePair() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  return { verifier, params: { code_challenge: challenge, code_challenge_method: "S256" } };
}

test("discovery names the issuer, the JWKS and S256 as the only PKCE method", async () => {
  const res = await fetch(new URL("/.well-known/openid-configuration", op.issuer));
  assert.equal(res.status, 200);
  const discovery = await res.json();
  assert.equal(discovery.issuer, op.issuer);
  assert.match(op.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(discovery.jwks_uri, `${op.issuer}/jwks`);
  assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
  assert.deepEqual(discovery.response_types_supported, ["code"]);
  assert.deepEqual(await publishedJwks(), op.jwks);
});

test("authorization code + PKCE sign-in yields an ID token and a JWT access token", async () => {
  const { follow } = browser();
  const { verifier, params } = pkcePair();
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));

  const login = await follow(authorizeUrl({ state, nonce, ...params }));
  assert.equal(login.page.status, 200);
  const html = await login.page.text();
  assert.match(html, /<label for="email">Email<\/label>/);
  assert.match(html, /<label for="password">Password<\/label>/);
  assert.match(html, /<button type="submit">Sign in<\/button>/);

  const wrong = await follow(login.url, loginForm("not the password"));
  assert.match(await wrong.page.text(), /Wrong email or password/);

  // Right password: login, then consent (granted without a page), then back to the client.
  const { redirect } = await follow(login.url, loginForm(ALICE.password));
  assert.equal(`${redirect.origin}${redirect.pathname}`, CLIENT.redirect_uris[0]);
  assert.equal(redirect.searchParams.get("state"), state);
  assert.equal(redirect.searchParams.get("iss"), op.issuer);
  const code = redirect.searchParams.get("code");
  assert.ok(code, `no code in ${redirect}`);

  const { status, body } = await tokenRequest({
    grant_type: "authorization_code",
    code,
    redirect_uri: CLIENT.redirect_uris[0],
    code_verifier: verifier,
  });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.token_type, "Bearer");
  assert.ok(body.refresh_token, "a refresh token for clients allowed the grant");
  const jwks = await publishedJwks();

  const id = verifyJwt(body.id_token, jwks).payload;
  assert.equal(id.iss, op.issuer);
  assert.equal(id.aud, CLIENT.client_id);
  assert.equal(id.sub, ALICE.sub);
  assert.equal(id.nonce, nonce);
  assert.equal(id.email, ALICE.email);
  assert.equal(id.email_verified, true);
  assert.equal(id.name, ALICE.name);
  assert.deepEqual(id.groups, ALICE.groups);

  const at = verifyJwt(body.access_token, jwks);
  assert.equal(at.header.typ, "at+jwt");
  assert.equal(at.payload.iss, op.issuer);
  assert.equal(at.payload.aud, "pgplane-api");
  assert.equal(at.payload.sub, ALICE.sub);
  assert.equal(at.payload.client_id, CLIENT.client_id);
  assert.equal(at.payload.email, ALICE.email);
  assert.deepEqual(at.payload.groups, ALICE.groups);
  assert.equal(at.payload.exp - at.payload.iat, 300);
  assert.deepEqual(at.payload.scope.split(" ").sort(), ["email", "groups", "openid", "profile"]);

  // Refreshing yields another JWT for the same API...
  const refreshed = await tokenRequest({
    grant_type: "refresh_token",
    refresh_token: body.refresh_token,
  });
  assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.equal(verifyJwt(refreshed.body.access_token, jwks).payload.aud, "pgplane-api");

  // ...and the code is single-use: replaying it also revokes the grant it made (RFC 6749 4.1.2).
  const replay = await tokenRequest({
    grant_type: "authorization_code",
    code,
    redirect_uri: CLIENT.redirect_uris[0],
    code_verifier: verifier,
  });
  assert.equal(replay.body.error, "invalid_grant");
  const revoked = await tokenRequest({
    grant_type: "refresh_token",
    refresh_token: refreshed.body.refresh_token ?? body.refresh_token,
  });
  assert.equal(revoked.body.error, "invalid_grant");
});

test("an authorization request without PKCE, or with plain PKCE, is refused", async () => {
  const { follow } = browser();
  const { redirect } = await follow(authorizeUrl({ state: "s", nonce: "n" }));
  assert.equal(redirect.searchParams.get("error"), "invalid_request");
  assert.match(redirect.searchParams.get("error_description"), /PKCE/);

  const plain = { code_challenge: "a".repeat(43), code_challenge_method: "plain" };
  const refused = await follow(authorizeUrl({ state: "s", nonce: "n", ...plain }));
  assert.match(refused.redirect.searchParams.get("error_description"), /code_challenge_method/);
});

test("sign-out asks on a page of its own, then returns to the client", async () => {
  const { follow } = browser();
  const login = await follow(authorizeUrl({ state: "s", nonce: "n", ...pkcePair().params }));
  assert.ok((await follow(login.url, loginForm(ALICE.password))).redirect);

  const end = new URL("/session/end", op.issuer);
  end.search = new URLSearchParams({
    client_id: CLIENT.client_id,
    post_logout_redirect_uri: CLIENT.post_logout_redirect_uris[0],
  }).toString();
  const confirm = await follow(end.href);
  const html = await confirm.page.text();
  assert.match(html, /<h1>Sign out<\/h1>/);
  assert.match(html, /name="logout">Sign out<\/button>/);
  assert.doesNotMatch(html, /https:/, "the page loads nothing from outside");
  const xsrf = html.match(/name="xsrf" value="([^"]+)"/)[1];

  const { redirect } = await follow(
    `${op.issuer}/session/end/confirm`,
    postForm({ xsrf, logout: "yes" }),
  );
  assert.equal(redirect.href, CLIENT.post_logout_redirect_uris[0]);
});

test("errors show on a plain page", async () => {
  const res = await fetch(`${op.issuer}/auth?client_id=unknown`);
  assert.equal(res.status, 400);
  const html = await res.text();
  assert.match(html, /invalid_client/);
  assert.doesNotMatch(html, /https:/, "the page loads nothing from outside");
});

test("client credentials yield a JWT for the API without user claims", async () => {
  const { status, body } = await tokenRequest({ grant_type: "client_credentials" });
  assert.equal(status, 200, JSON.stringify(body));
  const { payload } = verifyJwt(body.access_token, await publishedJwks());
  assert.equal(payload.aud, "pgplane-api");
  assert.equal(payload.sub, CLIENT.client_id);
  assert.equal(payload.email, undefined);
});

test("signToken signs with the published key; its options override alg, kid, header", async () => {
  const now = Math.floor(Date.now() / 1000);
  // An expired token, as a test of pgplane's expiry check would make it.
  const claims = {
    iss: op.issuer,
    aud: "pgplane-api",
    sub: ALICE.sub,
    iat: now - 600,
    exp: now - 300,
  };
  const token = op.signToken(claims);
  const { header, payload } = verifyJwt(token, await publishedJwks());
  assert.deepEqual(payload, claims);
  assert.equal(header.typ, "at+jwt");

  assert.equal(decodeJwt(op.signToken(claims, { kid: "unknown" })).header.kid, "unknown");
  const unsigned = op.signToken(claims, { alg: "none" });
  assert.equal(decodeJwt(unsigned).header.alg, "none");
  assert.ok(unsigned.endsWith("."));
  assert.equal(decodeJwt(op.signToken(claims, { header: { typ: "JWT" } })).header.typ, "JWT");
  assert.equal(op.privateJwk.kid, op.jwks.keys[0].kid);
  assert.ok(op.privateJwk.d, "the private JWK carries its private part");
});

test("an EdDSA provider issues and signs its tokens with Ed25519", async () => {
  const ed = await startProvider({ ...CONFIG, alg: "EdDSA" });
  try {
    const jwks = await (await fetch(`${ed.issuer}/jwks`)).json();
    assert.equal(jwks.keys[0].crv, "Ed25519");
    const { body } = await tokenRequest({ grant_type: "client_credentials" }, ed.issuer);
    assert.equal(verifyJwt(body.access_token, jwks).header.alg, "EdDSA");
    assert.equal(verifyJwt(ed.signToken({ sub: "x" }), jwks).payload.sub, "x");
  } finally {
    await ed.close();
  }
});

test("the CLI prints its issuer and port as one JSON line and stops on SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "oidc-provider-"));
  const configFile = join(dir, "config.json");
  await writeFile(configFile, JSON.stringify(CONFIG));
  const script = fileURLToPath(new URL("./provider.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, "--port", "0", "--config", configFile], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const [line] = await once(createInterface({ input: child.stdout }), "line");
    const ready = JSON.parse(line);
    assert.deepEqual(Object.keys(ready).sort(), ["issuer", "port"]);
    assert.equal(ready.issuer, `http://127.0.0.1:${ready.port}`);
    const res = await fetch(`${ready.issuer}/.well-known/openid-configuration`);
    assert.equal((await res.json()).issuer, ready.issuer);

    child.kill("SIGTERM");
    const [code, signal] = await once(child, "exit");
    assert.equal(code, 0, `exited with ${code} / ${signal}`);
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
});
