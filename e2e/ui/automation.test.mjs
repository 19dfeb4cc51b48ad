// Settings → Automation (issue 16, item 3; HD-20): the built-in HD-20 rule is listed and on
// in a new installation; an administrator creates a rule with a plain form (a refused one
// comes back with the reasons and what was typed), the rule runs when a ticket is created
// and the list shows when and what it did; HD-20's rule is turned off; a rule is deleted.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

let server;
let chrome;

before(async () => {
  server = await startServer({
    users: [{ email: "ann@example.com", name: "Ann Admin", role: "super-admin" }],
  });
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

const HD20 = "Email sent to the customer: Waiting on contact";

test("an admin lists, creates, runs, turns off and deletes automation rules", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Automation" }).click();
  await ann.getByRole("heading", { name: "Automation", level: 1 }).waitFor();
  const builtin = ann.getByRole("row", { name: new RegExp(HD20) });
  await builtin.getByText("On", { exact: true }).waitFor();
  await builtin.getByText("An email is sent to the customer").waitFor();
  assert.equal(await builtin.getByRole("button", { name: `Delete ${HD20}` }).count(), 0);
  await shot(ann, "automation-01-list");

  // A rule naming an unknown user comes back with the reason and what was typed.
  await ann.getByRole("link", { name: "New rule" }).click();
  await ann.getByRole("heading", { name: "New automation rule" }).waitFor();
  await ann.getByLabel("Name").fill("Welcome note");
  await ann.getByLabel("Trigger").selectOption("ticket_created");
  await ann.getByLabel("Action 1", { exact: true }).selectOption("set_owner");
  await ann.locator("#a-target-0").fill("nobody@example.com");
  await ann.getByRole("button", { name: "Save rule" }).click();
  await ann.locator("#rule-errors").getByText("nobody@example.com").waitFor();
  assert.equal(await ann.getByLabel("Name").inputValue(), "Welcome note");
  await shot(ann, "automation-02-refused");

  // Fixed: an internal comment on every new ticket whose priority is empty.
  await ann.getByLabel("Action 1", { exact: true }).selectOption("comment");
  await ann.locator("#a-target-0").fill("");
  await ann.locator("#a-value-0").fill("Automation was here");
  await ann.getByLabel("Condition 1", { exact: true }).selectOption("property");
  await ann.locator("#c-property-0").fill("hs_ticket_priority");
  await ann.locator("#c-op-0").selectOption("empty");
  await ann.getByRole("button", { name: "Save rule" }).click();
  const row = ann.getByRole("row", { name: /Welcome note/ });
  await row.getByText("Never").waitFor();

  // A ticket by hand: the rule comments on it, as "Automation".
  await ann.goto(`${server.url}/helpdesk/new`);
  await ann.getByLabel("Ticket name").fill("Printer jammed");
  await ann.getByLabel("Ticket status").selectOption({ label: "New" });
  await ann.getByRole("button", { name: "Create", exact: true }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const id = Number(new URL(ann.url()).pathname.split("/").pop());
  await ann.locator("#thread").getByText("Automation was here").waitFor();
  await shot(ann, "automation-03-ticket");

  // The list says when it ran, on which ticket, and what it did.
  await ann.goto(`${server.url}/settings/automation`);
  await row.getByRole("link", { name: `ticket #${id}` }).waitFor();
  await row.getByText("posted an internal comment").waitFor();

  // HD-20's rule is turned off (and on stays possible).
  await builtin.getByRole("button", { name: `Turn off ${HD20}` }).click();
  await builtin.getByText("Off", { exact: true }).waitFor();
  await builtin.getByRole("button", { name: `Turn on ${HD20}` }).waitFor();
  await shot(ann, "automation-04-ran-and-off");

  // Editing shows the rule's own rows; deleting removes it.
  await row.getByRole("link", { name: "Welcome note" }).click();
  await ann.getByRole("heading", { name: "Edit automation rule" }).waitFor();
  assert.equal(await ann.locator("#a-value-0").inputValue(), "Automation was here");
  assert.equal(await ann.locator("#c-op-0").inputValue(), "empty");
  await shot(ann, "automation-05-edit");
  await ann.goto(`${server.url}/settings/automation`);
  await row.getByRole("button", { name: "Delete Welcome note" }).click();
  await ann.getByRole("heading", { name: "Automation", level: 1 }).waitFor();
  assert.equal(await ann.getByRole("row", { name: /Welcome note/ }).count(), 0);
});
