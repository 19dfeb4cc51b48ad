// Reports (issue 16, item 5) in Debian's chromium against the real binary: an admin opens
// Reports from the top navigation, sees the charts (SVG drawn by the server: the page makes no
// request elsewhere), narrows the report to a team and a date range with the filter form (a
// plain GET form, so it works without JavaScript), and downloads a report as CSV. Every
// screen goes through shot() (axe-core).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { startServer, launchBrowser, signIn, shot, createTeamWithAddresses, apiClient } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

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

test("Reports: charts, a team and date filter, and a CSV download", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  const foreign = [];
  ann.on("request", (r) => { if (!r.url().startsWith(server.url)) foreign.push(r.url()); });
  await createTeamWithAddresses(ann, server.url, "Support", []);
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("link", { name: "Reports" }).click();
  await ann.waitForURL(/\/reports/);
  const supportId = await ann.locator("#report-team option", { hasText: "Support" }).getAttribute("value");
  // Three tickets today: two of Support (one closed), one of no team.
  await api("POST", "/crm/v3/objects/tickets", { properties: { subject: "Printer on fire", hs_pipeline: "0", hs_pipeline_stage: "1", hubspot_team_id: supportId } });
  await api("POST", "/crm/v3/objects/tickets", { properties: { subject: "Refund please", hs_pipeline: "0", hs_pipeline_stage: "4", hubspot_team_id: supportId } });
  await api("POST", "/crm/v3/objects/tickets", { properties: { subject: "Question", hs_pipeline: "0", hs_pipeline_stage: "1" } });
  await ann.reload();
  await ann.locator("#volume-created", { hasText: "3" }).waitFor();
  assert.equal(await ann.locator("#volume-closed").textContent(), "1");
  assert.ok(await ann.locator("#report-volume svg.report-chart rect").count() > 0, "the volume chart is drawn");
  assert.ok(await ann.locator("#report-backlog svg.report-chart rect").count() > 0, "the backlog chart is drawn");
  await ann.locator("#report-sla").getByRole("cell", { name: "First response" }).waitFor();
  await shot(ann, "reports-01-all");

  // Filter: the Support team only.
  await ann.locator("#report-team").selectOption({ label: "Support" });
  await ann.getByRole("button", { name: "Show" }).click();
  await ann.waitForURL(/team=/);
  await ann.locator("#volume-created", { hasText: "2" }).waitFor();
  assert.equal(await ann.locator("#report-team").inputValue(), supportId);
  await shot(ann, "reports-02-team");

  // A date range that ends before today: nothing in it.
  const to = await ann.locator("#report-to").inputValue();
  const yesterday = new Date(Date.parse(`${to}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  await ann.locator("#report-to").fill(yesterday);
  await ann.getByRole("button", { name: "Show" }).click();
  await ann.waitForURL(new RegExp(`to=${yesterday}`));
  await ann.locator("#volume-created", { hasText: "0" }).waitFor();
  await shot(ann, "reports-03-range");

  // CSV of the volume report for the range and team shown.
  await ann.locator("#report-to").fill(to);
  await ann.getByRole("button", { name: "Show" }).click();
  await ann.locator("#volume-created", { hasText: "2" }).waitFor();
  const [download] = await Promise.all([
    ann.waitForEvent("download"),
    ann.locator("#report-volume").getByRole("link", { name: "Download CSV" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^frontdesk-volume-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split("\r\n");
  assert.equal(lines[0], "day,created,closed");
  assert.equal(lines.length, 31, "the default 30 days and the header");
  assert.equal(lines[lines.length - 1], `${to},2,1`);
  assert.deepEqual(foreign, [], "the page loads nothing from elsewhere");
});
