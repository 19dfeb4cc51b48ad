// Shared views (issue 16 item 4, HD-04): an administrator creates a team view with a relative
// date filter ("created in the last 7 days"), a property filter and chosen columns; a member
// of the team sees it in the left panel with its count and opens it in those columns; a
// member without a Service Seat sees the view but no control to create one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startServer, launchBrowser, signIn, shot, binary, createTeamWithAddresses, PASSWORD, apiClient } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Admin", role: "super-admin" }];

let server;
let chrome;
let api;
before(async () => {
  server = await startServer({ users: USERS });
  chrome = await launchBrowser();
  api = apiClient(server, "ann@example.com");
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

function createUser(email, name, seat) {
  execFileSync(binary(), ["admin", "create-user", ...server.dbArgs, "--email", email, "--name", name,
    "--role", "agent", "--team", "Support", "--seat", seat, "--password", PASSWORD], { stdio: "ignore" });
}

test("views: a team view with a relative date, a filter and chosen columns; members see it with its count", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  await createTeamWithAddresses(ann, server.url, "Support", []);
  createUser("bob@example.com", "Bob Builder", "service");
  createUser("carl@example.com", "Carl Clerk", "core");
  for (const [subject, prio] of [["Printer on fire", "HIGH"], ["Screen flickers", "HIGH"], ["Mouse squeaks", "LOW"]]) {
    await api("POST", "/crm/v3/objects/tickets", {
      properties: { subject, hs_pipeline: "0", hs_pipeline_stage: "1", hs_ticket_priority: prio },
    });
  }

  // The administrator builds the view from the left panel's "New view".
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("link", { name: "New view" }).click();
  await ann.getByRole("heading", { name: "New view", level: 1 }).waitFor();
  await ann.locator("#view-name").fill("Support: high this week");
  await ann.getByLabel("Who sees it").selectOption({ label: "Team: Support" });
  await ann.getByLabel("Range").selectOption("last_7_days");
  await ann.locator("#filter0-property").selectOption("hs_ticket_priority");
  await ann.locator("#filter0-operator").selectOption("EQ");
  await ann.locator("#filter0-value").fill("HIGH");
  const columns = ann.getByRole("group", { name: "Columns" });
  for (const label of ["Status", "Owner", "Last activity"]) await columns.getByLabel(label, { exact: true }).uncheck();
  for (const label of ["Team", "Created"]) await columns.getByLabel(label, { exact: true }).check();
  await ann.getByLabel("Sort").selectOption("created_asc");
  await shot(ann, "views-01-new-view-form");
  await ann.getByRole("button", { name: "Save view" }).click();
  await ann.getByRole("heading", { name: "Support: high this week", level: 1 }).waitFor();

  // Bob (a member with a Service Seat) sees it in the left panel with its count and opens it.
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  bob.setDefaultTimeout(15_000);
  await bob.goto(`${server.url}/helpdesk`);
  const entry = bob.locator("#saved-views").getByRole("link", { name: /Support: high this week/ });
  await entry.locator(".count", { hasText: "2" }).waitFor();
  await bob.getByRole("link", { name: "New view" }).waitFor();
  await shot(bob, "views-02-left-panel");
  await entry.click();
  await bob.getByRole("heading", { name: "Support: high this week", level: 1 }).waitFor();
  const headers = await bob.locator("table.view-tickets thead th").allInnerTexts();
  assert.deepEqual(headers.map((h) => h.trim()), ["Name", "Priority", "Team", "Created"]);
  const rows = bob.locator("table.view-tickets tbody tr");
  assert.equal(await rows.count(), 2);
  await rows.first().getByRole("link", { name: "Printer on fire" }).waitFor();
  await rows.nth(1).getByRole("link", { name: "Screen flickers" }).waitFor();
  assert.equal(await bob.getByText("Mouse squeaks").count(), 0);
  await bob.getByRole("link", { name: "Edit view" }).waitFor();
  await shot(bob, "views-03-view-page");

  // Carl (a member without a Service Seat) sees the view, but nothing to create or edit.
  const carl = await signIn(chrome.browser, server.url, "carl@example.com");
  carl.setDefaultTimeout(15_000);
  await carl.goto(`${server.url}/helpdesk`);
  await carl.locator("#saved-views").getByRole("link", { name: /Support: high this week/ }).locator(".count", { hasText: "2" }).waitFor();
  assert.equal(await carl.getByRole("link", { name: "New view" }).count(), 0);
  assert.equal(await carl.getByRole("button", { name: "Save view" }).count(), 0);
  await shot(carl, "views-04-no-seat");
  await carl.locator("#saved-views").getByRole("link", { name: /Support: high this week/ }).click();
  await carl.getByRole("heading", { name: "Support: high this week", level: 1 }).waitFor();
  assert.equal(await carl.getByRole("link", { name: "Edit view" }).count(), 0);
});
