// Settings → Automation's SLA triggers (issue 16, item 3): an administrator creates a rule
// "when the first-response clock is breached" with the plain form; the list names the clock,
// and the rule opens again with the trigger and the clock chosen.
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

test("an admin creates an SLA-breached rule for the first-response clock", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  await ann.goto(`${server.url}/settings/automation/new`);
  await ann.getByRole("heading", { name: "New automation rule" }).waitFor();
  await ann.getByLabel("Name").fill("Escalate late first replies");
  await ann.getByLabel("Trigger").selectOption("sla_breached");
  await ann.getByLabel(/^SLA clock/).selectOption("first_response");
  await ann.getByLabel("Action 1", { exact: true }).selectOption("comment");
  await ann.locator("#a-value-0").fill("First reply is late: escalate");
  await shot(ann, "sla-automation-01-sla-rule-form");
  await ann.getByRole("button", { name: "Save rule" }).click();
  const row = ann.getByRole("row", { name: /Escalate late first replies/ });
  await row.getByText("The first-response clock is breached").waitFor();
  await row.getByText("Never").waitFor();
  await shot(ann, "sla-automation-02-sla-rule-listed");

  await row.getByRole("link", { name: /Escalate late first replies/ }).first().click();
  await ann.getByRole("heading", { name: "Edit automation rule" }).waitFor();
  assert.equal(await ann.getByLabel("Trigger").inputValue(), "sla_breached");
  assert.equal(await ann.getByLabel(/^SLA clock/).inputValue(), "first_response");
});
