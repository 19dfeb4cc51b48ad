// Issue 13, items 1 and 7: live updates merge in place (unsaved edits, pickers, selection and
// open details survive a teammate's change; a field someone else changed while it was being
// edited says who), and the workspace is keyboard first (pickers as comboboxes, Enter picks and
// never submits, the Ctrl/Cmd-K palette, dialogs instead of prompt(), snippets keep their line
// breaks, a knowledge-base suggestion goes in as title and excerpt). Two agents, two contexts.
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
  // Library items for the editor flows (as the admin).
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  for (const [kind, title, body] of [
    ["snippet", "Greeting", "Hello there,\nthanks for writing.\nBest, Ann"],
    ["article", "Resetting the flux printer", "<p>Hold the flux button for ten seconds. " +
      "The printer restarts and prints a test page. " + "Further details follow. ".repeat(40) +
      "The final sentence of the article.</p>"],
  ]) {
    await ann.goto(`${server.url}/settings/library`);
    await ann.locator("#nl-kind").selectOption(kind);
    await ann.locator("#nl-title").fill(title);
    await ann.locator("#nl-body").fill(body);
    await ann.getByRole("button", { name: "Add", exact: true }).click();
    await ann.getByText(title).first().waitFor();
  }
  await ann.context().close();
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

/** The teammate comments on the ticket (a live event for everyone watching it). */
async function comment(page, id, text) {
  await page.goto(`${server.url}/helpdesk/tickets/${id}?tab=comment`);
  await page.locator("#comment").fill(text);
  await page.getByRole("button", { name: "Add comment" }).click();
  await page.locator("#thread .comment", { hasText: text }).first().waitFor();
}

/** Waits until the open page merged a live update that shows `text` in `scope`. */
async function seeLive(page, scope, text) {
  await page.locator(scope, { hasText: text }).first().waitFor({ timeout: 20_000 });
}

/** The page's live stream is open and its catch-up merge is done (later events reach it). */
async function connected(page) {
  await page.locator('body[data-live-state="open"][data-live-merges]').waitFor({ state: "attached", timeout: 20_000 });
}

test("a saved Priority and an unsaved description survive a teammate's comment; the same field changed by the teammate says who", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  const id = await createTicket(ann, "Live merge ticket");
  await connected(ann);
  const prio = ann.locator("#f-hs_ticket_priority");
  const desc = ann.locator("#f-content");
  // A select saves as it changes (per-field save); the description is being typed, unsaved.
  await prio.selectOption({ label: "High" });
  await ann.locator("#toast", { hasText: "Priority saved" }).waitFor();
  await desc.fill("Half-written description, not saved yet");
  const marker = await ann.evaluate(() => (window.__notReloaded = Math.random()));
  await comment(bob, id, "Bob looked at the printer.");
  await seeLive(ann, "#thread .comment", "Bob looked at the printer.");
  // The comment is in; the sidebar's values are untouched, nothing reloaded, and Ann's own
  // save is not mistaken for someone else's change.
  assert.equal(await prio.inputValue(), "HIGH");
  assert.equal(await desc.inputValue(), "Half-written description, not saved yet");
  assert.equal(await ann.evaluate(() => window.__notReloaded), marker);
  assert.equal(await ann.locator(".changed-hint").count(), 0, "no hint for a field nobody else changed");
  // Bob changes the description Ann is editing: Ann keeps her text and is told who changed it.
  await bob.goto(`${server.url}/helpdesk/tickets/${id}`);
  await bob.locator("#f-content").fill("Bob's description");
  await bob.locator("#f-content").press("Tab");
  await bob.locator("#toast", { hasText: "saved" }).waitFor();
  const hint = ann.locator("#f-content-changed");
  await hint.waitFor({ timeout: 20_000 });
  assert.match(await hint.innerText(), /Changed by Bob Builder to Bob's description/);
  assert.equal(await prio.inputValue(), "HIGH");
  assert.equal(await desc.inputValue(), "Half-written description, not saved yet");
  // The activity list (which changed) was merged; the unchanged heading did not flash.
  await seeLive(ann, "#sidebar .activity", "Bob Builder");
  assert.equal(await ann.locator("#props-title.flash").count(), 0);
  await shot(ann, "live-01-changed-by-hint");
  // Leaving the field saves Ann's text over Bob's (she was told); the hint goes with a reload.
  await ann.evaluate(() => { const t = document.getElementById("toast"); if (t) t.textContent = ""; });
  await desc.press("Tab");
  await ann.locator("#toast", { hasText: "saved" }).waitFor();
  await ann.reload();
  assert.equal(await ann.locator("#f-hs_ticket_priority").inputValue(), "HIGH");
  assert.equal(await ann.locator("#f-content").inputValue(), "Half-written description, not saved yet");
  await ann.context().close();
  await bob.context().close();
});

test("a page load flashes nothing; only what changed is highlighted", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  const id = await createTicket(ann, "No flash ticket");
  await ann.goto(`${server.url}/helpdesk/tickets/${id}`);
  await connected(ann);
  // Count every highlight ever applied on this page.
  await ann.evaluate(() => {
    window.__flashes = [];
    new MutationObserver((list) => list.forEach((m) => {
      if (m.target.classList && m.target.classList.contains("flash")) window.__flashes.push(m.target.id || m.target.tagName);
    })).observe(document.body, { attributes: true, attributeFilter: ["class"], subtree: true });
  });
  await comment(bob, id, "A comment that is news.");
  await seeLive(ann, "#thread .comment", "A comment that is news.");
  const flashed = await ann.evaluate(() => window.__flashes);
  assert.ok(flashed.length > 0, "the new comment is highlighted");
  assert.ok(!flashed.includes("sidebar") && !flashed.includes("thread") && !flashed.includes("views"),
    `whole regions are not highlighted: ${flashed.join(", ")}`);
  // The stream's catch-up fetch on load found nothing new: a fresh load highlights nothing.
  await ann.reload();
  await connected(ann);
  assert.equal(await ann.locator(".flash").count(), 0);
  await ann.context().close();
  await bob.context().close();
});

test("the sidebar's company search keeps answering after live updates; Enter picks without submitting, then Add associates", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  // A company to find.
  const first = await createTicket(ann, "Company source ticket");
  await ann.locator("#sidebar summary", { hasText: "Add company" }).click();
  await ann.locator("#company-name").fill("Acme Rockets");
  await ann.locator("#company-domain").fill("acme-rockets.example");
  await ann.getByRole("button", { name: "Add company" }).click();
  await seeLive(ann, "#sidebar .records", "Acme Rockets");
  const id = await createTicket(ann, "Needs a company");
  await connected(ann);
  await comment(bob, id, "First update before searching.");
  await seeLive(ann, "#thread .comment", "First update before searching.");
  await ann.locator("#sidebar summary", { hasText: "Add company" }).click();
  const search = ann.locator("#company-search");
  await search.pressSequentially("Acme");
  await ann.getByRole("option", { name: /Acme Rockets/ }).waitFor();
  assert.equal(await search.getAttribute("role"), "combobox");
  assert.equal(await search.getAttribute("aria-expanded"), "true");
  await shot(ann, "live-02-sidebar-picker-open");
  await ann.keyboard.press("ArrowDown");
  await ann.keyboard.press("Enter");
  // Enter picked, did not submit: same page, the hidden id is set, the list closed.
  assert.match(await search.inputValue(), /Acme Rockets/);
  assert.notEqual(await ann.locator("#company-id").inputValue(), "");
  assert.equal(new URL(ann.url()).pathname, `/helpdesk/tickets/${id}`);
  assert.equal(await ann.locator("#sidebar .records", { hasText: "Acme Rockets" }).count(), 0);
  // Another live update while the pick is pending: the details stay open, the pick stays.
  await search.blur();
  await comment(bob, id, "Second update while picking.");
  await seeLive(ann, "#thread .comment", "Second update while picking.");
  assert.ok(await ann.locator("#sidebar details:has(#company-search)").evaluate((d) => d.open));
  assert.notEqual(await ann.locator("#company-id").inputValue(), "");
  await ann.getByRole("button", { name: "Add company" }).click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${id}$`));
  await seeLive(ann, "#sidebar .records", "Acme Rockets");
  assert.ok(!(await ann.locator("body").innerText()).includes("Bad Request"));
  // And the search still answers after yet another update.
  await connected(ann);
  await comment(bob, id, "Third update.");
  await seeLive(ann, "#thread .comment", "Third update.");
  await ann.locator("#sidebar summary", { hasText: "Add company" }).click();
  await ann.locator("#company-search").pressSequentially("Acm");
  await ann.getByRole("option", { name: /Acme Rockets/ }).waitFor();
  await ann.keyboard.press("Escape");
  assert.equal(await ann.locator("#company-search").getAttribute("aria-expanded"), "false");
  assert.ok(first > 0);
  await ann.context().close();
  await bob.context().close();
});

test("Enter in the new-ticket association search picks, it does not create the ticket", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/helpdesk/new`);
  await ann.getByLabel("Ticket name").fill("Ticket with a company");
  await ann.getByLabel("Ticket status").selectOption({ label: "New" });
  const search = ann.locator("#company-search");
  await search.pressSequentially("Acme");
  await ann.getByRole("option", { name: /Acme Rockets/ }).waitFor();
  await ann.keyboard.press("Enter");
  await ann.locator('[data-chosen-for="company-ids"] li', { hasText: "Acme Rockets" }).waitFor();
  assert.equal(new URL(ann.url()).pathname, "/helpdesk/new", "Enter did not submit");
  // Enter with nothing to pick does not submit either.
  await search.press("Enter");
  assert.equal(new URL(ann.url()).pathname, "/helpdesk/new");
  await shot(ann, "live-03-new-ticket-picked");
  await ann.getByRole("button", { name: "Create", exact: true }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  await seeLive(ann, "#sidebar .records", "Acme Rockets");
  await ann.context().close();
});

test("j/k selection on the list is visible and survives a live update", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  await createTicket(ann, "List ticket one");
  await createTicket(ann, "List ticket two");
  await ann.goto(`${server.url}/helpdesk?view=all`);
  await connected(ann);
  await ann.keyboard.press("j");
  await ann.keyboard.press("j");
  const selected = ann.locator("tr.selected");
  const chosen = await selected.getAttribute("data-ticket");
  assert.ok(chosen);
  await shot(ann, "live-04-list-selection");
  // Bob creates a ticket: a new row arrives at the top of Ann's list.
  await createTicket(bob, "Bob's brand new ticket");
  await seeLive(ann, "#ticket-list", "Bob's brand new ticket");
  assert.equal(await ann.locator("tr.selected").count(), 1);
  assert.equal(await ann.locator("tr.selected").getAttribute("data-ticket"), chosen);
  assert.equal(await ann.locator("tr.selected").getAttribute("aria-current"), "true");
  // k moves from the same ticket, not from a stale row number.
  const rows = await ann.locator("tr[data-ticket]").evaluateAll((r) => r.map((x) => x.dataset.ticket));
  await ann.keyboard.press("k");
  assert.equal(await ann.locator("tr.selected").getAttribute("data-ticket"), rows[rows.indexOf(chosen) - 1]);
  await ann.context().close();
  await bob.context().close();
});

test("the Ctrl/Cmd-K palette reaches a ticket by subject, by number, and an action", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const id = await createTicket(ann, "Palette zebra ticket");
  await ann.goto(`${server.url}/inbox`);
  await connected(ann);
  await ann.keyboard.press("Control+k");
  const input = ann.getByRole("combobox", { name: "Search tickets, views and actions" });
  await input.waitFor();
  await input.pressSequentially("zebra");
  await ann.getByRole("option", { name: /Palette zebra ticket/ }).waitFor();
  await shot(ann, "live-05-palette");
  await ann.keyboard.press("Enter");
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${id}$`));
  await connected(ann);
  await ann.keyboard.press("Control+k");
  await input.pressSequentially(`#${id}`);
  await ann.getByRole("option", { name: `Ticket: Ticket #${id}` }).waitFor();
  await ann.keyboard.press("Enter");
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${id}$`));
  await connected(ann);
  await ann.keyboard.press("Control+k");
  await input.pressSequentially("new tick");
  await ann.getByRole("option", { name: /New ticket/ }).waitFor();
  await ann.keyboard.press("Enter");
  await ann.waitForURL(/\/helpdesk\/new$/);
  // Escape closes it and the page is usable again.
  await ann.keyboard.press("Control+k");
  await input.waitFor();
  await ann.keyboard.press("Escape");
  await input.waitFor({ state: "detached" });
  await ann.context().close();
});

test("link and meeting inserts use dialogs, snippets keep their line breaks, a suggestion inserts title and excerpt", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTicket(ann, "Flux printer broken");
  const add = ann.locator("#add-contact");
  await add.getByLabel("Email", { exact: true }).fill("erin@example.com");
  await add.getByRole("button", { name: "Add contact" }).click();
  const rich = ann.locator("#rich-body");
  await rich.waitFor();
  await rich.fill("See ");
  // Link: a dialog, not prompt(); a bad address is refused inside the dialog.
  ann.on("dialog", (d) => { throw new Error(`unexpected ${d.type()} dialog`); });
  await ann.getByRole("button", { name: "Insert link" }).click();
  const dlg = ann.getByRole("dialog", { name: "Insert link" });
  await dlg.waitFor();
  await dlg.getByLabel("Link address").fill("javascript:alert(1)");
  await dlg.getByRole("button", { name: "Insert" }).click();
  await dlg.getByRole("alert").filter({ hasText: "https://" }).waitFor();
  await shot(ann, "live-06-link-dialog");
  await dlg.getByLabel("Link address").fill("https://docs.example.com/flux");
  await dlg.getByLabel("Text to show").fill("the flux guide");
  await ann.keyboard.press("Enter");
  await dlg.waitFor({ state: "detached" });
  await rich.locator('a[href="https://docs.example.com/flux"]', { hasText: "the flux guide" }).waitFor();
  // Escape closes a dialog without inserting.
  await ann.getByRole("button", { name: "Insert link" }).click();
  await dlg.waitFor();
  await ann.keyboard.press("Escape");
  await dlg.waitFor({ state: "detached" });
  assert.equal(await rich.locator("a").count(), 1);
  // Meeting link.
  await ann.locator("#insert-item").selectOption({ label: "Meeting link" });
  const meet = ann.getByRole("dialog", { name: "Insert meeting link" });
  await meet.getByLabel("Meeting link").fill("https://meet.example.com/ann");
  await meet.getByLabel("Meeting title").fill("Call with Ann");
  await meet.getByRole("button", { name: "Insert" }).click();
  await rich.locator('a[href="https://meet.example.com/ann"]', { hasText: "Call with Ann" }).waitFor();
  // With no caret in the message, the insert goes at its end.
  assert.match(await rich.innerText(), /the flux guide[\s\S]*Call with Ann/);
  // Snippet: its three lines stay three lines.
  await ann.locator("#insert-item").selectOption({ label: "Snippets: Greeting" });
  await rich.getByText("thanks for writing.").waitFor();
  const text = await rich.innerText();
  assert.match(text, /Hello there,\nthanks for writing\.\nBest, Ann/);
  // Knowledge base: title (bold, the article has no public address) and a short excerpt.
  await ann.getByRole("button", { name: "Suggestions" }).click();
  await ann.getByRole("button", { name: "Insert Resetting the flux printer" }).click();
  await rich.getByText("Resetting the flux printer").waitFor();
  const after = await rich.innerText();
  assert.match(after, /Hold the flux button for ten seconds/);
  assert.ok(!after.includes("The final sentence of the article."), "not the whole article");
  await shot(ann, "live-07-editor-inserts");
  await ann.context().close();
});
