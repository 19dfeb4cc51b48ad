// Issue 13, item 8 (layout): the ticket list's rows (id, preview, contact, per-agent unread
// state, SLA slot), threads that open at their newest message, times in the agent's own zone,
// and a workspace usable at 1024 px and on a 390 px phone. Mail arrives through the binary's
// SMTP listener.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, serveHelp, createTeamWithAddresses } from "./harness.mjs";

const HAS_SMTP = serveHelp().includes("--smtp-listen");
const NEEDS_SMTP = !HAS_SMTP && "needs the SMTP listener (`serve --smtp-listen`) to receive mail";
const USERS = [
  { email: "ann@example.com", name: "Ann Agent", role: "super-admin" },
  { email: "bob@example.com", name: "Bob Builder" },
];

let server;
let chrome;
/** Ticket ids the flows share (the list's ticket, the long thread's ticket). */
const ids = {};

before(async () => {
  server = await startServer({ users: USERS, smtp: HAS_SMTP });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support",
    [["support@example.com", "help_desk"], ["hello@example.com", "inbox"]]);
  await ann.context().close();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** Reloads `path` until `locator(page)` matches (mail is stored asynchronously). */
async function reloadUntil(page, path, locator, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.goto(`${server.url}${path}`);
    if (await locator(page).count()) return locator(page);
    if (Date.now() > deadline) throw new Error(`${path}: nothing matched after ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 250)); // poll interval, not an assertion's wait
  }
}

/** The page never scrolls sideways at its current width. */
async function fitsWidth(page, path, width) {
  await page.goto(`${server.url}${path}`);
  const w = await page.evaluate(() => document.scrollingElement.scrollWidth);
  assert.ok(w <= width, `${path} is ${w} px wide at ${width} px`);
}

test("ticket list rows: #id, preview, contact, SLA slot and an unread state each agent clears by opening", { skip: NEEDS_SMTP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  // Carla is a contact, so her mail's ticket names her.
  await ann.goto(`${server.url}/helpdesk/new`);
  await ann.getByLabel("Ticket name").fill("Carla's account");
  await ann.getByLabel("Ticket status").selectOption({ label: "New" });
  await ann.getByRole("button", { name: "Create", exact: true }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const add = ann.locator("#add-contact");
  await add.getByLabel("Email", { exact: true }).fill("carla@example.com");
  await add.getByLabel("First name").fill("Carla");
  await add.getByRole("button", { name: "Add contact" }).click();
  await ann.locator("#rich-body").waitFor();

  deliver(server.smtpPort, {
    from: "carla@example.com", to: "support@example.com", subject: "Broken kettle",
    text: "The kettle leaks\n\nall over the floor, and the cat is unhappy about it.",
  });
  const row = await reloadUntil(ann, "/helpdesk", (p) => p.locator("tr[data-ticket]", { hasText: "Broken kettle" }));
  const id = Number(await row.getAttribute("data-ticket"));
  ids.list = id;
  assert.match(await row.locator(".ticket-id").innerText(), new RegExp(`^#${id}$`));
  assert.equal(await row.locator(".preview").innerText(), "The kettle leaks all over the floor, and the cat is unhappy about it.");
  assert.match(await row.locator('td[data-label="Contact"]').innerText(), /Carla/);
  assert.match(await row.locator('td[data-label="SLA"]').innerText(), /no SLA/);
  // Unread: bold, with words a screen reader says.
  assert.match(await row.getAttribute("class"), /\bunread\b/);
  await ann.getByRole("link", { name: "Unread: Broken kettle" }).waitFor();
  const weight = await row.locator(".ticket-link").evaluate((a) => getComputedStyle(a).fontWeight);
  assert.ok(Number(weight) >= 700, `unread subject weight ${weight}`);
  // A ticket without customer mail is not unread.
  const own = ann.locator("tr[data-ticket]", { hasText: "Carla's account" });
  assert.doesNotMatch((await own.getAttribute("class")) || "", /unread/);
  await shot(ann, "layout-01-list-unread");

  // Ann opens it: read for Ann, still unread for Bob.
  await row.locator(".ticket-link").click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${id}$`));
  await ann.goto(`${server.url}/helpdesk`);
  const after = ann.locator(`tr[data-ticket="${id}"]`);
  assert.doesNotMatch((await after.getAttribute("class")) || "", /unread/);
  assert.equal(await ann.getByRole("link", { name: "Unread: Broken kettle" }).count(), 0);
  await bob.goto(`${server.url}/helpdesk`);
  await bob.getByRole("link", { name: "Unread: Broken kettle" }).waitFor();

  // Carla writes again: unread for Ann again, with the new words as the preview.
  deliver(server.smtpPort, {
    from: "carla@example.com", to: "support@example.com", subject: `Re: Broken kettle [#${id}]`,
    text: "Now the toaster too.",
  });
  const again = await reloadUntil(ann, "/helpdesk", (p) => p.locator(`tr.unread[data-ticket="${id}"]`));
  assert.equal(await again.locator(".preview").innerText(), "Now the toaster too.");
  await ann.context().close();
  await bob.context().close();
});

test("a long thread opens at its newest message; anchors and the no-script link still work", { skip: NEEDS_SMTP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const long = (n) => `Part ${n} of the story.\n` + "A line that makes this message tall.\n".repeat(12);
  deliver(server.smtpPort, { from: "dave@example.com", to: "support@example.com", subject: "Long story", text: long(1) });
  const row = await reloadUntil(ann, "/helpdesk", (p) => p.locator("tr[data-ticket]", { hasText: "Long story" }));
  const id = Number(await row.getAttribute("data-ticket"));
  ids.thread = id;
  for (let n = 2; n <= 10; n++) {
    deliver(server.smtpPort, { from: "dave@example.com", to: "support@example.com", subject: `Re: Long story [#${id}]`, text: long(n) });
  }
  await reloadUntil(ann, `/helpdesk/tickets/${id}`, (p) => p.locator("#thread li.item", { hasText: "Part 10 of the story" }));
  const newest = ann.locator("#thread li.item").last();
  await ann.goto(`${server.url}/helpdesk/tickets/${id}`);
  await ann.waitForLoadState("load");
  await ann.waitForFunction(() => window.scrollY > 0);
  assert.match(await newest.innerText(), /Part 10 of the story/);
  const top = await newest.evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(top >= 0 && top < 200, `the newest message starts ${top} px from the top of the window`);
  await shot(ann, "layout-02-long-thread");

  // An anchor to an older message wins over "newest".
  const first = ann.locator("#thread li.item").first();
  const firstId = await first.getAttribute("id");
  await ann.goto(`${server.url}/helpdesk/tickets/${id}#${firstId}`);
  await ann.waitForLoadState("load");
  const firstTop = await first.evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(Math.abs(firstTop) < 50, `#${firstId} is at ${firstTop} px`);
  await ann.context().close();

  // Without script: "Jump to latest" at the top leads to the newest message.
  const context = await chrome.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Email address").fill("ann@example.com");
  await page.getByLabel("Password").fill("e2e-password-123");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  await page.goto(`${server.url}/helpdesk/tickets/${id}`);
  assert.equal(await page.evaluate(() => window.scrollY), 0);
  await page.getByRole("link", { name: "Jump to latest" }).click();
  const noJsTop = await page.locator("#thread li.item").last().evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(noJsTop >= 0 && noJsTop < 200, `without script the newest message is at ${noJsTop} px`);
  await context.close();
});

test("times are shown in the agent's own zone, set on the profile page", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  // A datetime property holding a fixed instant: 1 July 2024, 12:00 UTC.
  await ann.goto(`${server.url}/settings/properties`);
  await ann.getByLabel("Label").fill("Follow-up at");
  // (Its internal name, follow_up_at, is made from the label.)
  await ann.getByLabel("Type").selectOption("datetime");
  await ann.getByRole("button", { name: "Create property" }).click();
  await ann.locator(".secondary-name", { hasText: "follow_up_at" }).waitFor();
  await ann.goto(`${server.url}/helpdesk/new`);
  await ann.getByLabel("Ticket name").fill("Call back in summer");
  await ann.getByLabel("Ticket status").selectOption({ label: "New" });
  await ann.getByRole("button", { name: "Create", exact: true }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const id = Number(new URL(ann.url()).pathname.split("/").pop());
  // A date-time input in the agent's zone, still UTC here.
  await ann.locator("#f-follow_up_at").fill("2024-07-01T12:00");
  // Enter saves the one field (per-field save); the toast confirms it.
  await ann.locator("#f-follow_up_at").press("Enter");
  await ann.locator("#toast", { hasText: "saved" }).waitFor();
  await ann.goto(`${server.url}/tickets/${id}`);
  await ann.getByText("1 Jul 2024, 12:00").waitFor();

  await ann.goto(`${server.url}/profile/settings`);
  assert.equal(await ann.getByLabel("Time zone").inputValue(), "UTC");
  await ann.getByLabel("Time zone").selectOption("Europe/Rome");
  await ann.getByRole("button", { name: "Save time zone" }).click();
  await ann.getByText("Times are now shown in Europe/Rome").waitFor();
  await shot(ann, "layout-03-profile-time-zone");
  await ann.goto(`${server.url}/tickets/${id}`);
  await ann.getByText("1 Jul 2024, 14:00").waitFor();
  // Every <time> carries the instant with the zone's offset and the absolute time as title.
  await ann.goto(`${server.url}/helpdesk`);
  const t = ann.locator(`tr[data-ticket="${id}"] time`);
  const dt = await t.getAttribute("datetime");
  assert.match(dt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$/);
  assert.match(await t.getAttribute("title"), /^\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d CES?T$/);
  assert.match(await t.innerText(), /^(just now|\d+ min ago)$/);
  // The zone is the user's own: Bob still sees UTC.
  const bob = await signIn(chrome.browser, server.url, "bob@example.com");
  await bob.goto(`${server.url}/tickets/${id}`);
  await bob.getByText("1 Jul 2024, 12:00").waitFor();
  await bob.context().close();
  // Another zone, another wall-clock time for the same instant.
  await ann.goto(`${server.url}/profile/settings`);
  await ann.getByLabel("Time zone").selectOption("America/New_York");
  await ann.getByRole("button", { name: "Save time zone" }).click();
  await ann.goto(`${server.url}/tickets/${id}`);
  await ann.getByText("1 Jul 2024, 08:00").waitFor();
  await ann.context().close();
});

test("inbox rows show a preview and an unread state, and the conversation opens at its newest message", { skip: NEEDS_SMTP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings/account`);
  await ann.getByLabel(/Inbox mode/).check();
  await ann.getByRole("button", { name: "Save" }).click();
  await ann.waitForURL(/\/settings\/account$/);
  deliver(server.smtpPort, { from: "erin@example.com", to: "hello@example.com", subject: "Shipping question", text: "When will it ship?\nI need it by Friday." });
  const row = await reloadUntil(ann, "/inbox", (p) => p.locator("#conv-list li.conv-row", { hasText: "Shipping question" }));
  assert.match(await row.getAttribute("class"), /\bunread\b/);
  assert.equal(await row.locator(".preview").innerText(), "When will it ship? I need it by Friday.");
  await ann.getByRole("link", { name: /Unread: erin/ }).waitFor();
  await shot(ann, "layout-04-inbox-unread");
  await row.locator("a").click();
  await ann.waitForURL(/\/inbox\/conversations\/\d+/);
  ids.conversation = Number(new URL(ann.url()).pathname.split("/").pop());
  await ann.locator("#latest").waitFor({ state: "attached" });
  await ann.goto(`${server.url}/inbox`);
  const read = ann.locator(`#conv-list li[data-conversation="${ids.conversation}"]`);
  assert.doesNotMatch(await read.getAttribute("class"), /unread/);
  await ann.context().close();
});

test("at 1024 px the reply editor never runs under the sidebar", { skip: NEEDS_SMTP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.setViewportSize({ width: 1024, height: 800 });
  const pages = [`/helpdesk/tickets/${ids.list}`, `/helpdesk/tickets/${ids.thread}`];
  if (ids.conversation) pages.push(`/inbox/conversations/${ids.conversation}`);
  for (const path of pages) {
    await ann.goto(`${server.url}${path}`);
    const e = await ann.locator("#editor").boundingBox();
    const s = await ann.locator("#sidebar").boundingBox();
    assert.ok(e && s, `${path}: editor and sidebar are shown`);
    const overlap = e.x < s.x + s.width && s.x < e.x + e.width && e.y < s.y + s.height && s.y < e.y + e.height;
    assert.ok(!overlap, `${path}: editor ${JSON.stringify(e)} overlaps sidebar ${JSON.stringify(s)}`);
    const w = await ann.evaluate(() => document.scrollingElement.scrollWidth);
    assert.ok(w <= 1024, `${path} is ${w} px wide at 1024 px`);
  }
  await shot(ann, "layout-05-ticket-1024");
  await ann.context().close();
});

test("at 390 px list, ticket, inbox and settings pages fit the phone's width", { skip: NEEDS_SMTP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.setViewportSize({ width: 390, height: 844 });
  const paths = [
    "/helpdesk", `/helpdesk/tickets/${ids.list}`, `/helpdesk/tickets/${ids.thread}`, `/tickets/${ids.list}`,
    "/inbox", "/settings", "/settings/users", "/settings/teams", "/settings/properties",
    "/profile/settings", "/profile/password", "/notifications", "/helpdesk/new",
  ];
  if (ids.conversation) paths.push(`/inbox/conversations/${ids.conversation}`);
  for (const path of paths) await fitsWidth(ann, path, 390);
  // The list is stacked rows: each row's cells are one below the other, labelled.
  await ann.goto(`${server.url}/helpdesk`);
  const row = ann.locator(`tr[data-ticket="${ids.list}"]`);
  assert.equal(await row.evaluate((r) => getComputedStyle(r).display), "block");
  // The ticket: the thread, then the sidebar, then nothing beside the editor.
  await ann.goto(`${server.url}/helpdesk/tickets/${ids.list}`);
  const thread = await ann.locator("#thread").boundingBox();
  const side = await ann.locator("#sidebar").boundingBox();
  const editor = await ann.locator("#editor").boundingBox();
  assert.ok(side.y > thread.y, "the sidebar comes after the thread");
  assert.ok(editor.width >= 390 - 2 * 16 - 30, `the editor is ${editor.width} px wide`);
  await shot(ann, "layout-06-ticket-phone");
  await ann.context().close();
});
