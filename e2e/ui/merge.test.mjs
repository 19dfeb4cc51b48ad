// Ticket merge (issue 15, item 1): "Merge" on a ticket, find the other ticket, preview the
// result, confirm; the merged ticket's address then opens the survivor. Works without
// JavaScript: plain GET forms and one POST.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server;
let chrome;
before(async () => {
  server = await startServer({ users: USERS });
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

test("merge: find the other ticket, preview, confirm; the old address opens the survivor", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  const old = await createTicket(ann, "Toner is empty");
  const primary = await createTicket(ann, "Printer says no");

  await ann.getByRole("link", { name: "Merge", exact: true }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${primary}/merge$`));
  await ann.getByLabel("Find the other ticket by name or ID").fill("toner");
  await ann.getByRole("button", { name: "Search" }).click();
  await ann.getByRole("link", { name: `#${old} Toner is empty` }).waitFor();
  await shot(ann, "merge-01-search");
  await ann.getByRole("link", { name: `#${old} Toner is empty` }).click();
  await ann.getByRole("heading", { name: "Preview" }).waitFor();
  const after = ann.locator("table.merge-preview tr", { hasText: "Name" }).locator("td").nth(2);
  assert.equal((await after.textContent()).trim(), "Printer says no", "properties follow the primary");
  await shot(ann, "merge-02-preview");
  await ann.getByRole("button", { name: `Merge #${old} into this ticket` }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${primary}$`));
  await ann.getByText("Tickets merged").first().waitFor();
  await shot(ann, "merge-03-merged");

  // The merged ticket's address opens the survivor.
  await ann.goto(`${server.url}/helpdesk/tickets/${old}`);
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${primary}$`));
  await ann.getByText("That ticket was merged into this one").first().waitFor();
  await ann.context().close();
});
