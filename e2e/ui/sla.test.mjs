// SLAs (issue 16 items 1 and 8, HD-04): an administrator with a Service Seat creates an SLA
// policy in Settings (a bad goal comes back with its error), a new ticket shows its clocks
// with why (the policy, when each is due), the help-desk list filters on the SLA state and
// sorts by SLA due time, the policy is edited and deleted; an administrator without a Service
// Seat sees no SLA settings (hidden in the page, 403 at the address).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startServer, launchBrowser, signIn, shot, binary, PASSWORD } from "./harness.mjs";

let server;
let chrome;

before(async () => {
  server = await startServer({
    users: [{ email: "ann@example.com", name: "Ann Admin", role: "super-admin" }],
  });
  execFileSync(binary(), ["admin", "create-user", ...server.args, "--email", "sam@example.com",
    "--name", "Sam Seatless", "--role", "super-admin", "--account-access", "--seat", "core",
    "--password", PASSWORD], { stdio: "ignore" });
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

async function createTicket(page, name) {
  await page.goto(`${server.url}/helpdesk`);
  await page.getByRole("link", { name: "Create ticket" }).click();
  await page.getByLabel("Ticket name").fill(name);
  await page.getByLabel("Ticket status").selectOption({ label: "New" });
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  return Number(new URL(page.url()).pathname.split("/").pop());
}

test("an admin sets an SLA policy in Settings and the ticket shows its clocks; lists filter and sort on them", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "SLAs" }).click();
  await ann.getByRole("heading", { name: "SLAs", level: 1 }).waitFor();
  await ann.getByText("No SLA policy yet").waitFor();
  await shot(ann, "sla-01-settings-empty");

  // A goal that is no duration is refused, with what was typed kept.
  await ann.getByLabel("Name").fill("Standard");
  await ann.getByLabel("First response (such as 30m, 2h, 3d)").fill("soon");
  await ann.getByRole("button", { name: "Create policy" }).click();
  await ann.getByRole("alert").getByText("is not a duration").waitFor();
  assert.equal(await ann.getByLabel("Name").inputValue(), "Standard");
  await shot(ann, "sla-02-refused");

  await ann.getByLabel("First response (such as 30m, 2h, 3d)").fill("2h");
  await ann.getByLabel("Next response (optional)").fill("4h");
  await ann.getByLabel("Time to close (optional)").fill("3d");
  await ann.getByLabel("Pause in stages (comma-separated)").fill("Waiting on contact");
  await ann.getByRole("button", { name: "Create policy" }).click();
  const row = ann.getByRole("row", { name: /Standard/ });
  await row.getByText("First response 2h, next response 4h, close 3d").waitFor();
  await row.getByText("Waiting on contact").waitFor();
  await shot(ann, "sla-03-created");

  // A new ticket shows its clocks and why.
  const id = await createTicket(ann, "Printer on fire");
  const sla = ann.locator("#sla");
  await sla.getByText("Policy: Standard").waitFor();
  await sla.getByText("First response").waitFor();
  await sla.getByText("Time to close").waitFor();
  await sla.locator(".sla-badge", { hasText: "Running" }).first().waitFor();
  await sla.getByText("due", { exact: false }).first().waitFor();
  await shot(ann, "sla-04-ticket-clocks");

  // The list filters on the SLA state and sorts by the SLA due time.
  const other = await createTicket(ann, "Scanner jammed");
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByLabel("SLA", { exact: true }).selectOption({ label: "SLA running" });
  await ann.getByLabel("Sort").selectOption({ label: "SLA due (soonest)" });
  await ann.getByRole("button", { name: "Apply" }).click();
  await ann.waitForURL(/sla=running/);
  const links = ann.locator("main").getByRole("link", { name: /Printer on fire|Scanner jammed/ });
  await links.first().waitFor();
  assert.deepEqual(await links.allTextContents(), ["Printer on fire", "Scanner jammed"]);
  await ann.getByRole("row", { name: /Printer on fire/ }).locator(".sla-badge", { hasText: "Running" }).waitFor();
  await shot(ann, "sla-05-list-filtered");
  // The left panel's "Breached" view: nothing is breached yet.
  await ann.getByRole("navigation", { name: "Ticket views" }).getByRole("link", { name: "Breached" }).click();
  await ann.waitForURL(/sla=breached/);
  await ann.getByLabel("SLA", { exact: true }).waitFor();
  assert.equal(await ann.locator("main").getByRole("link", { name: "Printer on fire" }).count(), 0);
  assert.ok(id > 0 && other > id);

  // Editing a goal shows at once; deleting removes the clocks.
  await ann.goto(`${server.url}/settings/slas`);
  await ann.getByRole("link", { name: "Edit Standard" }).click();
  await ann.getByRole("heading", { name: "Edit policy" }).waitFor();
  assert.equal(await ann.getByLabel("First response (such as 30m, 2h, 3d)").inputValue(), "2h");
  await ann.getByLabel("First response (such as 30m, 2h, 3d)").fill("1h");
  await shot(ann, "sla-06-edit");
  await ann.getByRole("button", { name: "Save policy" }).click();
  await ann.getByRole("row", { name: /Standard/ }).getByText("First response 1h").waitFor();
  await ann.getByRole("button", { name: "Delete Standard" }).click();
  await ann.getByText("No SLA policy yet").waitFor();
  await ann.goto(`${server.url}/helpdesk/tickets/${id}`);
  await ann.getByRole("heading", { name: "Ticket properties" }).waitFor();
  assert.equal(await ann.locator("#sla").count(), 0);
  await ann.context().close();
});

test("HD-04: without a Service Seat the SLA settings are hidden and refused", async () => {
  const sam = await signIn(chrome.browser, server.url, "sam@example.com");
  await sam.goto(`${server.url}/settings`);
  const nav = sam.getByRole("navigation", { name: "Settings" });
  await nav.getByRole("link", { name: "Users" }).waitFor();
  assert.equal(await nav.getByRole("link", { name: "SLAs" }).count(), 0);
  const r = await sam.goto(`${server.url}/settings/slas`);
  assert.equal(r.status(), 403);
  await sam.getByText("Service Seat").first().waitFor();
  await shot(sam, "sla-07-no-seat");
  await sam.context().close();
});
