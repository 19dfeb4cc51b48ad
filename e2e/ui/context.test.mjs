// The agent's workspace around a thread (issue 13): attachments of a customer's email in the
// help desk and in the inbox (links with sizes, the PDF downloaded as an attachment, the PNG
// previewed inline), and the inbox reply's From preselected to the address written to (HD-15).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, signIn, shot, deliver, serveHelp, createTeamWithAddresses } from "./harness.mjs";

const HAS_SMTP = serveHelp().includes("--smtp-listen");
const SKIP = !HAS_SMTP && "needs the SMTP listener (`serve --smtp-listen`) to receive email";
const USERS = [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }];

// A 1×1 PNG and a small PDF: what a customer attaches.
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const PDF_TEXT = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
const PDF = Buffer.from(PDF_TEXT).toString("base64");
const ATTACHMENTS = [
  { name: "invoice.pdf", type: "application/pdf", base64: PDF },
  { name: "screenshot.png", type: "image/png", base64: PNG },
];

let server;
let chrome;
before(async () => {
  server = await startServer({ users: USERS, smtp: HAS_SMTP });
  chrome = await launchBrowser();
  // One team: support@ (help desk, connected first, so the team's default From) and hello@
  // (inbox).
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support",
    [["support@example.com", "help_desk"], ["hello@example.com", "inbox"]]);
  await ann.context().close();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

/** Checks the thread's two attachments: links with sizes, PDF downloads, PNG previews. */
async function checkAttachments(page) {
  const pdf = page.locator(".attachment", { hasText: "invoice.pdf" }).first();
  const png = page.locator(".attachment", { hasText: "screenshot.png" }).first();
  await pdf.waitFor({ timeout: 20_000 });
  assert.equal((await pdf.locator(".muted").textContent()).trim(), `${Buffer.from(PDF, "base64").length} bytes`);
  assert.equal((await png.locator(".muted").textContent()).trim(), `${Buffer.from(PNG, "base64").length} bytes`);
  // The PDF: a download, served as an attachment of its own type, the bytes that were sent.
  const href = await pdf.getByRole("link", { name: "invoice.pdf" }).getAttribute("href");
  const r = await page.request.get(new URL(href, server.url).toString());
  assert.equal(r.status(), 200);
  assert.match(r.headers()["content-type"], /^application\/pdf/);
  assert.match(r.headers()["content-disposition"] || "", /^attachment/);
  assert.equal((await r.body()).toString(), PDF_TEXT);
  // The PNG: previewed inline, and the image really loaded.
  const img = png.locator("img");
  await img.scrollIntoViewIfNeeded();
  await img.evaluate((el) => (el.complete ? null : new Promise((ok) => { el.onload = ok; el.onerror = ok; })));
  assert.ok((await img.evaluate((el) => el.naturalWidth)) > 0, "the PNG preview loaded");
}

test("attachments of a customer's email: help desk thread", { skip: SKIP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  deliver(server.smtpPort, {
    from: "Cleo <cleo@customer.example>", to: "support@example.com", subject: "Invoice attached",
    text: "Please see the invoice and the screenshot.", attachments: ATTACHMENTS,
  });
  await ann.goto(`${server.url}/helpdesk?view=open`);
  await ann.locator("#ticket-list a", { hasText: "Invoice attached" }).first().waitFor({ timeout: 20_000 });
  await ann.locator("#ticket-list a", { hasText: "Invoice attached" }).first().click();
  await checkAttachments(ann);
  await shot(ann, "context-01-helpdesk-attachments");
  await ann.context().close();
});

test("attachments in the inbox, and the reply From is the address written to (HD-15)", { skip: SKIP }, async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  deliver(server.smtpPort, {
    from: "Dana <dana@customer.example>", to: "hello@example.com", subject: "Screenshot of the bug",
    text: "Here is what I see.", attachments: ATTACHMENTS,
  });
  await ann.goto(`${server.url}/inbox`);
  const link = ann.locator("#conv-list a", { hasText: "Screenshot of the bug" }).first();
  await link.waitFor({ timeout: 20_000 });
  await link.click();
  await checkAttachments(ann);
  // HD-15: written to hello@, so the reply goes out from hello@, not the team's support@.
  assert.equal(await ann.locator("#from").inputValue(), "hello@example.com");
  await shot(ann, "context-02-inbox-attachments-reply-from");
  await ann.context().close();
});
