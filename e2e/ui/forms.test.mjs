// Web forms (HD-06, HD-15), end to end in a real browser: an admin builds a form in
// Settings, a customer submits its hosted page (no JavaScript needed), the ticket appears in
// the help desk, the agent's reply is delivered by email through the relay, and the
// customer's email answer lands on the same ticket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, startRelay, launchBrowser, signIn, shot, deliver, createTeamWithAddresses } from "./harness.mjs";

const USERS = [{ email: "ann@example.com", name: "Ann Admin", role: "super-admin" }];

let server;
let chrome;
let relay;
before(async () => {
  relay = await startRelay();
  server = await startServer({ users: USERS, smtp: true, relayPort: relay.port });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support", [["support@example.com", "help_desk"]]);
  await ann.context().close();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (relay) await relay.stop();
});

/** Waits until the relay got a message for `to` containing `text`. */
async function relayed(to, text, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const m = relay.messages.find((x) => x.to.includes(to) && x.raw.includes(text));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message to ${to} containing ${JSON.stringify(text)} reached the relay`);
}

test("a hosted form submission becomes a ticket the agent answers by email, and the answer threads back", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  // Settings → Forms: the portal id, and a new form connected to the help desk.
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Forms" }).click();
  await ann.waitForURL(/\/settings\/forms$/);
  assert.match(await ann.locator("#portal-id").innerText(), /^\d{8}$/);
  await shot(ann, "forms-01-settings-list");
  await ann.getByLabel("Name", { exact: true }).fill("Website support");
  await ann.getByLabel("Team").selectOption({ label: "Support" });
  await ann.getByLabel("Connected to").selectOption("help_desk");
  await ann.getByLabel("Thank-you message or URL").fill("Thanks! We will answer by email.");
  await ann.getByRole("button", { name: "Create form" }).click();
  await ann.waitForURL(/\/settings\/forms\/[0-9a-f-]{36}$/);
  const formId = (await ann.locator("#form-id").innerText()).trim();
  assert.ok((await ann.locator("#embed").inputValue()).includes(`/submissions/v3/integration/submit/`));
  await shot(ann, "forms-02-settings-edit");
  const hosted = await ann.locator("#hosted-link").getAttribute("href");
  assert.ok(hosted.endsWith(`/forms/${formId}`), hosted);

  // The customer, signed out: a plain HTML form with no script at all.
  const visitor = await chrome.browser.newContext({ viewport: { width: 1200, height: 900 } });
  const customer = await visitor.newPage();
  await customer.goto(hosted);
  assert.equal(await customer.locator("script").count(), 0, "the hosted page needs no JavaScript");
  await shot(customer, "forms-03-hosted-page");
  await customer.getByLabel("Email").fill("dana@customer.example");
  await customer.getByLabel("First name").fill("Dana");
  await customer.getByLabel("Subject").fill("Order 1234 never arrived");
  await customer.getByLabel("Message").fill("It has been two weeks.");
  await customer.getByRole("button", { name: "Submit" }).click();
  await customer.getByText("Thanks! We will answer by email.").waitFor();
  await shot(customer, "forms-04-hosted-thank-you");
  await visitor.close();

  // HD-06: the ticket is in the help desk, from the form.
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("link", { name: "Order 1234 never arrived" }).first().click();
  await ann.waitForURL(/\/helpdesk\/tickets\/\d+$/);
  const ticketUrl = ann.url();
  await ann.locator("#thread").getByText("It has been two weeks.").waitFor();
  // HD-15: the reply goes out by email, through the relay, to the submitter.
  await ann.locator("#rich-body").fill("We shipped a replacement today.");
  await ann.locator("#send").click();
  await ann.frameLocator("#thread .item.outbound iframe.msg-frame").last().getByText("We shipped a replacement today.").waitFor();
  const mail = await relayed("dana@customer.example", "We shipped a replacement today.");
  const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(mail.raw)[1];
  await shot(ann, "forms-05-ticket-reply-sent");

  // The customer answers the email: it lands on the same ticket, live.
  deliver(server.smtpPort, {
    from: "Dana <dana@customer.example>", to: "support@example.com",
    subject: "Re: Order 1234 never arrived", text: "Got it, thank you!", inReplyTo: messageId,
  });
  await ann.locator("#thread").getByText("Got it, thank you!").waitFor({ timeout: 20_000 });
  assert.equal(new URL(ann.url()).pathname, new URL(ticketUrl).pathname);
  await ann.goto(`${server.url}/helpdesk`);
  assert.equal(await ann.getByRole("link", { name: /Order 1234 never arrived/ }).count(), 1, "one ticket, not two");
  await ann.goto(`${server.url}/settings/forms/${formId}`);
  assert.equal((await ann.locator("#submission-count").innerText()).trim(), "1");
  await ann.context().close();
});
