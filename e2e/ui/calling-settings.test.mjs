// Settings → Calling (issue 14): an administrator connects a phone number to a team in
// Settings, copies the webhook secret shown once, and a call event signed with that secret
// opens a ticket; a bad number is refused at its field; rotating the secret shows a new one
// and the old one stops signing; disconnecting removes the number.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import { startServer, launchBrowser, signIn, shot, binary } from "./harness.mjs";

const NUMBER = "+14155550177";
let server;
let chrome;

before(async () => {
  server = await startServer({
    users: [{ email: "ann@example.com", name: "Ann Admin", role: "super-admin" }],
  });
  execFileSync(binary(), ["admin", "create-team", ...server.args, "--name", "Phones"]);
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** Posts a provider event signed with `secret` (hex HMAC-SHA256 of timestamp ‖ body). */
async function callEvent(secret, event) {
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

test("an admin connects a number in Settings and a call signed with its secret opens a ticket", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Calling" }).click();
  await ann.getByRole("heading", { name: "Calling", level: 1 }).waitFor();
  await ann.getByText("No number is connected yet.").waitFor();
  await shot(ann, "calling-settings-01-empty");

  // A number not in E.164 form comes back at its field, with what was typed.
  await ann.getByLabel("Number (E.164, such as +14155550100)").fill("415 555 0177");
  await ann.getByLabel("Team").selectOption({ label: "Phones" });
  await ann.getByRole("button", { name: "Connect number" }).click();
  await ann.locator("#calling-number-error").getByText("E.164").waitFor();
  assert.equal(await ann.getByLabel("Number (E.164, such as +14155550100)").inputValue(), "415 555 0177");
  await shot(ann, "calling-settings-02-refused");

  await ann.getByLabel("Number (E.164, such as +14155550100)").fill("+1 415 555 0177");
  await ann.getByLabel("Connected to").selectOption("help_desk");
  await ann.getByRole("button", { name: "Connect number" }).click();
  await ann.getByRole("heading", { name: `${NUMBER} is connected` }).waitFor();
  const secret = await ann.getByLabel("Webhook secret").inputValue();
  assert.match(secret, /^[0-9a-f]{64}$/);
  assert.equal(await ann.getByLabel("Webhook URL").inputValue(), `${server.url}/calling/v1/events`);
  const row = ann.getByRole("row", { name: new RegExp(NUMBER.replace("+", "\\+")) });
  await row.getByText("Phones").waitFor();
  await row.getByText("Help desk (a ticket per call)").waitFor();
  await shot(ann, "calling-settings-03-connected");

  // The provider's signed event opens a ticket the admin finds in the help desk.
  const ring = await callEvent(secret, { eventId: "cs-1", callId: "cs-call-1", type: "ringing", from: "+442079460111", to: NUMBER });
  assert.equal(ring.status, 200, JSON.stringify(ring.body));
  assert.ok(ring.body.ticketId, JSON.stringify(ring.body));
  await ann.goto(`${server.url}/helpdesk/tickets/${ring.body.ticketId}`);
  await ann.locator("#engagements").getByText("Call: Call from +442079460111").waitFor();

  // The secret is not shown again; rotating shows a new one and the old one stops signing.
  await ann.goto(`${server.url}/settings/calling`);
  assert.equal(await ann.getByLabel("Webhook secret").count(), 0);
  await ann.getByRole("button", { name: `Rotate the secret of ${NUMBER}` }).click();
  await ann.getByRole("heading", { name: `New secret for ${NUMBER}` }).waitFor();
  const rotated = await ann.getByLabel("Webhook secret").inputValue();
  assert.notEqual(rotated, secret);
  await shot(ann, "calling-settings-04-rotated");
  const stale = await callEvent(secret, { eventId: "cs-2", callId: "cs-call-2", type: "ringing", from: "+442079460111", to: NUMBER });
  assert.notEqual(stale.status, 200);
  const fresh = await callEvent(rotated, { eventId: "cs-3", callId: "cs-call-3", type: "ringing", from: "+442079460112", to: NUMBER });
  assert.equal(fresh.status, 200, JSON.stringify(fresh.body));

  // Disconnecting removes the number; its events are refused.
  await ann.getByRole("button", { name: `Disconnect ${NUMBER}` }).click();
  await ann.getByText("No number is connected yet.").waitFor();
  const after = await callEvent(rotated, { eventId: "cs-4", callId: "cs-call-4", type: "ringing", from: "+442079460113", to: NUMBER });
  assert.notEqual(after.status, 200);
  await ann.context().close();
});
