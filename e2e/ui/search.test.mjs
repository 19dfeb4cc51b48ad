// The help desk's search (issue 13, item 4) in Debian's chromium against the real binary: one
// box finds a ticket by its customer's email, by an accented word typed without its accent,
// finds a closed ticket from the open view, and says where each result matched (the matched
// words marked). Every screen goes through `shot` (axe-core).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, serveHelp } from "./harness.mjs";

const HAS_SMTP = serveHelp().includes("--smtp-listen");
const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server;
let chrome;
before(async () => {
  server = await startServer({ users: USERS, smtp: HAS_SMTP });
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** Searches from the open view with the list's search box (a plain GET form). */
async function search(page, text) {
  await page.goto(`${server.url}/helpdesk?view=open`);
  await page.locator("#q").fill(text);
  await page.locator("#q").press("Enter");
  await page.waitForURL(/[?&]q=/);
}

/** The result row of the ticket named `subject`. */
function row(page, subject) {
  return page.locator("#ticket-list tbody tr", { hasText: subject });
}

test("search by customer email, by an accented word without accent, a closed ticket from the open view, and where it matched", { skip: !HAS_SMTP && "the binary has no SMTP listener" }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings/teams`);
  await ann.getByLabel("Name").fill("Support");
  await ann.getByRole("button", { name: "Create team" }).click();
  const team = ann.locator("section.card", { hasText: "Support" });
  await team.getByLabel("Connect an address").fill("support@example.com");
  await team.getByLabel("Workspace").selectOption("help_desk");
  await team.getByRole("button", { name: "Connect" }).click();
  await ann.locator("section.card", { hasText: "support@example.com" }).first().waitFor();

  deliver(server.smtpPort, {
    from: "Zoë Dupont <zoe.dupont@example.org>", to: "support@example.com",
    subject: "Commande 4471", text: "Bonjour,\n\nj'ai un problème avec ma commande <b>4471</b>.\n",
  });
  deliver(server.smtpPort, {
    from: "victor@example.net", to: "support@example.com",
    subject: "Password reset", text: "I cannot sign in any more.",
  });
  await ann.goto(`${server.url}/helpdesk?view=open`);
  await row(ann, "Commande 4471").waitFor({ timeout: 20_000 });
  await row(ann, "Password reset").waitFor({ timeout: 20_000 });

  // By the customer's email address: only her ticket, found through its contact.
  await search(ann, "zoe.dupont@example.org");
  await row(ann, "Commande 4471").waitFor();
  assert.equal(await row(ann, "Password reset").count(), 0);
  await shot(ann, "search-01-customer-email");

  // By an accented word typed without accent: the message says where, the word is marked,
  // and the message's markup is shown as text, not run.
  await search(ann, "PROBLEME");
  const hit = row(ann, "Commande 4471").locator(".search-match");
  await hit.waitFor();
  assert.match(await hit.innerText(), /^message from Zo[eë] Dupont: /);
  assert.equal(await hit.locator("mark").first().innerText(), "problème");
  assert.match(await hit.innerText(), /<b>4471<\/b>/);
  assert.equal(await hit.locator("b").count(), 0);
  assert.equal(await row(ann, "Password reset").count(), 0);
  await shot(ann, "search-02-accent-folded-message");

  // Close the ticket; the open view no longer lists it, the search from the open view still
  // finds it, and the reach can narrow to open tickets only.
  await row(ann, "Commande 4471").locator("a.ticket-link").click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const props = ann.locator("form.props");
  await props.locator('select[name="p.hs_pipeline_stage"]').selectOption({ label: "Closed" });
  // The status saves as it changes (per-field save); the toast confirms it.
  await ann.locator("#toast", { hasText: "saved" }).waitFor();
  await ann.goto(`${server.url}/helpdesk?view=open`);
  await row(ann, "Password reset").waitFor();
  assert.equal(await row(ann, "Commande 4471").count(), 0);
  await search(ann, "commande 4471");
  await row(ann, "Commande 4471").waitFor();
  assert.match(await row(ann, "Commande 4471").locator(".search-match").innerText(), /^subject: /);
  assert.match(await ann.locator("h1").innerText(), /Search results/);
  await shot(ann, "search-03-closed-found-from-open-view");
  await ann.locator("#filter-within").selectOption({ label: "Open tickets" });
  await ann.getByRole("button", { name: "Apply" }).click();
  await ann.waitForURL(/within=open/);
  assert.equal(await row(ann, "Commande 4471").count(), 0);
  await shot(ann, "search-04-narrowed-to-open");
  await ann.context().close();
});
