// Satisfaction survey and reply suggestions (issue 16, items 6 and 7), in Debian's chromium
// against the real binary: an admin switches the survey on in Settings; a customer's email
// ticket is closed; the survey email reaches the relay with its one-click links; the
// customer (no sign-in) clicks "good", adds a comment and sees the page say so; the ticket
// page shows the rating badge and the history; an unknown link gets its own clear page. The
// editor then suggests the closed ticket's reply for a new question on the same problem.
// Every screen goes through shot() (axe-core).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startRelay, launchBrowser, signIn, shot, deliver, serveHelp, createTeamWithAddresses } from "./harness.mjs";

const HELP = serveHelp();
const HAS_SMTP = HELP.includes("--smtp-listen");
const HAS_RELAY = HELP.includes("--smtp-relay");
const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server;
let chrome;
let relay;
before(async () => {
  relay = HAS_RELAY ? await startRelay() : null;
  server = await startServer({ users: USERS, smtp: HAS_SMTP, relayPort: relay && relay.port });
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (relay) await relay.stop();
});

/** Waits until the relay got a message for `to` containing `text`. */
async function relayed(to, text, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const m = relay.messages.find((x) => x.to.includes(to) && x.raw.includes(text));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message to ${to} containing ${JSON.stringify(text)} reached the relay`);
}

/** A customer's email becomes a ticket; returns its page's id. */
async function emailTicket(page, from, subject, text) {
  deliver(server.smtpPort, { from, to: "support@example.com", subject, text });
  await page.goto(`${server.url}/helpdesk`);
  // The list follows new tickets live.
  const link = page.locator("a", { hasText: subject }).first();
  await link.waitFor({ timeout: 20_000 });
  await link.click();
  await page.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  return Number(new URL(page.url()).pathname.split("/").pop());
}

test("closing a ticket sends a one-click survey; the customer rates and comments; the ticket shows it; a past reply is suggested", { skip: !(HAS_SMTP && HAS_RELAY) }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  await createTeamWithAddresses(ann, server.url, "Support", [["support@example.com", "help_desk"]]);
  // Settings: off by default; switch it on with our own wording.
  await ann.goto(`${server.url}/settings/csat`);
  const enabled = ann.getByLabel("Send a satisfaction survey when a ticket is closed");
  assert.equal(await enabled.isChecked(), false);
  await enabled.check();
  await ann.getByLabel("Email subject").fill("How did we do with your printer?");
  await ann.getByLabel("Text before the rating links").fill("Thanks for writing to us. One click tells us how we did.");
  await shot(ann, "csat-01-settings");
  await ann.getByRole("button", { name: "Save" }).click();
  await ann.locator("#toast", { hasText: "Settings saved." }).waitFor();

  const id = await emailTicket(ann, "carla@example.com", "Flux printer prints blank pages", "My flux printer only prints blank pages since Monday.");
  // Answer and close with Send + Closed.
  const rich = ann.locator("#rich-body");
  await rich.waitFor();
  await rich.fill("Take the flux cartridge out, shake it gently and push it back until it clicks.");
  await ann.locator("#send-status").selectOption({ label: "Closed" });
  await ann.getByRole("button", { name: "Send", exact: true }).click();
  await ann.locator("#ticket-status", { hasText: "Closed" }).waitFor();

  // The survey reaches the relay: automatic mail with one-click links.
  const mail = await relayed("carla@example.com", "/csat/");
  assert.match(mail.raw, /Auto-Submitted: auto-generated/i);
  assert.match(mail.raw, /How did we do with your printer\?/);
  const token = mail.raw.match(/\/csat\/([A-Za-z0-9]+)\/good/)[1];

  // The customer's browser: no session.
  const ctx = await chrome.browser.newContext();
  const customer = await ctx.newPage();
  const res = await customer.goto(`${server.url}/csat/${token}/good`);
  assert.equal(res.status(), 200);
  await customer.getByRole("heading", { name: "Thank you for your rating" }).waitFor();
  await customer.locator("#csat-status", { hasText: "as good" }).waitFor();
  await shot(customer, "csat-02-rated-good");
  await customer.getByLabel("Anything you would like to add? (optional)").fill("Quick and kind, thank you.");
  await customer.getByRole("button", { name: "Send comment" }).click();
  await customer.locator("#csat-status", { hasText: "Your comment" }).waitFor();
  await shot(customer, "csat-03-comment-saved");
  const bad = await customer.goto(`${server.url}/csat/not-a-real-token/good`);
  assert.equal(bad.status(), 404);
  await customer.getByRole("heading", { name: "This rating link does not work" }).waitFor();
  await shot(customer, "csat-04-unknown-link");
  await ctx.close();

  // The ticket page: badge with the comment, and the history.
  await ann.goto(`${server.url}/helpdesk/tickets/${id}`);
  await ann.locator("#ticket-csat", { hasText: "Customer rating: Good" }).waitFor();
  await ann.locator("#ticket-csat", { hasText: "Quick and kind" }).waitFor();
  await ann.getByText("recorded the customer's rating: good").first().waitFor();
  await shot(ann, "csat-05-ticket-badge");

  // A new question on the same problem: the closed ticket's reply is suggested and inserts.
  await emailTicket(ann, "dave@example.com", "Printer gives blank pages", "The flux printer prints blank pages, what can I do?");
  await ann.getByRole("button", { name: "Suggestions" }).click();
  const insert = ann.getByRole("button", { name: `Insert reply from #${id}: Flux printer prints blank pages` });
  await insert.click();
  await ann.locator("#rich-body").getByText("shake it gently").waitFor();
  await shot(ann, "csat-06-past-reply-suggested");
  await ann.context().close();
});
