// Follow and notify (issue 15, item 5) and the follow-up period (item 9): the notification
// email preference in the profile, the bell listing a named ticket with an excerpt, opening
// a notification marks it read and lands on the ticket, the follow-up period in Settings.
// Works without JavaScript: plain forms and links.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot } from "./harness.mjs";

const USERS = [
  { email: "ann@example.com", name: "Ann Agent", role: "super-admin" },
  { email: "bob@example.com", name: "Bob Builder" },
];

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

test("notify: email preference, the bell names the ticket with an excerpt, opening one reads it and opens the ticket", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  ann.setDefaultTimeout(15_000);
  bob.setDefaultTimeout(15_000);

  // The preference: immediately by default; Bob picks the hourly digest.
  await bob.goto(`${server.url}/profile`);
  const immediately = bob.getByLabel(/Immediately/);
  assert.ok(await immediately.isChecked(), "immediately is the default");
  await bob.getByLabel("Hourly digest").check();
  await bob.getByRole("button", { name: "Save notification emails" }).click();
  await bob.getByText("Notification emails: Hourly digest.").waitFor();
  assert.ok(await bob.getByLabel("Hourly digest").isChecked());
  await shot(bob, "notify-01-profile");

  // Bob follows a ticket of Ann's; Ann comments on it.
  const id = await createTicket(ann, "Printer on fire");
  await bob.goto(`${server.url}/helpdesk/tickets/${id}`);
  await bob.getByRole("button", { name: "Follow", exact: true }).click();
  await bob.getByRole("button", { name: "Unfollow", exact: true }).waitFor();
  await ann.goto(`${server.url}/helpdesk/tickets/${id}?tab=comment`);
  await ann.locator("#comment").fill("Bring the extinguisher,\nand the blue bucket too.");
  await ann.getByRole("button", { name: "Add comment" }).click();
  await ann.locator("#thread .comment", { hasText: "blue bucket" }).waitFor();

  // The bell: one unread, naming the ticket, with an excerpt of the comment.
  await bob.goto(`${server.url}/helpdesk`);
  assert.match((await bob.locator("#bell .badge").innerText()).trim(), /^1\s+unread$/);
  await bob.locator("#bell").click();
  await bob.waitForURL(/\/notifications$/);
  const item = bob.locator("#notification-list li").first();
  await item.getByText(`#${id} Printer on fire`).waitFor();
  await item.getByText("Ann Agent commented").waitFor();
  assert.equal(
    (await item.locator(".notification-excerpt").innerText()).trim(),
    "Bring the extinguisher, and the blue bucket too.",
  );
  await shot(bob, "notify-02-bell");

  // Opening it marks it read and lands on the ticket; the bell's count is gone.
  await item.getByRole("link").click();
  await bob.waitForURL(new RegExp(`/helpdesk/tickets/${id}(\\?|$)`));
  await bob.locator("#ticket-title", { hasText: "Printer on fire" }).waitFor();
  assert.equal(await bob.locator("#bell .badge").count(), 0);
  await bob.goto(`${server.url}/notifications`);
  assert.equal(await bob.locator("#notification-list li.unread").count(), 0);
  await shot(bob, "notify-03-read");

  await ann.context().close();
  await bob.context().close();
});

test("follow-up period: an account setting next to the other ticket settings", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  ann.setDefaultTimeout(15_000);
  await ann.goto(`${server.url}/settings/account`);
  const field = ann.getByLabel(/opens a follow-up ticket/);
  assert.equal(await field.inputValue(), "7", "a week by default");
  await field.fill("14");
  await ann.getByRole("button", { name: "Save" }).click();
  await ann.waitForURL(/\/settings\/account/);
  assert.equal(await ann.getByLabel(/opens a follow-up ticket/).inputValue(), "14");
  await shot(ann, "notify-04-follow-up-setting");
  await ann.context().close();
});
