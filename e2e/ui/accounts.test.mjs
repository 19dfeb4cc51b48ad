// Account security flows (issue 13, item 9) against the real binary: the first start's
// printed password must be changed at the first sign-in, a user changes their password,
// signs out their other sessions from the profile, turns on TOTP two-factor sign-in (codes
// computed here with HMAC-SHA-1, RFC 6238) and signs in with it; an administrator cannot
// deactivate their own account.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { startServer, launchBrowser, signIn, shot, PASSWORD } from "./harness.mjs";

let server;
let chrome;
let adminPassword;
const ADMIN_NEW = "admin-own-password-1";
const ANN_NEW = "ann-own-password-2";

before(async () => {
  // No users: `serve` creates admin@localhost and prints its password.
  server = await startServer();
  chrome = await launchBrowser();
  const m = /as admin@localhost with password: (\S+)/.exec(server.log());
  assert.ok(m, `no first-start password in the log:\n${server.log()}`);
  adminPassword = m[1];
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** A new browser context on the sign-in page, signed in with `password` (no wait after). */
function login(email, password) {
  return signIn(chrome.browser, server.url, email, password);
}

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The TOTP code (SHA-1, 6 digits, 30 s) of `secret` for the step `offset` steps from now. */
function totp(secret, offset = 0) {
  const step = Math.floor(Date.now() / 30_000) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const o = mac[19] & 0x0f;
  const bin = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(bin % 1_000_000).padStart(6, "0");
}

test("the first start's printed password must be changed at the first sign-in", async () => {
  const page = await login("admin@localhost", adminPassword);
  assert.equal(new URL(page.url()).pathname, "/profile/password");
  await page.locator("#forced-change").waitFor();
  await shot(page, "accounts-01-forced-change");
  // Every page leads back to the form until the password is changed.
  await page.goto(`${server.url}/settings/users`);
  assert.equal(new URL(page.url()).pathname, "/profile/password");
  await page.getByLabel("Password you were given").fill(adminPassword);
  await page.getByLabel("New password (at least 8 characters)").fill(ADMIN_NEW);
  await page.getByLabel("New password again").fill(ADMIN_NEW);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForURL((u) => u.pathname !== "/profile/password");
  await page.goto(`${server.url}/settings/users`);
  assert.equal(new URL(page.url()).pathname, "/settings/users");
  // Add an agent for the other flows.
  await page.getByLabel("Name", { exact: true }).fill("Ann Agent");
  await page.getByLabel("Email", { exact: true }).fill("ann@example.com");
  await page.getByLabel("Password (at least 8 characters)").fill(PASSWORD);
  await page.getByRole("button", { name: "Add user" }).click();
  await page.getByRole("cell", { name: "ann@example.com" }).waitFor();
  await page.context().close();
});

test("an administrator cannot deactivate their own account", async () => {
  const page = await login("admin@localhost", ADMIN_NEW);
  await page.goto(`${server.url}/settings/users`);
  await page.getByRole("button", { name: "Deactivate Administrator" }).click();
  const error = page.getByRole("alert").filter({ hasText: "your own account" });
  await error.waitFor();
  await shot(page, "accounts-02-self-deactivation-refused");
  await page.goto(`${server.url}/settings/users`);
  await assert.doesNotReject(page.getByRole("button", { name: "Deactivate Administrator" }).waitFor());
  await page.context().close();
});

test("a user changes their password from the profile", async () => {
  const page = await login("ann@example.com", PASSWORD);
  await page.goto(`${server.url}/profile`);
  await shot(page, "accounts-03-profile");
  await page.getByRole("link", { name: "Change your password" }).click();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password (at least 8 characters)").fill(ANN_NEW);
  await page.getByLabel("New password again").fill(ANN_NEW);
  await shot(page, "accounts-04-change-password");
  await page.getByRole("button", { name: "Change password" }).click();
  await page.waitForURL((u) => u.pathname !== "/profile/password");
  await page.context().close();
  // The old password no longer works; the new one does.
  const ctx = await chrome.browser.newContext();
  const p = await ctx.newPage();
  await p.goto(`${server.url}/login`);
  await p.getByLabel("Email address").fill("ann@example.com");
  await p.getByLabel("Password").fill(PASSWORD);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.locator("#login-error").waitFor();
  await ctx.close();
  (await login("ann@example.com", ANN_NEW)).context().close();
});

test("the session list signs out every other browser", async () => {
  const here = await login("ann@example.com", ANN_NEW);
  const there = await login("ann@example.com", ANN_NEW);
  await there.goto(`${server.url}/helpdesk`);
  assert.equal(new URL(there.url()).pathname, "/helpdesk");
  await here.goto(`${server.url}/profile`);
  const rows = here.locator("table.sessions tbody tr");
  assert.ok((await rows.count()) >= 2, "both browsers are listed");
  await here.locator("tr.current-session", { hasText: "(this browser)" }).waitFor();
  await here.locator("table.sessions", { hasText: "127.0.0.1" }).waitFor();
  await shot(here, "accounts-05-sessions");
  await here.getByRole("button", { name: "Sign out everywhere else" }).click();
  await here.waitForURL((u) => u.pathname === "/profile");
  assert.equal(await here.locator("table.sessions tbody tr").count(), 1);
  // The other browser is signed out.
  await there.goto(`${server.url}/helpdesk`);
  assert.equal(new URL(there.url()).pathname, "/login");
  await here.context().close();
  await there.context().close();
});

test("two-factor sign-in: enrol with a code, then sign in with password and code", async () => {
  const page = await login("ann@example.com", ANN_NEW);
  await page.goto(`${server.url}/profile`);
  await page.getByRole("button", { name: "Set up two-factor sign-in" }).click();
  const secret = (await page.locator("#totp-secret").textContent()).trim();
  assert.match(await page.locator("#totp-uri").textContent(), /^otpauth:\/\/totp\/Frontdesk:ann@example.com\?secret=/);
  // The same link as a QR code an authenticator app can scan (an inline SVG with a name).
  await page.getByRole("img", { name: "QR code of the two-factor link below" }).waitFor();
  await shot(page, "accounts-06-totp-enrol");
  // A wrong code is refused, the right one turns it on and shows the recovery codes once.
  await page.getByLabel("Code the app shows now").fill(totp(secret) === "000000" ? "111111" : "000000");
  await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Code the app shows now").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on two-factor sign-in" }).click();
  await page.locator("#recovery-codes li").first().waitFor();
  assert.equal(await page.locator("#recovery-codes li").count(), 10);
  await shot(page, "accounts-07-totp-on");
  await page.context().close();

  // Sign in: the password leads to the code step, and no session exists before the code.
  const ctx = await chrome.browser.newContext({ viewport: { width: 1400, height: 900 } });
  const p = await ctx.newPage();
  await p.goto(`${server.url}/login?next=/profile`);
  await p.getByLabel("Email address").fill("ann@example.com");
  await p.getByLabel("Password").fill(ANN_NEW);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.waitForURL((u) => u.pathname === "/login/code");
  await shot(p, "accounts-08-totp-code");
  assert.ok(!(await ctx.cookies()).some((c) => c.name === "fd_session"), "no session before the code");
  await p.getByLabel("Code").fill("000000" === totp(secret, 1) ? "111111" : "000000");
  await p.getByRole("button", { name: "Verify" }).click();
  await p.locator("#login-error").waitFor();
  // The next step's code (one step of drift is allowed; the current step was used to enrol).
  await p.getByLabel("Code").fill(totp(secret, 1));
  await p.getByRole("button", { name: "Verify" }).click();
  await p.waitForURL((u) => u.pathname === "/profile");
  await p.getByText("Recovery codes left: 10").waitFor();
  await ctx.close();
});
