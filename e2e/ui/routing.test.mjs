// Issue 16, item 2: routing. An administrator sets a team to round robin with a capacity in
// Settings → Routing (a bad capacity is refused on the page), sets members available there,
// and two mails to the team's address become tickets owned by each available member in turn;
// each owner sees the ticket in "Assigned to me" and is notified. Plain forms: no JavaScript
// needed for the settings page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, createTeamWithAddresses } from "./harness.mjs";

const USERS = [
  { email: "ann@example.com", name: "Ann Agent", role: "super-admin" },
  { email: "bob@example.com", name: "Bob Builder" },
  { email: "carl@example.com", name: "Carl Clerk" },
];

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

async function addMember(page, team, name) {
  const card = page.locator("section.card", { hasText: team });
  await card.getByLabel("Add member").selectOption({ label: name });
  await card.getByRole("button", { name: "Add", exact: true }).click();
  await page.locator("section.card", { hasText: team }).filter({ hasText: name }).getByRole("button", { name: /Remove/ }).first().waitFor();
}

test("routing: round robin with a capacity in Settings, mail tickets go to available members in turn and each owner is told", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  await createTeamWithAddresses(ann, server.url, "Support", [["support@acme.test", "help_desk"]]);
  await addMember(ann, "Support", "Bob Builder");
  await addMember(ann, "Support", "Carl Clerk");

  // Settings → Routing: the team starts manual; its members are away until they say otherwise.
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("link", { name: "Routing" }).click();
  await ann.getByRole("heading", { name: "Routing", level: 1 }).waitFor();
  const card = ann.locator("section.routing-team", { hasText: "Support" });
  assert.equal(await card.getByLabel("All channels: mode for Support").inputValue(), "manual");
  const members = card.locator("table.routing-members");
  await members.locator("tr", { hasText: "Bob Builder" }).locator('td[data-label="Availability"]', { hasText: "Away" }).waitFor();

  // The administrator sets both available (the agents' own toggle is the top bar's).
  await card.getByRole("button", { name: "Set Bob Builder available" }).click();
  await ann.getByText("Settings saved.").waitFor();
  await card.getByRole("button", { name: "Set Carl Clerk available" }).click();
  await members.locator("tr", { hasText: "Carl Clerk" }).locator('td[data-label="Routing"]', { hasText: "Eligible" }).waitFor();

  // A capacity of 0 is refused, with the form's reason in the team's card.
  await card.getByLabel("All channels: mode for Support").selectOption("round-robin");
  await card.getByLabel("All channels: capacity for Support").fill("0");
  await card.getByRole("button", { name: "Save routing of Support" }).click();
  await card.getByRole("alert").filter({ hasText: "between 1 and" }).waitFor();
  // The form comes back as typed.
  assert.equal(await card.getByLabel("All channels: mode for Support").inputValue(), "round-robin");
  assert.equal(await card.getByLabel("All channels: capacity for Support").inputValue(), "0");
  await shot(ann, "routing-02-refused");

  // Round robin, at most 3 open tickets each; chat stays manual.
  await card.getByLabel("All channels: mode for Support").selectOption("round-robin");
  await card.getByLabel("All channels: capacity for Support").fill("3");
  await card.getByLabel("Chat: mode for Support").selectOption("manual");
  await card.getByRole("button", { name: "Save routing of Support" }).click();
  await ann.getByText("Settings saved.").waitFor();
  assert.equal(await card.getByLabel("All channels: capacity for Support").inputValue(), "3");
  await card.locator("tr", { hasText: "Email" }).getByText("Round robin, up to 3 open tickets each").waitFor();
  await card.locator("tr", { hasText: "Chat" }).getByText("Manual: tickets stay unassigned").waitFor();
  await shot(ann, "routing-01-settings");

  // Two mails: one ticket each, in turn (Bob first: the lower id).
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  const carl = await signIn(chrome.browser, server.url, "carl@example.com");
  for (const p of [bob, carl]) {
    p.setDefaultTimeout(20_000);
    await p.goto(`${server.url}/helpdesk?view=mine`);
  }
  deliver(server.smtpPort, { from: "gina@customer.test", to: "support@acme.test", subject: "Printer on fire", text: "Help!" });
  await bob.locator("#ticket-list", { hasText: "Printer on fire" }).waitFor();
  deliver(server.smtpPort, { from: "hal@customer.test", to: "support@acme.test", subject: "Cannot log in", text: "Locked out." });
  await carl.locator("#ticket-list", { hasText: "Cannot log in" }).waitFor();
  assert.equal(await bob.locator("#ticket-list", { hasText: "Cannot log in" }).count(), 0);

  // Each owner is told of the assignment.
  await bob.goto(`${server.url}/notifications`);
  await bob.getByText("You were assigned the ticket").first().waitFor();
  await bob.getByText("Printer on fire").first().waitFor();
  await shot(bob, "routing-03-notified");

  // The settings page counts their open tickets.
  await ann.goto(`${server.url}/settings/routing`);
  const row = ann.locator("section.routing-team", { hasText: "Support" }).locator("table.routing-members tr", { hasText: "Bob Builder" });
  await row.locator('td[data-label="Open tickets"]', { hasText: /^1$/ }).waitFor();
  for (const p of [ann, bob, carl]) await p.context().close();
});
