// Starts the real `frontdesk` binary on a free loopback port with a fresh data directory (and,
// when FRONTDESK_E2E_POSTGRES_URL names a PostgreSQL server, a fresh database on it), creates
// the agents the flows need with `frontdesk admin create-user`, and launches Debian's chromium
// through playwright-core (never a downloaded browser). Every flow checks its pages with
// axe-core and keeps screenshots at 1440, 1024 and 390 px in e2e/ui/artifacts/<backend>/.
import { spawn, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
/** The backend the flows run on: PostgreSQL when .ci/ui-e2e's second pass names a server. */
const PG_URL = process.env.FRONTDESK_E2E_POSTGRES_URL || "";
export const BACKEND = PG_URL ? "postgres" : "sqlite";
export const ARTIFACTS = join(here, "artifacts", BACKEND);
// Evaluated through the DevTools protocol, which the pages' Content-Security-Policy does not
// govern (an injected <script> tag would be refused, rightly).
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
export const PASSWORD = "e2e-password-123";

export function binary() {
  const bin = process.env.FRONTDESK_BIN;
  if (!bin) throw new Error("FRONTDESK_BIN must name the frontdesk binary (.ci/ui-e2e sets it)");
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/** What the binary offers: the email pieces may not be built yet. */
export function serveHelp() {
  return execFileSync(binary(), ["serve", "--help"], { encoding: "utf8" });
}

/**
 * A minimal SMTP server standing in for the outbound relay: it accepts every message and
 * keeps it, so tests can see what Frontdesk sent. With `refuse` (an SMTP reply such as
 * "554 5.7.1 Relay access denied") it answers every RCPT with that reply instead, as a relay
 * that refuses the mail; `relay.refuse(reply)` changes that later (`null` accepts again).
 */
export async function startRelay({ refuse = null } = {}) {
  const messages = [];
  let refusal = refuse;
  const port = await freePort();
  const server = createServer((sock) => {
    let data = false, buf = "", rcpt = [];
    sock.write("220 relay.test ESMTP\r\n");
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      for (;;) {
        if (data) {
          const end = buf.indexOf("\r\n.\r\n");
          if (end < 0) return;
          messages.push({ to: rcpt, raw: buf.slice(0, end) });
          buf = buf.slice(end + 5); data = false; rcpt = [];
          sock.write("250 2.0.0 queued\r\n");
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.slice(0, nl); buf = buf.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") sock.write("250 relay.test\r\n");
        else if (verb === "RCPT" && refusal) { sock.write(`${refusal}\r\n`); }
        else if (verb === "RCPT") { rcpt.push(line.replace(/^RCPT TO:\s*<?([^>]*)>?.*$/i, "$1")); sock.write("250 2.1.5 ok\r\n"); }
        else if (verb === "DATA") { data = true; sock.write("354 go ahead\r\n"); }
        else if (verb === "QUIT") { sock.end("221 bye\r\n"); }
        else sock.write("250 ok\r\n");
      }
    });
    sock.on("error", () => {});
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return {
    port, messages,
    refuse: (reply) => { refusal = reply; },
    stop: () => new Promise((r) => server.close(r)),
  };
}

// Each started server's log by its URL, for `signIn`'s failures.
const serverLogs = new Map();

export async function startServer({ users = [], smtp = false, relayPort = null } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "frontdesk-e2e-"));
  const base = ["--data-dir", dir];
  if (PG_URL) {
    // A fresh database per server, so flows never see each other's records.
    const name = `fd_e2e_${randomBytes(6).toString("hex")}`;
    execFileSync("psql", [PG_URL, "-qc", `CREATE DATABASE ${name}`], { stdio: "ignore" });
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    base.push("--database-url", u.toString());
  }
  execFileSync(binary(), ["migrate", ...base], { stdio: "ignore" });
  for (const u of users) {
    const args = ["admin", "create-user", ...base, "--email", u.email, "--name", u.name,
      "--role", u.role || "agent", "--password", PASSWORD];
    for (const t of u.teams || []) args.push("--team", t);
    if (u.role === "super-admin") args.push("--account-access");
    execFileSync(binary(), args, { stdio: "ignore" });
  }
  const port = await freePort();
  const extra = [];
  let smtpPort = null;
  if (smtp) {
    smtpPort = await freePort();
    extra.push("--smtp-listen", `127.0.0.1:${smtpPort}`);
  }
  if (relayPort) extra.push("--smtp-relay", `smtp://127.0.0.1:${relayPort}?tls=none`);
  const proc = spawn(binary(), ["serve", ...base, "--listen", `127.0.0.1:${port}`, ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    // Sign-in outcomes (refusals, throttles) are logged at info: a failing flow shows why.
    env: { ...process.env, FRONTDESK_LOG: "warn,fd_app::sessions=info,fd_web=info" },
  });
  let log = "";
  proc.stdout.on("data", (d) => { log += d; });
  proc.stderr.on("data", (d) => { log += d; });
  const url = `http://127.0.0.1:${port}`;
  serverLogs.set(url, () => log);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline || proc.exitCode !== null) {
      throw new Error(`frontdesk did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    // `args` / `dbArgs`: the data directory and database options, for `frontdesk admin …`
    // beside the server.
    url, dir, smtpPort, args: base, dbArgs: base, log: () => log,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Playwright gives every launch a fresh temporary profile (its own --user-data-dir, which it
// refuses to take as an argument), so no state leaks between runs.
// A JSON client of the server's API as `email`, with a token from `frontdesk admin
// create-token`: `api(method, path, body)` fails the flow on any status of 300 or more,
// quoting the answer, and returns the parsed body (null when empty).
export function apiClient(server, email) {
  const token = execFileSync(binary(), ["admin", "create-token", "--email", email, ...server.dbArgs],
    { encoding: "utf8" }).trim().split("\n").pop();
  return async (method, path, body) => {
    const r = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

export async function launchBrowser() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    browser,
    async close() { await browser.close(); },
  };
}

/**
 * A signed-in page for one agent, in its own browser context (its own cookies). Signed in is
 * the redirect away from /login: its commit, since the next page's subresources are not what
 * this proves. A refusal (#login-error) fails at once; a refusal or a timeout quotes the
 * server's log, so a failing flow says whether the server refused or was slow.
 */
export async function signIn(browser, url, email, password = PASSWORD) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.getByLabel("Email address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  const refused = page.locator("#login-error");
  // Each side settles without rejecting, so the loser of the race never rejects unhandled.
  const outcome = await Promise.race([
    page.waitForURL((u) => !u.pathname.startsWith("/login"), { waitUntil: "commit" })
      .then(() => "signed in", (e) => `no redirect: ${e.message}`),
    refused.waitFor().then(async () => `refused: ${await refused.innerText()}`, () => "no answer"),
  ]);
  if (outcome !== "signed in") {
    const log = serverLogs.get(url);
    throw new Error(`sign-in of ${email}: ${outcome}\n--- server log ---\n${log ? log() : "(not started here)"}`);
  }
  return page;
}

/**
 * Screenshots of the page as it is, at 1440, 1024 and 390 px wide (`name-1440.png`, …), after
 * checking it with axe-core. The viewport is put back afterwards.
 */
export async function shot(page, name) {
  await checkA11y(page, name);
  const size = page.viewportSize();
  for (const width of [1440, 1024, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${width}.png`), fullPage: true });
  }
  if (size) await page.setViewportSize(size);
}

/**
 * Runs axe-core (WCAG 2 A/AA rules) on the page and fails on any serious or critical
 * violation, naming the rule and the offending elements.
 */
export async function checkA11y(page, label = page.url()) {
  // Contrast is judged on the settled page, not halfway through a highlight's fade.
  await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null))));
  if (!(await page.evaluate(() => !!window.axe))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
    });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")}: ${(n.failureSummary || "").replace(/\s+/g, " ")}`).join("\n    ")}`);
  });
  if (violations.length) {
    throw new Error(`axe-core: ${violations.length} serious/critical violation(s) on ${label}:\n  ${violations.join("\n  ")}`);
  }
}

/**
 * Delivers a message to the server's SMTP listener with Python's smtplib. `attachments` is an
 * optional list of `{ name, type: "application/pdf", base64 }` added as attachment parts.
 */
export function deliver(smtpPort, { from, to, subject, text, html, inReplyTo, attachments = [] }) {
  const script = `
import smtplib, sys, json
from email.message import EmailMessage
a = json.loads(sys.argv[1])
m = EmailMessage()
m["From"] = a["from"]; m["To"] = a["to"]; m["Subject"] = a["subject"]
if a.get("inReplyTo"):
    m["In-Reply-To"] = a["inReplyTo"]; m["References"] = a["inReplyTo"]
m.set_content(a["text"])
if a.get("html"):
    m.add_alternative(a["html"], subtype="html")
import base64
for f in a.get("attachments") or []:
    main, sub = f["type"].split("/", 1)
    m.add_attachment(base64.b64decode(f["base64"]), maintype=main, subtype=sub, filename=f["name"])
with smtplib.SMTP("127.0.0.1", int(a["port"])) as s:
    s.send_message(m)
`;
  execFileSync("python3", ["-c", script, JSON.stringify({ from, to, subject, text, html, inReplyTo, attachments, port: smtpPort })]);
}

/**
 * As the signed-in admin `page`: creates team `name` and connects each [address, workspace]
 * ("help_desk" or "inbox") to it through Settings → Teams, the way a team lead sets up.
 */
export async function createTeamWithAddresses(page, url, name, addresses) {
  await page.goto(`${url}/settings/teams`);
  await page.getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create team" }).click();
  const team = page.locator("section.card", { hasText: name });
  for (const [address, ws] of addresses) {
    await team.getByLabel("Connect an address").fill(address);
    await team.getByLabel("Workspace").selectOption(ws);
    await team.getByRole("button", { name: "Connect" }).click();
    await page.locator("section.card", { hasText: address }).first().waitFor();
  }
}

/**
 * A tiny static "customer site" on another loopback port (another origin than Frontdesk's)
 * whose page embeds the chat widget of `channelId` with one script tag, optionally after
 * `window.hsConversationsSettings = settings`. Close it with `site.close()`.
 */
export function startChatSite(frontdesk, channelId, settings = null) {
  const before = settings ? `<script>window.hsConversationsSettings = ${JSON.stringify(settings)};</script>\n` : "";
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme shop</title></head>
<body><main><h1>Acme shop</h1><p>Welcome to our shop.</p></main>
${before}<script src="${frontdesk}/chat/widget.js" data-frontdesk-chat="${channelId}" async></script></body></html>`;
  return new Promise((resolve) => {
    const s = createHttpServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html);
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}
