// Settings → Webhooks (issue 17, item 4): an administrator creates a developer app (its key
// and secret shown once), points it at a receiver, subscribes to ticket creations; a ticket
// created through the API reaches the receiver signed with the secret (v3); the receiver
// refuses the first request, the delivery log says so, and Replay sends the event again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { startServer, launchBrowser, signIn, shot, apiClient } from "./harness.mjs";

let server;
let chrome;
let receiver;
const got = [];
const waiting = [];

/** A receiver on loopback: answers 503 to the first request, 204 after; keeps them all. */
function startReceiver() {
  return new Promise((resolve) => {
    const s = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => { body += d; });
      req.on("end", () => {
        got.push({ url: req.url, headers: req.headers, body });
        res.writeHead(got.length === 1 ? 503 : 204).end();
        while (waiting.length && waiting[0].n <= got.length) waiting.shift().resolve();
      });
    });
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

/** Resolves once the receiver has had `n` requests. */
function requests(n) {
  if (got.length >= n) return Promise.resolve();
  return new Promise((resolve) => waiting.push({ n, resolve }));
}

before(async () => {
  server = await startServer({
    users: [{ email: "ann@example.com", name: "Ann Admin", role: "super-admin" }],
  });
  receiver = await startReceiver();
  chrome = await launchBrowser();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (receiver) receiver.close();
});

test("an admin creates an app, subscribes, sees a delivery and replays it", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings`);
  await ann.getByRole("navigation", { name: "Settings" }).getByRole("link", { name: "Webhooks" }).click();
  await ann.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
  await ann.getByText("No developer app yet.").waitFor();
  await shot(ann, "webhooks-01-empty");

  await ann.getByLabel("Name").fill("Sync");
  await ann.getByRole("button", { name: "Create app" }).click();
  await ann.getByRole("heading", { name: "Sync is created" }).waitFor();
  const appId = await ann.getByLabel("App id").inputValue();
  const key = await ann.getByLabel("Developer API key").inputValue();
  const secret = await ann.getByLabel("Client secret").inputValue();
  assert.match(key, /^[0-9a-f-]{36}$/);
  assert.match(secret, /^[0-9a-f-]{36}$/);
  await shot(ann, "webhooks-02-created");

  // The developer key works on HubSpot's management API.
  const r = await fetch(`${server.url}/webhooks/v3/${appId}/subscriptions?hapikey=${key}`);
  assert.equal(r.status, 200);

  await ann.getByRole("link", { name: "Set up Sync" }).click();
  await ann.getByRole("heading", { name: "Sync", level: 1 }).waitFor();
  const target = `http://127.0.0.1:${receiver.address().port}/hooks?from=frontdesk`;
  await ann.getByLabel("Target URL").fill("ftp://nowhere");
  // The browser's own URL check lets ftp: through; the server refuses it at its field.
  await ann.getByRole("button", { name: "Save settings" }).click();
  await ann.locator("#hook-url-error").waitFor();
  await ann.getByLabel("Target URL").fill(target);
  await ann.getByLabel("Requests in flight at most (5 to 100)").fill("5");
  await ann.getByRole("button", { name: "Save settings" }).click();
  await ann.getByText("Settings saved.").waitFor();
  await ann.getByLabel("Event type").selectOption("ticket.creation");
  await ann.getByRole("button", { name: "Subscribe" }).click();
  await ann.locator("#subscriptions").getByRole("cell", { name: "ticket.creation", exact: true }).waitFor();
  await shot(ann, "webhooks-03-subscribed");

  const api = apiClient(server, "ann@example.com");
  const ticket = await api("POST", "/crm/v3/objects/tickets", {
    properties: { subject: "Hooked", hs_pipeline_stage: "1" },
  });
  await requests(1);
  const first = got[0];
  const expected = createHmac("sha256", secret)
    .update(`POST${target}${first.body}${first.headers["x-hubspot-request-timestamp"]}`)
    .digest("base64");
  assert.equal(first.headers["x-hubspot-signature-v3"], expected);
  const events = JSON.parse(first.body);
  assert.equal(events[0].subscriptionType, "ticket.creation");
  assert.equal(String(events[0].objectId), ticket.id);

  // The log shows the refused request; Replay sends the event again at once.
  await ann.reload();
  const logRow = ann.locator("#deliveries tbody tr").first();
  await logRow.getByText("Will retry").waitFor();
  await logRow.getByText("503").waitFor();
  await shot(ann, "webhooks-04-log");
  const eventId = events[0].eventId;
  await ann.getByRole("button", { name: `Replay event ${eventId}` }).click();
  await ann.getByText("Queued to be sent again").waitFor();
  await requests(2);
  assert.equal(JSON.parse(got[1].body)[0].eventId, eventId);
  await ann.reload();
  await ann.locator("#events tbody tr").first().getByText("Delivered").waitFor();
  await shot(ann, "webhooks-05-replayed");
});
