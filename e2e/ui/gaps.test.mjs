// The agent's workspace, remaining gaps (issue 13): Send shows "Sending…" in place and a double
// click sends one reply (help desk ticket and inbox conversation; the server also answers a
// repeated post with the first one's message); date and date-time properties are edited with
// the browser's date inputs in the agent's own time zone; a new property is named by its label
// (the internal name is made from it, "Advanced" to override); a merged-away contact's or
// company's old address opens the record it was merged into. Every screen goes through shot().
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, serveHelp, createTeamWithAddresses } from "./harness.mjs";

const HAS_SMTP = serveHelp().includes("--smtp-listen");
const USERS = [
  { email: "ann@example.com", name: "Ann Agent", role: "super-admin" },
  { email: "bob@example.com", name: "Bob Agent" },
];

let server;
let chrome;
before(async () => {
  server = await startServer({ users: USERS, smtp: HAS_SMTP });
  chrome = await launchBrowser();
  const ann = await login("ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support", [
    ["support@example.com", "help_desk"],
    ["sales@example.com", "inbox"],
  ]);
  await ann.context().close();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** A signed-in page; a step that cannot happen fails within 15 s. */
async function login(email) {
  const page = await signIn(chrome.browser, server.url, email);
  page.setDefaultTimeout(15_000);
  return page;
}

async function toastSays(page, text) {
  await page.locator("#toast").filter({ hasText: text }).waitFor({ timeout: 10_000 });
}

/** Opens `url` again until `locator` shows (mail is ingested by a background job). */
async function reloadUntil(page, url, locator, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.goto(url);
    try {
      await locator.first().waitFor({ timeout: 1_000 });
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}

/**
 * Double-clicks Send, twice over. First with the reply's post answered "204 No Content" by the
 * test (the browser then stays on the page, as it is while a slow answer is on its way): the
 * button says "Sending…", is disabled and busy, and only one post left. Then for real, from
 * the page reloaded: the page comes back at the one message sent.
 */
async function doubleClickSend(page, text, name, target = "**/conversations/*/reply") {
  let posts = 0;
  await page.route(target, (route) => {
    posts += 1;
    return route.fulfill({ status: 204 });
  });
  const send = page.locator("#send");
  await page.locator("#rich-body").fill(text);
  await send.dblclick();
  await page.locator("#send[aria-busy=true]").waitFor();
  assert.equal(await send.innerText(), "Sending…");
  assert.equal(await send.isDisabled(), true);
  await shot(page, name);
  assert.equal(posts, 1, "one post for a double click");
  await page.unroute(target);

  await page.reload();
  assert.equal(await send.innerText(), "Send");
  const ours = page.locator("#thread li.item.outbound");
  const before = await ours.count();
  await page.locator("#rich-body").fill(text);
  await send.dblclick();
  await page.waitForURL(/#message-\d+$/);
  await page.locator(new URL(page.url()).hash).waitFor();
  assert.equal(await ours.count(), before + 1, "sent once");
  assert.equal(await send.innerText(), "Send");
  assert.equal(await send.isDisabled(), false);
}

test("Send shows Sending… and a double click sends one reply, on a ticket and in the inbox", { skip: !HAS_SMTP && "no SMTP listener" }, async () => {
  const ann = await login("ann@example.com");
  deliver(server.smtpPort, { from: "Carla <carla@example.org>", to: "support@example.com", subject: "Parcel lost", text: "Where is it?" });
  deliver(server.smtpPort, { from: "Dan <dan@example.org>", to: "sales@example.com", subject: "Bulk price", text: "For 500 units?" });

  // The help desk ticket.
  await reloadUntil(ann, `${server.url}/helpdesk?view=open`, ann.locator("#ticket-list a", { hasText: "Parcel lost" }));
  await ann.locator("#ticket-list a", { hasText: "Parcel lost" }).click();
  await doubleClickSend(ann, "We are looking for your parcel.", "gaps-01-ticket-sending");
  await toastSays(ann, "Reply queued");
  await shot(ann, "gaps-02-ticket-sent-once");

  // The inbox conversation.
  await reloadUntil(ann, `${server.url}/inbox`, ann.locator("a", { hasText: "Bulk price" }));
  await ann.locator("a", { hasText: "Bulk price" }).first().click();
  await doubleClickSend(ann, "Yes: 10% off from 100 units.", "gaps-03-inbox-sending");

  // The server too: the same form posted twice at once (as a browser without script may
  // resend it) stores one message, and both posts land on it.
  await ann.locator("#rich-body").fill("Shipping is free.");
  const landed = await ann.evaluate(async () => {
    const form = document.getElementById("pane-reply");
    const data = new URLSearchParams(new FormData(form));
    data.set("body", "Shipping is free.");
    data.set("body_html", "");
    const post = () => fetch(form.action, { method: "POST", body: data, credentials: "same-origin", redirect: "manual" })
      .then((r) => r.type === "opaqueredirect" ? "redirect" : r.status);
    return Promise.all([post(), post()]);
  });
  assert.deepEqual(landed, ["redirect", "redirect"]);
  const before = await ann.locator("#thread li.item.outbound").count();
  await ann.reload();
  assert.equal(await ann.locator("#thread li.item.outbound").count(), before + 1, "one message for two posts");
  await shot(ann, "gaps-04-inbox-posted-twice-sent-once");
  await ann.context().close();
});

test("the first message of a ticket made by hand (HD-12) is sent once for a double click", async () => {
  const ann = await login("ann@example.com");
  await ann.goto(`${server.url}/helpdesk/new`);
  await ann.getByLabel("Ticket name").fill("Quote for Ugo");
  await ann.getByLabel("Ticket status").selectOption({ label: "New" });
  await ann.getByRole("button", { name: "Create", exact: true }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const add = ann.locator("#add-contact");
  await add.getByLabel("Email", { exact: true }).fill("ugo@example.org");
  await add.getByLabel("First name").fill("Ugo");
  await add.getByRole("button", { name: "Add contact" }).click();
  await toastSays(ann, "Contact added.");
  await doubleClickSend(ann, "Here is your quote.", "gaps-12-first-message-sending", "**/tickets/*/start");
  assert.equal(await ann.locator("#thread li.conv-header").count(), 1, "one conversation");
  await ann.context().close();
});

test("a new property is named by its label; the internal name is made from it or set under Advanced", async () => {
  const ann = await login("ann@example.com");
  await ann.goto(`${server.url}/settings/properties`);
  const advanced = ann.locator("details.advanced");
  assert.equal(await advanced.getAttribute("open"), null, "the internal name is an advanced, optional field");
  await shot(ann, "gaps-05-new-property-form");
  await ann.getByLabel("Label").fill("Renewal date");
  await ann.getByLabel("Type").selectOption("date");
  await ann.getByRole("button", { name: "Create property" }).click();
  await toastSays(ann, "Property created.");
  await ann.locator("td", { hasText: "Renewal date" }).locator(".secondary-name", { hasText: "renewal_date" }).waitFor();
  await ann.getByLabel("Label").fill("Follow-up at");
  await ann.getByLabel("Type").selectOption("datetime");
  await ann.getByRole("button", { name: "Create property" }).click();
  await ann.locator(".secondary-name", { hasText: "follow_up_at" }).waitFor();

  // The same name again (accents and case fold away) is refused at the label, typing kept.
  await ann.getByLabel("Label").fill("Rénewal Date");
  await ann.getByLabel("Type").selectOption("date");
  await ann.getByRole("button", { name: "Create property" }).click();
  await ann.locator("#np-label-error", { hasText: "renewal_date" }).waitFor();
  assert.equal(await ann.getByLabel("Label").inputValue(), "Rénewal Date");
  assert.equal(await ann.getByLabel("Label").getAttribute("aria-invalid"), "true");
  await shot(ann, "gaps-06-new-property-name-taken");
  // Under Advanced, another internal name.
  await ann.locator("details.advanced summary").click();
  await ann.getByLabel(/Internal name/).fill("renewal_date_2");
  await shot(ann, "gaps-07-new-property-advanced");
  await ann.getByRole("button", { name: "Create property" }).click();
  await toastSays(ann, "Property created.");
  await ann.locator("td", { hasText: "Rénewal Date" }).locator(".secondary-name", { hasText: "renewal_date_2" }).waitFor();
  await ann.context().close();
});

test("date and date-time properties use the browser's date inputs, in the agent's own zone", async () => {
  const ann = await login("ann@example.com");
  // (The properties may already exist from the previous flow; made here when run alone.)
  await ann.goto(`${server.url}/settings/properties`);
  for (const [label, name, type] of [["Renewal date", "renewal_date", "date"], ["Follow-up at", "follow_up_at", "datetime"]]) {
    if (await ann.locator(".secondary-name", { hasText: new RegExp(`^${name}$`) }).count()) continue;
    await ann.getByLabel("Label").fill(label);
    await ann.getByLabel("Type").selectOption(type);
    await ann.getByRole("button", { name: "Create property" }).click();
    await toastSays(ann, "Property created.");
  }
  await ann.goto(`${server.url}/profile/settings`);
  await ann.getByLabel("Time zone").selectOption("Europe/Rome");
  await ann.getByRole("button", { name: "Save time zone" }).click();
  await ann.getByText("Times are now shown in Europe/Rome").waitFor();

  await ann.goto(`${server.url}/helpdesk/new`);
  await ann.getByLabel("Ticket name").fill("Renewal call");
  await ann.getByLabel("Ticket status").selectOption({ label: "New" });
  await ann.getByRole("button", { name: "Create", exact: true }).click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const id = Number(new URL(ann.url()).pathname.split("/").pop());
  const at = ann.locator("#f-follow_up_at");
  const day = ann.locator("#f-renewal_date");
  assert.equal(await at.getAttribute("type"), "datetime-local");
  assert.equal(await day.getAttribute("type"), "date");
  // Each saves as it changes (per-field save).
  await at.fill("2026-12-07T14:05");
  await toastSays(ann, "Follow-up at saved.");
  await day.fill("2026-12-07");
  await toastSays(ann, "Renewal date saved.");
  await shot(ann, "gaps-08-dates-saved");
  await ann.reload();
  assert.equal(await at.inputValue(), "2026-12-07T14:05");
  assert.equal(await day.inputValue(), "2026-12-07");

  // Bob (UTC) sees the same moment at 13:05 and the same day.
  const bob = await login("bob@example.com");
  await bob.goto(`${server.url}/helpdesk/tickets/${id}`);
  assert.equal(await bob.locator("#f-follow_up_at").inputValue(), "2026-12-07T13:05");
  assert.equal(await bob.locator("#f-renewal_date").inputValue(), "2026-12-07");
  await bob.context().close();

  // Something a date input cannot hold (a browser without one, a hand-made post) is refused
  // at the field, and what was typed stays.
  await at.evaluate((el) => { el.type = "text"; });
  await at.fill("next tuesday");
  await at.press("Enter");
  await ann.locator("#f-follow_up_at-error", { hasText: "is not a date and time" }).waitFor();
  assert.equal(await at.inputValue(), "next tuesday");
  assert.equal(await at.getAttribute("aria-invalid"), "true");
  await shot(ann, "gaps-09-date-refused-at-field");
  await ann.reload();
  assert.equal(await at.inputValue(), "2026-12-07T14:05", "nothing was saved");

  // Without script the sidebar's Save posts the form; the time is still read in Rome.
  const noJs = await chrome.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1400, height: 900 } });
  await noJs.addCookies(await ann.context().cookies());
  const plain = await noJs.newPage();
  await plain.goto(`${server.url}/helpdesk/tickets/${id}`);
  await plain.locator("#f-follow_up_at").fill("2026-12-08T09:30");
  await plain.getByRole("button", { name: "Save properties" }).click();
  await plain.waitForURL(new RegExp(`/helpdesk/tickets/${id}#props-title$`));
  assert.equal(await plain.locator("#f-follow_up_at").inputValue(), "2026-12-08T09:30");
  await noJs.close();
  await ann.reload();
  assert.equal(await at.inputValue(), "2026-12-08T09:30");
  await ann.context().close();
});

test("a merged-away contact's or company's old address opens the record it was merged into", async () => {
  const ann = await login("ann@example.com");
  const create = async (kind, fields, heading) => {
    await ann.goto(`${server.url}/${kind}/new`);
    for (const [label, value] of fields) await ann.getByLabel(label).fill(value);
    await ann.getByRole("button", { name: kind === "contacts" ? "Create contact" : "Create company" }).click();
    await ann.getByRole("heading", { name: heading }).waitFor();
    return Number(new URL(ann.url()).pathname.split("/").pop());
  };
  const dup = await create("contacts", [["First name", "Mia"], ["Last name", "Old"], ["Email", "mia@old.example"]], "Mia Old");
  const primary = await create("contacts", [["First name", "Mia"], ["Last name", "Rossi"]], "Mia Rossi");
  await ann.getByText("Merge a duplicate into this contact").click();
  await ann.getByLabel("Duplicate's email address or record ID").fill(String(dup));
  await ann.getByRole("button", { name: "Merge into Mia Rossi" }).click();
  await ann.getByRole("heading", { name: "Mia Rossi" }).waitFor();

  // A bookmark of the old contact lands on the survivor, saying why.
  await ann.goto(`${server.url}/contacts/${dup}`);
  await ann.waitForURL(new RegExp(`/contacts/${primary}$`));
  await ann.getByRole("heading", { name: "Mia Rossi" }).waitFor();
  await toastSays(ann, "That contact was merged into this one");
  await shot(ann, "gaps-10-merged-contact-redirect");

  const oldCo = await create("companies", [["Company name", "Globex Old"]], "Globex Old");
  const co = await create("companies", [["Company name", "Globex"]], "Globex");
  await ann.getByText("Merge a duplicate into this company").click();
  await ann.getByLabel("Duplicate's domain or record ID").fill(String(oldCo));
  await ann.getByRole("button", { name: "Merge into Globex" }).click();
  await ann.getByRole("heading", { name: "Globex", exact: true }).waitFor();
  await ann.goto(`${server.url}/companies/${oldCo}`);
  await ann.waitForURL(new RegExp(`/companies/${co}$`));
  await toastSays(ann, "That company was merged into this one");
  await shot(ann, "gaps-11-merged-company-redirect");

  // An id that never existed is still not found.
  const missing = await ann.goto(`${server.url}/contacts/999999`);
  assert.equal(missing.status(), 404);
  await ann.context().close();
});
