// Issue 14, item 4: rule-based chat bots (HD-08). An admin imports a bot in Settings → Chat
// bots (a bad JSON is refused with its reason and stores nothing), changes it in the step
// editor and enables it. Visitors on a customer's page served from a SECOND loopback origin
// (the live chat flow's set-up) follow one path to a hand-off — the agent finds the
// conversation in the inbox with the transcript and replies, the visitor sees the reply live —
// and another to a ticket, which the agent finds in the help desk. The channel is connected to
// the help desk, yet the bot conversation that was handed off has no ticket. axe-core checks
// the settings screens and the widget with its quick replies.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, createTeamWithAddresses, startChatSite } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server, chrome, site, siteUrl, channel, salesId;

async function addMember(page, team) {
  const card = page.locator("section.card", { hasText: team });
  await card.getByLabel("Add member").selectOption({ label: "Ann Agent" });
  await card.getByRole("button", { name: "Add", exact: true }).click();
  await page.locator("section.card", { hasText: team }).filter({ hasText: "Remove" }).waitFor();
}

before(async () => {
  server = await startServer({ users: USERS });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support", []);
  await addMember(ann, "Support");
  await createTeamWithAddresses(ann, server.url, "Sales", []);
  await addMember(ann, "Sales");
  // A chat channel of Support connected to the help desk: without a bot, a ticket per chat.
  await ann.goto(`${server.url}/settings/chat`);
  await ann.getByLabel("Name").fill("Shop chat");
  await ann.getByLabel("Team").selectOption({ label: "Support" });
  await ann.getByLabel("Connected to").selectOption("help_desk");
  await ann.getByRole("button", { name: "Create chat channel" }).click();
  const card = ann.locator("section.card", { hasText: "Shop chat" });
  await card.waitFor();
  channel = (await card.locator("dd").first().textContent()).trim();
  salesId = await ann.locator("#chat-team option", { hasText: "Sales" }).getAttribute("value");
  await ann.context().close();
  site = await startChatSite(server.url, channel);
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
});

after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (site) await new Promise((r) => site.close(r));
});

const BOT = () => ({
  name: "Shop greeter",
  steps: [
    { id: "hello", kind: "ask", text: "Hi! What can we do for you?",
      options: [{ label: "Talk to sales", next: "sales" }, { label: "Report a problem", next: "email" }] },
    { id: "email", kind: "collect_email", text: "What is your email address?", next: "ticket" },
    { id: "ticket", kind: "create_ticket", text: "Thanks! We opened a ticket and will write to {{email}}.",
      subject: "Problem reported by {{email}}", next: "bye" },
    { id: "sales", kind: "hand_off", team: Number(salesId), text: "Connecting you to our team." },
    { id: "bye", kind: "end", text: "Goodbye!" },
  ],
});

async function visitor() {
  const context = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(siteUrl);
  await page.getByRole("button", { name: /chat/i }).first().click();
  return page;
}

async function say(v, text) {
  await v.getByRole("textbox", { name: "Message" }).fill(text);
  await v.getByRole("textbox", { name: "Message" }).press("Enter");
  await v.getByRole("log").getByText(text).first().waitFor();
}

test("an admin imports a bot (a bad one is refused and stores nothing), edits its steps and enables it", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("link", { name: "Chat bots" }).click();
  await ann.waitForURL(/\/settings\/bots$/);
  await ann.getByText("No bot on this channel").waitFor();
  await shot(ann, "bots-01-settings-empty");

  // A bad import: a step goes nowhere. Refused with the reason; nothing is stored.
  const bad = BOT();
  bad.steps[1].next = "nowhere";
  await ann.getByLabel("Chat channel").selectOption({ label: "Shop chat" });
  await ann.getByLabel("Bot JSON").fill(JSON.stringify(bad, null, 2));
  await ann.getByRole("button", { name: "Create bot" }).click();
  await ann.getByRole("alert").filter({ hasText: '"nowhere", which is not a step' }).waitFor();
  await ann.getByText("No bot on this channel").waitFor();
  await shot(ann, "bots-02-import-refused");

  await ann.getByLabel("Bot JSON").fill(JSON.stringify(BOT(), null, 2));
  await ann.getByRole("button", { name: "Create bot" }).click();
  await ann.waitForURL(/\/settings\/bots\/\d+$/);
  await ann.getByRole("heading", { name: "Chat bot: Shop greeter" }).waitFor();
  // The step editor: the hand-off step's team and the greeting, as a plain form.
  const handOff = ann.locator("fieldset", { hasText: "Step 4: sales" });
  assert.equal(await handOff.getByLabel("Team (hand off)").inputValue(), salesId);
  const hello = ann.locator("fieldset", { hasText: "Step 1: hello" });
  await hello.getByLabel("Text shown to the visitor").fill("Hello! What can we do for you?");
  // A blank step to add one: a message before the end.
  const blank = ann.locator("fieldset", { hasText: "Step 6" });
  await blank.getByLabel("Id").fill("thanks");
  await blank.getByLabel("Kind").selectOption("message");
  await blank.getByLabel("Text shown to the visitor").fill("Thank you for visiting.");
  await blank.getByLabel("Next step (message, collect, create a ticket)").fill("nowhere");
  await ann.getByRole("button", { name: "Save steps" }).click();
  // Refused: what was typed stays, with the reason.
  await ann.getByRole("alert").filter({ hasText: '"nowhere", which is not a step' }).waitFor();
  assert.equal(await ann.locator("fieldset", { hasText: "Step 6" }).getByLabel("Id").inputValue(), "thanks");
  await ann.locator("fieldset", { hasText: "Step 6" }).getByLabel("Next step (message, collect, create a ticket)").fill("bye");
  await ann.getByRole("button", { name: "Save steps" }).click();
  await ann.locator("fieldset", { hasText: "Step 6: thanks" }).waitFor();
  assert.equal(await ann.locator("fieldset", { hasText: "Step 1: hello" }).getByLabel("Text shown to the visitor").inputValue(),
    "Hello! What can we do for you?");
  await shot(ann, "bots-03-step-editor");

  // The export is the JSON the import reads.
  const href = await ann.getByRole("link", { name: "Export as JSON" }).getAttribute("href");
  const exported = await ann.request.get(`${server.url}${href}`);
  assert.equal(exported.status(), 200);
  assert.match(exported.headers()["content-disposition"], /attachment; filename="bot-\d+\.json"/);
  const json = await exported.json();
  assert.equal(json.name, "Shop greeter");
  assert.equal(json.steps.find((s) => s.id === "sales").team, Number(salesId));

  await ann.getByRole("link", { name: "All chat bots" }).click();
  await ann.getByRole("button", { name: "Enable Shop greeter" }).click();
  await ann.getByRole("button", { name: "Disable Shop greeter" }).waitFor();
  await shot(ann, "bots-04-settings-enabled");
  await ann.context().close();
});

test("a visitor's bot path ends in a hand-off: the agent finds it in the inbox with the transcript and replies live", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const avail = ann.getByRole("button", { name: "Available for chat" });
  if ((await avail.getAttribute("aria-pressed")) !== "true") await avail.click();
  await ann.locator('button[aria-pressed="true"]', { hasText: "Available for chat" }).waitFor();
  await ann.goto(`${server.url}/inbox`);

  const v = await visitor();
  const log = v.getByRole("log");
  await say(v, "Hi, I want to buy 40 chairs");
  await log.getByText("Hello! What can we do for you?").waitFor({ timeout: 20_000 });
  await log.getByText("Shop greeter:").first().waitFor();
  const quick = v.getByRole("group", { name: "Quick replies" });
  await quick.getByRole("button", { name: "Talk to sales" }).waitFor();
  await shot(v, "bots-05-widget-quick-replies");
  await quick.getByRole("button", { name: "Talk to sales" }).click();
  await log.getByText("Connecting you to our team.").waitFor({ timeout: 20_000 });
  // Handed off: no more quick replies.
  await quick.getByRole("button").first().waitFor({ state: "detached" });

  // The conversation is in the inbox (live), with the whole transcript.
  const row = ann.locator("#conv-list a", { hasText: "Hi, I want to buy 40 chairs" }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  await ann.waitForURL(/\/inbox\/conversations\/\d+/);
  for (const text of ["Hi, I want to buy 40 chairs", "Hello! What can we do for you?", "Talk to sales", "Connecting you to our team."]) {
    await ann.locator("#thread").getByText(text).first().waitFor();
  }
  await shot(ann, "bots-06-agent-handed-off");
  // The agent answers; the visitor sees it live.
  await ann.locator("#rich-body").fill("Hi, this is Ann from sales. 40 chairs is no problem.");
  await ann.locator("#send").click();
  await log.getByText("Hi, this is Ann from sales. 40 chairs is no problem.").waitFor({ timeout: 20_000 });
  await log.getByText("Ann Agent:").waitFor();
  // HD-08: the channel is connected to the help desk, yet this conversation has no ticket.
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("heading", { level: 1 }).first().waitFor();
  assert.equal(await ann.getByRole("link", { name: "Hi, I want to buy 40 chairs" }).count(), 0);
  await v.context().close();
  await ann.context().close();
});

test("another visitor's bot path ends in a ticket, which the agent finds in the help desk", async () => {
  const v = await visitor();
  const log = v.getByRole("log");
  await say(v, "Hello there");
  const quick = v.getByRole("group", { name: "Quick replies" });
  await quick.getByRole("button", { name: "Report a problem" }).click();
  await log.getByText("What is your email address?").waitFor({ timeout: 20_000 });
  await say(v, "not an address");
  await log.getByText("That does not look like an email address", { exact: false }).waitFor({ timeout: 20_000 });
  await say(v, "vera@customer.example");
  await log.getByText("Thanks! We opened a ticket and will write to vera@customer.example.").waitFor({ timeout: 20_000 });
  await log.getByText("Goodbye!").waitFor();
  await shot(v, "bots-07-widget-ticket");

  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("link", { name: "Problem reported by vera@customer.example" }).first().click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+/);
  await ann.getByText("What is your email address?").first().waitFor();
  await shot(ann, "bots-08-agent-ticket");
  await v.context().close();
  await ann.context().close();
});
