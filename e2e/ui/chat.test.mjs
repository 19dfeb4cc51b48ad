// Issue 14, item 3: live chat. A customer's page on a SECOND loopback origin embeds the widget
// with one script tag; a visitor chats with an agent working in the inbox, both live (messages,
// typing, read state); a reload keeps the visitor's history; with nobody available the widget
// asks for an email address. axe-core checks the widget page and the chat settings.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { startServer, launchBrowser, signIn, shot, createTeamWithAddresses, binary, startChatSite } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

let server, chrome, site, siteUrl, channel;

const startSite = startChatSite;

before(async () => {
  server = await startServer({ users: USERS });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support", []);
  const team = ann.locator("section.card", { hasText: "Support" });
  await team.getByLabel("Add member").selectOption({ label: "Ann Agent" });
  await team.getByRole("button", { name: "Add", exact: true }).click();
  await ann.locator("section.card", { hasText: "Remove" }).waitFor();
  // Settings → Chat: a channel for the team, connected to the inbox.
  await ann.goto(`${server.url}/settings/chat`);
  await ann.getByLabel("Name").fill("Website chat");
  await ann.getByLabel("Team").selectOption({ label: "Support" });
  await ann.getByLabel("Connected to").selectOption("inbox");
  await ann.getByRole("button", { name: "Create chat channel" }).click();
  const card = ann.locator("section.card", { hasText: "Website chat" });
  await card.waitFor();
  channel = (await card.locator("dd").first().textContent()).trim();
  assert.match(await card.getByLabel("Embed snippet").inputValue(), new RegExp(`data-frontdesk-chat="${channel}"`));
  await shot(ann, "chat-01-settings");
  await ann.context().close();
  site = await startSite(server.url, channel);
  siteUrl = `http://127.0.0.1:${site.address().port}/`;
});

after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (site) await new Promise((r) => site.close(r));
});

async function visitor() {
  const context = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  await page.goto(siteUrl);
  await page.getByRole("button", { name: /chat/i }).first().click();
  return page;
}

async function setAvailable(page, available) {
  const toggle = page.getByRole("button", { name: "Available for chat" });
  if ((await toggle.getAttribute("aria-pressed")) !== String(available)) {
    await toggle.click();
  }
  await page.locator(`button[aria-pressed="${available}"]`, { hasText: "Available for chat" }).waitFor();
}

test("a visitor on another site chats live with an agent in the inbox; a reload keeps the history", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await setAvailable(ann, true);
  await ann.goto(`${server.url}/inbox`);
  await ann.evaluate(() => (window.__notReloaded = true));

  const v = await visitor();
  const log = v.getByRole("log");
  await v.getByRole("textbox", { name: "Message" }).fill("Hello, is my order shipped?");
  await v.getByRole("textbox", { name: "Message" }).press("Enter");
  await log.getByText("Hello, is my order shipped?").waitFor();
  await shot(v, "chat-02-widget-first-message");

  // The agent's inbox shows the new conversation without a reload.
  await ann.locator("#conv-list").getByText("Hello, is my order shipped?").first().waitFor({ timeout: 20_000 });
  assert.equal(await ann.evaluate(() => window.__notReloaded), true, "the inbox updated live");
  await ann.locator("#conv-list a", { hasText: "Hello, is my order shipped?" }).first().click();
  await ann.waitForURL(/\/inbox\/conversations\/\d+/);
  // The agent has the conversation open: the visitor's message reads as seen.
  await v.locator("p.seen", { hasText: "Seen" }).waitFor({ timeout: 20_000 });

  // Typing state: the agent types, the visitor is told.
  await ann.locator("#rich-body").waitFor();
  await ann.locator("#rich-body").click();
  await ann.keyboard.type("Yes, it left");
  await v.getByRole("status").filter({ hasText: "An agent is typing" }).waitFor({ timeout: 20_000 });
  await ann.locator("#rich-body").fill("Yes, it left our warehouse this morning.");
  await ann.locator("#send").click();
  // The reply reaches the widget live.
  await log.getByText("Yes, it left our warehouse this morning.").waitFor({ timeout: 20_000 });
  await log.getByText("Ann Agent:").waitFor();
  // Read state the other way: the visitor's open widget has shown it, and the agent sees that.
  await ann.locator("#thread .pill", { hasText: "Seen" }).first().waitFor({ timeout: 20_000 });

  // The visitor answers; the agent sees them typing, then the message, live.
  await ann.evaluate(() => (window.__notReloaded = true));
  await v.getByRole("textbox", { name: "Message" }).pressSequentially("Great");
  await ann.locator("#presence").filter({ hasText: "Chat visitor is replying" }).waitFor({ timeout: 20_000 });
  await v.getByRole("textbox", { name: "Message" }).fill("Great, thank you!");
  await v.getByRole("textbox", { name: "Message" }).press("Enter");
  await ann.locator("#thread").getByText("Great, thank you!").waitFor({ timeout: 20_000 });
  assert.equal(await ann.evaluate(() => window.__notReloaded), true, "the thread updated live");
  await shot(v, "chat-03-widget-conversation");
  await shot(ann, "chat-04-agent-conversation");

  // A reload keeps the visitor's history (their token is in this site's localStorage).
  await v.reload();
  await v.getByRole("button", { name: /chat/i }).first().click();
  for (const text of ["Hello, is my order shipped?", "Yes, it left our warehouse this morning.", "Great, thank you!"]) {
    await v.getByRole("log").getByText(text).waitFor();
  }
  const stored = await v.evaluate((ch) => localStorage.getItem(`frontdesk-chat-${ch}`), channel);
  assert.ok(stored && stored.length > 30, "an unguessable token is kept");
  await v.context().close();
  await ann.context().close();
});

test("with nobody available the widget asks for an email address and the chat continues by email", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await setAvailable(ann, false);
  const v = await visitor();
  await v.getByRole("status").filter({ hasText: "Nobody is available right now" }).waitFor();
  await v.getByRole("textbox", { name: "Message" }).fill("Do you ship to Norway?");
  await v.getByRole("textbox", { name: "Message" }).press("Enter");
  await v.getByRole("alert").filter({ hasText: "leave your email address" }).waitFor();
  await v.getByLabel("Your email (required)").fill("nora@example.com");
  await v.getByRole("textbox", { name: "Message" }).press("Enter");
  await v.getByRole("log").getByText("Do you ship to Norway?").waitFor();
  await v.getByRole("status").filter({ hasText: "We will answer by email" }).waitFor();
  await shot(v, "chat-05-widget-offline");
  // The agent answers from the inbox: the reply is an email to the address left.
  await ann.goto(`${server.url}/inbox`);
  await ann.locator("#conv-list a", { hasText: "Do you ship to Norway?" }).first().click();
  await ann.locator("#rich-body").fill("Yes, we ship to Norway.");
  await ann.locator("#send").click();
  // An email to the address the visitor left (kept unsent here: the team has no address).
  await ann.locator("#thread").getByText("To: nora@example.com").waitFor();
  // The widget shows the answer too, live.
  await v.getByRole("log").getByText("Yes, we ship to Norway.").waitFor({ timeout: 20_000 });
  await v.context().close();
  await ann.context().close();
});

test("a signed-in customer identified by the page chats on a help-desk channel made with the CLI: a ticket that is theirs", async () => {
  const cli = (...args) => execFileSync(binary(), ["admin", ...args, ...server.dbArgs], { encoding: "utf8" });
  const helpDesk = cli("create-chat", "--name", "Account chat", "--team", "Support", "--help-desk").trim().split("\n").pop();
  assert.match(helpDesk, /^\d+$/);
  const apiToken = cli("create-token", "--email", "ann@example.com").trim().split("\n").pop();
  const r = await fetch(`${server.url}/visitor-identification/v3/tokens/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
    body: JSON.stringify({ email: "ada@example.com", firstName: "Ada", lastName: "Lovelace" }),
  });
  assert.equal(r.status, 200);
  const { token } = await r.json();
  const shop = await startSite(server.url, helpDesk, { identificationEmail: "ada@example.com", identificationToken: token });
  try {
    const ann = await signIn(chrome.browser, server.url, "ann@example.com");
    await setAvailable(ann, true);
    const context = await chrome.browser.newContext();
    const v = await context.newPage();
    await v.goto(`http://127.0.0.1:${shop.address().port}/`);
    await v.getByRole("button", { name: /chat/i }).first().click();
    await v.getByRole("textbox", { name: "Message" }).fill("Please close my account");
    await v.getByRole("textbox", { name: "Message" }).press("Enter");
    await v.getByRole("log").getByText("Please close my account").waitFor();
    // HD-06: a ticket in the help desk, and it is Ada's.
    await ann.goto(`${server.url}/helpdesk`);
    await ann.getByRole("link", { name: "Please close my account" }).first().click();
    await ann.waitForURL(/\/helpdesk\/tickets\/\d+/);
    await ann.locator("#sidebar, aside").getByText("Ada Lovelace").first().waitFor();
    await ann.locator("#rich-body").fill("Done, Ada.");
    await ann.locator("#send").click();
    await v.getByRole("log").getByText("Done, Ada.").waitFor({ timeout: 20_000 });
    await context.close();
    await ann.context().close();
  } finally {
    await new Promise((res) => shop.close(res));
  }
});
