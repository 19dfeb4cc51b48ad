// Calls (issue 14, items 5 and 6): a telephony provider's signed event for an inbound call on
// a help-desk number opens a ticket; the agent opens it, sees the call on the timeline, finds
// the Comment tab closed until an email is drafted (HD-21), replies by email (HD-15) and the
// reply reaches the relay; the customer's answer lands on the same ticket.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { startServer, startRelay, launchBrowser, signIn, shot, deliver, binary, createTeamWithAddresses } from "./harness.mjs";

const NUMBER = "+14155550100";
let server;
let chrome;
let relay;
let secret;

before(async () => {
  relay = await startRelay();
  server = await startServer({
    users: [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }],
    smtp: true,
    relayPort: relay.port,
  });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Phones", [["phones@example.com", "help_desk"]]);
  await ann.context().close();
  // The admin command prints the webhook secret as its last line.
  const out = execFileSync(binary(), ["admin", "connect-calling", ...server.args,
    "--number", NUMBER, "--team", "Phones", "--help-desk"]).toString();
  secret = out.trim().split("\n").pop().trim();
  assert.match(secret, /^[0-9a-f]{64}$/);
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (relay) await relay.stop();
});

/** Posts a provider event signed as `connect-calling`'s secret says. */
async function callEvent(event) {
  const body = JSON.stringify(event);
  const ts = String(Date.now());
  const sig = createHmac("sha256", secret).update(ts + body).digest("hex");
  const r = await fetch(`${server.url}/calling/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-frontdesk-timestamp": ts, "x-frontdesk-signature": sig },
    body,
  });
  return { status: r.status, body: await r.json() };
}

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

test("an inbound call opens a ticket; the agent sees the call, HD-21's gate, and answers by email", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  // The caller is a known contact, stored with spaces in the number.
  await ann.goto(`${server.url}/contacts/new`);
  await ann.getByLabel("Email").fill("carla@example.com");
  await ann.getByLabel("First name").fill("Carla");
  await ann.getByLabel("Phone number").fill("+44 20 7946 0000");
  await ann.getByRole("button", { name: "Create contact" }).click();
  await ann.getByRole("heading", { name: "Carla" }).waitFor();

  // A forged event is refused; the provider's events open and complete the call.
  const forged = await fetch(`${server.url}/calling/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-frontdesk-timestamp": String(Date.now()), "x-frontdesk-signature": "00" },
    body: "{}",
  });
  assert.ok([400, 401].includes(forged.status));
  const ring = await callEvent({ eventId: "ev-1", callId: "call-1", type: "ringing", from: "+442079460000", to: NUMBER });
  assert.equal(ring.status, 200, JSON.stringify(ring.body));
  const ticketId = ring.body.ticketId;
  assert.ok(ticketId);
  const done = await callEvent({ eventId: "ev-2", callId: "call-1", type: "completed", from: "+442079460000", to: NUMBER,
    durationMs: 95000, recordingUrl: "https://recordings.example/call-1.mp3" });
  assert.equal(done.status, 200);
  const replay = await callEvent({ eventId: "ev-2", callId: "call-1", type: "completed", from: "+442079460000", to: NUMBER });
  assert.equal(replay.body.status, "ignored");

  // The agent finds the ticket in the help desk and opens it.
  await ann.goto(`${server.url}/helpdesk`);
  await ann.getByRole("link", { name: "Call from +442079460000" }).first().click();
  await ann.waitForURL(new RegExp(`/helpdesk/tickets/${ticketId}$`));
  const calls = ann.locator("#engagements");
  await calls.getByText("Call: Call from +442079460000").waitFor();
  await calls.getByText("Inbound · Completed · from +442079460000 · to +14155550100 · 1 min 35 s").waitFor();
  await calls.getByRole("link", { name: "Call recording" }).waitFor();
  await shot(ann, "calls-01-ticket-with-call");

  // HD-21: the Comment tab stays closed until an email is drafted.
  await ann.getByRole("tab", { name: "Comment" }).click();
  await ann.getByText("commenting opens once an outgoing email has been drafted or sent").waitFor();
  assert.equal(await ann.locator("#comment").count(), 0);
  await shot(ann, "calls-02-comment-gate");
  await ann.getByRole("tab", { name: "Reply" }).click();
  // HD-15: a call is answered by email, to the caller's contact.
  assert.equal(await ann.getByLabel("To", { exact: true }).inputValue(), "carla@example.com");
  await ann.locator("#rich-body").fill("Hello Carla, following up on your call.");
  await ann.getByRole("button", { name: "Save draft" }).click();
  await ann.getByRole("tab", { name: "Comment" }).click();
  await ann.locator("#comment").fill("Called back, she will send photos.");
  await ann.getByRole("button", { name: "Add comment" }).click();
  await ann.locator("#thread").getByText("Called back, she will send photos.").waitFor();
  await ann.getByRole("tab", { name: "Reply" }).click();
  await ann.locator("#send").click();
  await ann.frameLocator("#thread .item.outbound iframe.msg-frame").last().getByText("following up on your call").waitFor();
  await shot(ann, "calls-03-reply-sent");

  // The reply is delivered, and the customer's answer lands on the same ticket.
  const sent = await relayed("carla@example.com", "following up on your call");
  const messageId = /^Message-ID:\s*(<[^>]+>)/im.exec(sent.raw)[1];
  deliver(server.smtpPort, {
    from: "carla@example.com", to: "phones@example.com", subject: "Re: Call from +442079460000",
    text: "Here are the photos you asked for.", inReplyTo: messageId,
  });
  // The open ticket page merges the new message in live (no reload).
  const answer = ann.locator("#thread li.item.inbound");
  await answer.first().waitFor({ timeout: 20_000 });
  if (await answer.first().locator("iframe.msg-frame").count()) {
    await ann.frameLocator("#thread li.item.inbound iframe.msg-frame").first().getByText("Here are the photos").waitFor();
  } else {
    await answer.first().getByText("Here are the photos").waitFor();
  }
  assert.match(ann.url(), new RegExp(`/helpdesk/tickets/${ticketId}`));

  // The contact's timeline shows the call too.
  await ann.goto(`${server.url}/contacts`);
  await ann.getByRole("link", { name: "Carla" }).first().click();
  await ann.locator("#engagements").getByText("Call: Call from +442079460000").waitFor();
  await shot(ann, "calls-04-contact-timeline");
  await ann.context().close();
});
