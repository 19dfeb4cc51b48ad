// Unmerge and split (issue 15, items 2 and 3): "Undo merge" on the survivor's merge entry
// gives both tickets back; "Split" lists a ticket's messages with checkboxes and opens the
// new ticket, both tickets link to each other, and "Undo split" puts the messages back.
// Works without JavaScript: plain GET pages and POST forms (JS adds the confirmations).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, createTeamWithAddresses } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server;
let chrome;
before(async () => {
  server = await startServer({ users: USERS, smtp: true });
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

async function createTicket(page, name) {
  await page.goto(`${server.url}/helpdesk/new`);
  await page.getByLabel("Ticket name").fill(name);
  await page.getByLabel("Ticket status").selectOption({ label: "New" });
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  return Number(new URL(page.url()).pathname.split("/").pop());
}

// Mail is ingested in the background: reload until it shows.
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

test("merge, then Undo merge on the survivor's activity gives both tickets back", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  ann.on("dialog", (d) => d.accept());
  const old = await createTicket(ann, "Toner is empty");
  const primary = await createTicket(ann, "Printer says no");
  await ann.goto(`${server.url}/helpdesk/tickets/${primary}/merge?other=${old}`);
  await ann.getByRole("button", { name: `Merge #${old} into this ticket` }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${primary}$`));
  await ann.getByText("Tickets merged").first().waitFor();

  const entry = ann.locator("ol.activity li", { hasText: `merged ticket #${old} into this ticket` });
  await entry.getByRole("button", { name: "Undo merge" }).waitFor();
  await shot(ann, "unmerge-01-undo-merge-button");
  await entry.getByRole("button", { name: "Undo merge" }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${primary}$`));
  await ann.getByText("Merge undone").first().waitFor();
  await ann.locator("ol.activity li", { hasText: `undid the merge of ticket #${old}` }).waitFor();
  assert.equal(await ann.getByRole("button", { name: "Undo merge" }).count(), 0, "nothing left to undo");
  await shot(ann, "unmerge-02-merge-undone");

  // The old address is its own ticket again, with its history.
  await ann.goto(`${server.url}/helpdesk/tickets/${old}`);
  assert.match(ann.url(), new RegExp(`/helpdesk/tickets/${old}$`));
  await ann.getByRole("heading", { name: "Toner is empty" }).waitFor();
  await ann.locator("ol.activity li", { hasText: `undid the merge of this ticket into ticket #${primary}` }).waitFor();
  await ann.context().close();
});

test("split: choose messages, land on the new ticket linked both ways; Undo split", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  ann.on("dialog", (d) => d.accept());
  await createTeamWithAddresses(ann, server.url, "Support", [["support@example.com", "help_desk"]]);
  deliver(server.smtpPort, { from: "Jane Doe <jane@acme.example>", to: "support@example.com", subject: "Printer on fire", text: "It smokes." });
  await reloadUntil(ann, `${server.url}/helpdesk?view=open`, ann.locator("#ticket-list a", { hasText: "Printer on fire" }));
  await ann.locator("#ticket-list a", { hasText: "Printer on fire" }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const src = Number(new URL(ann.url()).pathname.split("/").pop());
  deliver(server.smtpPort, { from: "Jane Doe <jane@acme.example>", to: "support@example.com", subject: `Re: Printer on fire [#${src}]`, text: "Now it burns." });
  deliver(server.smtpPort, { from: "Jane Doe <jane@acme.example>", to: "support@example.com", subject: `Re: Printer on fire [#${src}]`, text: "Also the scanner jams." });
  await reloadUntil(ann, `${server.url}/helpdesk/tickets/${src}/split`, ann.getByText("Also the scanner jams."));
  await ann.getByText("Now it burns.").waitFor();
  await shot(ann, "unmerge-03-split-page");

  // Nothing chosen: the page says why.
  await ann.getByRole("button", { name: "Split to a new ticket" }).click();
  await ann.getByRole("alert").getByText("choose at least one message").waitFor();
  await shot(ann, "unmerge-04-split-refused");

  await ann.locator("label", { hasText: "Also the scanner jams." }).click();
  await ann.getByLabel("Name of the new ticket").fill("Scanner jams");
  await ann.getByRole("button", { name: "Split to a new ticket" }).click();
  await ann.waitForURL((u) => /\/helpdesk\/tickets\/\d+$/.test(u.pathname) && !u.pathname.endsWith(`/${src}`));
  const created = Number(new URL(ann.url()).pathname.split("/").pop());
  await ann.getByText("Ticket split").first().waitFor();
  await ann.getByRole("heading", { name: "Scanner jams" }).waitFor();
  await ann.locator("#split-from").getByRole("link", { name: `ticket #${src}` }).waitFor();
  await ann.getByText("Also the scanner jams.").first().waitFor();
  await shot(ann, "unmerge-05-split-new-ticket");

  await ann.locator("#split-from").getByRole("link", { name: `ticket #${src}` }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${src}$`));
  await ann.locator("#split-into").getByRole("link", { name: `ticket #${created}` }).waitFor();
  assert.equal(await ann.getByText("Also the scanner jams.").count(), 0, "the message left this ticket");
  const entry = ann.locator("ol.activity li", { hasText: `split messages off to ticket #${created}` });
  await entry.getByRole("button", { name: "Undo split" }).waitFor();
  await shot(ann, "unmerge-06-split-source");
  await entry.getByRole("button", { name: "Undo split" }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${src}$`));
  await ann.getByText("Split undone").first().waitFor();
  await ann.getByText("Also the scanner jams.").first().waitFor();
  assert.equal(await ann.locator("#split-into").count(), 0);
  await shot(ann, "unmerge-07-split-undone");
  await ann.context().close();
});
