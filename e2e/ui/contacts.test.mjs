// Contacts and companies (issue 13, item 3): a mail sender becomes a contact with the company
// of its domain, the ticket shows the contact, contacts and companies are created, edited,
// searched and merged in the UI, and a contact's page shows only the tickets an agent may see
// (HD-09).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, serveHelp, PASSWORD } from "./harness.mjs";

const HAS_SMTP = serveHelp().includes("--smtp-listen");
const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server;
let chrome;
before(async () => {
  server = await startServer({ users: USERS, smtp: HAS_SMTP });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  // Two teams, each with a help-desk address.
  for (const [team, address] of [["Support", "support@example.com"], ["Billing", "billing@example.com"]]) {
    await ann.goto(`${server.url}/settings/teams`);
    await ann.getByLabel("Name").fill(team);
    await ann.getByRole("button", { name: "Create team" }).click();
    const card = ann.locator("section.card", { hasText: team });
    await card.getByLabel("Connect an address").fill(address);
    await card.getByLabel("Workspace").selectOption("help_desk");
    await card.getByRole("button", { name: "Connect" }).click();
    await ann.locator("section.card", { hasText: address }).first().waitFor();
  }
  // Sam sees only his team's tickets.
  await ann.goto(`${server.url}/settings/users`);
  await ann.locator("#nu-name").fill("Sam Support");
  await ann.locator("#nu-email").fill("sam@example.com");
  await ann.locator("#nu-password").fill(PASSWORD);
  await ann.locator("#nu-access").selectOption("team");
  await ann.locator("fieldset", { hasText: "Teams" }).getByLabel("Support").check();
  await ann.getByRole("button", { name: "Add user" }).click();
  await ann.getByText("sam@example.com").first().waitFor();
  await ann.context().close();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** Opens `url` again until `locator` shows (mail is ingested by a background job). */
async function reloadUntil(page, url, locator, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.goto(url);
    try {
      await locator.first().waitFor({ timeout: 1_000 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}

test("a mail sender becomes a contact of its domain's company; the ticket shows it; another team's ticket stays hidden", { skip: !HAS_SMTP && "no SMTP listener" }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  // A company made in the UI, from the main navigation.
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("navigation", { name: "Workspaces" }).getByRole("link", { name: "Companies" }).click();
  await ann.getByRole("link", { name: "Create company" }).click();
  await ann.getByLabel("Company name").fill("Acme");
  await ann.getByLabel("Domain").fill("ACME.example");
  await shot(ann, "contacts-01-company-form");
  await ann.getByRole("button", { name: "Create company" }).click();
  await ann.getByRole("heading", { name: "Acme" }).waitFor();

  deliver(server.smtpPort, { from: "Jane Doe <Jane@acme.example>", to: "support@example.com", subject: "Printer on fire", text: "It smokes." });
  deliver(server.smtpPort, { from: "Jane Doe <jane@acme.example>", to: "billing@example.com", subject: "Invoice twice", text: "Charged twice." });
  deliver(server.smtpPort, { from: "Pat <pat@gmail.com>", to: "support@example.com", subject: "Lost password", text: "Help." });

  // The ticket list names the contact; the ticket's sidebar links to it; no visitor question.
  await reloadUntil(ann, `${server.url}/helpdesk?view=open`, ann.locator("#ticket-list a", { hasText: "Printer on fire" }));
  await ann.locator("#ticket-list tr", { hasText: "Printer on fire" }).getByText("Jane Doe").waitFor();
  await ann.locator("#ticket-list a", { hasText: "Printer on fire" }).click();
  await ann.locator("section", { has: ann.locator("#contacts-title") }).getByRole("link", { name: "Jane Doe" }).waitFor();
  assert.equal(await ann.getByText("Associate this visitor").count(), 0, "an email sender is no visitor");
  await ann.locator("section", { has: ann.locator("#contacts-title") }).getByRole("link", { name: "Jane Doe" }).click();

  // The contact page: both tickets and conversations, the company by domain.
  await ann.getByRole("heading", { name: "Jane Doe" }).waitFor();
  await ann.getByRole("link", { name: "Printer on fire" }).first().waitFor();
  await ann.getByRole("link", { name: "Invoice twice" }).first().waitFor();
  await ann.getByRole("link", { name: "Acme" }).waitFor();
  await shot(ann, "contacts-02-contact-page");
  await ann.getByRole("link", { name: "Acme" }).click();
  await ann.getByRole("link", { name: "Jane Doe" }).waitFor();
  await shot(ann, "contacts-03-company-page");

  // A free-mail sender is a contact without a company.
  await ann.goto(`${server.url}/contacts?q=gmail.com`);
  await ann.locator("#people-list a", { hasText: "Pat" }).click();
  await ann.getByRole("heading", { name: "Pat" }).waitFor();
  assert.equal(await ann.getByRole("link", { name: "Acme" }).count(), 0);
  await ann.context().close();

  // Sam (Support team only) sees the Support ticket on Jane's page, not Billing's.
  const sam = await signIn(chrome.browser, server.url, "sam@example.com");
  await sam.goto(`${server.url}/contacts?q=jane`);
  await sam.locator("#people-list a", { hasText: "Jane Doe" }).click();
  await sam.getByRole("link", { name: "Printer on fire" }).first().waitFor();
  assert.equal(await sam.getByText("Invoice twice").count(), 0, "another team's ticket stays hidden (HD-09)");
  await shot(sam, "contacts-04-contact-page-scoped");
  await sam.context().close();
});

test("contacts are created, edited, searched and merged in the UI", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("navigation", { name: "Workspaces" }).getByRole("link", { name: "Contacts" }).click();
  await ann.getByRole("heading", { name: "Contacts" }).waitFor();
  await shot(ann, "contacts-05-list");

  // A bad email address is refused next to its field, keeping what was typed.
  await ann.getByRole("link", { name: "Create contact" }).click();
  await ann.getByLabel("First name").fill("Jo");
  await ann.getByLabel("Last name").fill("Dupe");
  await ann.getByLabel("Email").fill("not an address");
  await ann.getByRole("button", { name: "Create contact" }).click();
  await ann.locator("#f-email-error").waitFor();
  assert.equal(await ann.getByLabel("First name").inputValue(), "Jo");
  assert.equal(await ann.getByLabel("Email").getAttribute("aria-invalid"), "true");
  await shot(ann, "contacts-06-form-error");
  await ann.getByLabel("Email").fill("jo@dupe.example");
  await ann.getByRole("button", { name: "Create contact" }).click();
  await ann.getByRole("heading", { name: "Jo Dupe" }).waitFor();

  // Edit: the last name changes.
  await ann.getByRole("link", { name: "Edit contact" }).click();
  await ann.getByLabel("Last name").fill("Duplicate");
  await shot(ann, "contacts-07-edit");
  await ann.getByRole("button", { name: "Save" }).click();
  await ann.getByRole("heading", { name: "Jo Duplicate" }).waitFor();

  // A second contact with the same address is refused at the email field.
  await ann.goto(`${server.url}/contacts/new`);
  await ann.getByLabel("Email").fill("JO@dupe.example");
  await ann.getByRole("button", { name: "Create contact" }).click();
  await ann.locator("#f-email-error", { hasText: "already" }).waitFor();

  // The primary, and the merge of the duplicate into it.
  await ann.goto(`${server.url}/contacts/new`);
  await ann.getByLabel("First name").fill("Joanna");
  await ann.getByLabel("Last name").fill("Primary");
  await ann.getByRole("button", { name: "Create contact" }).click();
  await ann.getByRole("heading", { name: "Joanna Primary" }).waitFor();
  await ann.getByText("Merge a duplicate into this contact").click();
  // A duplicate nobody has is refused beside the field.
  await ann.getByLabel("Duplicate's email address or record ID").fill("nobody@dupe.example");
  await ann.getByRole("button", { name: "Merge into Joanna Primary" }).click();
  await ann.locator("#merge-error", { hasText: "nobody@dupe.example" }).waitFor();
  await shot(ann, "contacts-08-merge-refused");
  await ann.getByLabel("Duplicate's email address or record ID").fill("jo@dupe.example");
  await shot(ann, "contacts-08-merge");
  await ann.getByRole("button", { name: "Merge into Joanna Primary" }).click();
  await ann.getByRole("heading", { name: "Joanna Primary" }).waitFor();
  // The primary took the duplicate's email address; the duplicate left the list.
  await ann.getByText("jo@dupe.example").first().waitFor();
  await ann.goto(`${server.url}/contacts?q=dupe`);
  await ann.locator("#people-list a", { hasText: "Joanna Primary" }).waitFor();
  assert.equal(await ann.locator("#people-list a", { hasText: "Jo Duplicate" }).count(), 0);
  await shot(ann, "contacts-09-search-after-merge");
  await ann.context().close();
});
