// Attachments, signatures and variables (issue 15, items 7 and 8). Replies go out through a
// real SMTP server (aiosmtpd, e2e/mail/smtp_sink.py) configured as Frontdesk's relay; the
// captured message is read back with Python's email package to check each MIME part's name,
// type and bytes. Signatures are inserted once; a snippet's variables are filled for the
// ticket at hand; a file over the account's limit is refused with a clear message and the
// reply's text is kept.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir, homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, launchBrowser, signIn, shot, deliver, createTeamWithAddresses } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const VENV_PY = join(process.env.FRONTDESK_MAIL_VENV || join(homedir(), ".cache", "frontdesk-mail-venv"), "bin", "python");

let sink;
let server;
let chrome;

/** Starts smtp_sink.py (aiosmtpd) writing what it accepts to a temporary directory. */
async function startSink() {
  const outdir = mkdtempSync(join(tmpdir(), "frontdesk-sink-"));
  const proc = spawn(VENV_PY, [join(here, "..", "mail", "smtp_sink.py"), outdir], { stdio: ["pipe", "pipe", "pipe"] });
  let err = "";
  proc.stderr.on("data", (d) => { err += d; });
  const port = await new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`smtp_sink.py exited (${code}): ${err}`)));
  });
  return {
    port,
    outdir,
    /** The captured messages' raw bytes, oldest first. */
    messages() {
      return readdirSync(outdir)
        .filter((f) => f.endsWith(".eml"))
        .sort((a, b) => parseInt(a, 10) - parseInt(b, 10))
        .map((f) => readFileSync(join(outdir, f)));
    },
    async stop() {
      proc.stdin.end();
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}

/** Waits until the sink captured a message containing `text`; its raw bytes. */
async function captured(text, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const m = sink.messages().find((raw) => raw.toString("latin1").includes(text));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the SMTP sink got no message containing ${JSON.stringify(text)}`);
}

/** The MIME structure of a raw message, read by Python's email package. */
function mimeParts(raw) {
  const script = `
import sys, json, base64, email
from email import policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
out = {"type": m.get_content_type(), "parts": []}
for p in m.walk():
    if p.is_multipart():
        out["parts"].append({"multipart": p.get_content_type()})
        continue
    out["parts"].append({
        "type": p.get_content_type(),
        "disposition": p.get_content_disposition(),
        "filename": p.get_filename(),
        "cte": str(p.get("Content-Transfer-Encoding", "")).lower(),
        "base64": base64.b64encode(p.get_payload(decode=True) or b"").decode(),
    })
print(json.dumps(out))
`;
  return JSON.parse(execFileSync("python3", ["-c", script], { input: raw }).toString());
}

before(async () => {
  sink = await startSink();
  server = await startServer({
    users: [{ email: "ann@example.com", name: "Ann Agent", role: "super-admin" }],
    smtp: true,
    relayPort: sink.port,
  });
  chrome = await launchBrowser();
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await createTeamWithAddresses(ann, server.url, "Support", [["help@example.com", "help_desk"]]);
  // Carla is a known contact, so the contact variables have values.
  await ann.goto(`${server.url}/contacts/new`);
  await ann.getByLabel("Email").fill("carla@example.com");
  await ann.getByLabel("First name").fill("Carla");
  await ann.getByRole("button", { name: "Create contact" }).click();
  await ann.getByRole("heading", { name: "Carla" }).waitFor();
  await ann.context().close();
});
after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (sink) await sink.stop();
});

/** Delivers a customer mail and opens its ticket; the ticket's id. */
async function openNewTicket(page, subject) {
  deliver(server.smtpPort, { from: "Carla <carla@example.com>", to: "help@example.com", subject, text: "Please help." });
  for (let i = 0; ; i++) {
    await page.goto(`${server.url}/helpdesk`);
    const link = page.getByRole("link", { name: subject }).first();
    if (await link.count()) {
      await link.click();
      break;
    }
    if (i > 100) throw new Error(`no ticket ${subject}`);
    await page.waitForTimeout(200);
  }
  await page.waitForURL(/\/helpdesk\/tickets\/\d+/);
  return Number(/\/helpdesk\/tickets\/(\d+)/.exec(page.url())[1]);
}

test("item 8: signatures are inserted once and a snippet's variables are filled for the ticket", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  // The agent's signature on the profile page; an unknown variable is refused there.
  await ann.goto(`${server.url}/profile`);
  await ann.getByLabel(/Your signature/).fill("Cheers, {{agent.nickname}}");
  await ann.getByRole("button", { name: "Save signature" }).click();
  await ann.getByRole("alert").getByText("unknown variable {{agent.nickname}}").waitFor();
  await ann.getByLabel(/Your signature/).fill("Cheers, {{agent.firstname}}");
  await ann.getByRole("button", { name: "Save signature" }).click();
  await ann.getByText("Your signature is saved.").waitFor();
  await shot(ann, "attach-01-profile-signature");

  // A snippet with variables; an unknown variable is refused when saved.
  await ann.goto(`${server.url}/settings/library`);
  await ann.getByLabel("Kind").selectOption("snippet");
  await ann.getByLabel("Title").fill("Broken");
  await ann.locator("#nl-body").fill("Hi {{contact.nickname}}");
  await ann.getByRole("button", { name: "Add" }).click();
  await ann.getByText("unknown variable {{contact.nickname}}").waitFor();
  await ann.goto(`${server.url}/settings/library`);
  await ann.getByLabel("Kind").selectOption("snippet");
  await ann.getByLabel("Title").fill("Greeting");
  await ann.locator("#nl-body").fill("Hi {{contact.firstname}}, about ticket {{ticket.id}} from {{company.name}}.");
  await ann.getByRole("button", { name: "Add" }).click();
  await ann.getByRole("heading", { name: /Greeting/ }).waitFor();
  await shot(ann, "attach-02-library-variables");

  // The editor of a new reply starts with the agent's signature, filled.
  const ticketId = await openNewTicket(ann, "Signature check");
  const rich = ann.locator("#rich-body");
  await rich.waitFor();
  assert.equal((await rich.innerText()).match(/Cheers, Ann/g)?.length, 1, await rich.innerText());
  // The snippet goes in with Carla's name and this ticket's id (no company: empty).
  await rich.click();
  await ann.keyboard.press("Control+Home");
  await ann.locator("[data-insert]").selectOption({ label: "Snippets: Greeting" });
  await rich.getByText(`Hi Carla, about ticket ${ticketId} from .`).waitFor();
  await shot(ann, "attach-03-editor-signature-snippet");
  // Saved as a draft and shown again: still one signature, the snippet kept.
  await ann.getByRole("button", { name: "Save draft" }).click();
  await ann.goto(`${server.url}/helpdesk/tickets/${ticketId}`);
  await rich.waitFor();
  const again = await rich.innerText();
  assert.equal(again.match(/Cheers, Ann/g)?.length, 1, again);
  assert.ok(again.includes(`Hi Carla, about ticket ${ticketId}`), again);

  // The team address's signature comes before the agent's, with its variables filled.
  await ann.goto(`${server.url}/settings/teams`);
  await ann.getByLabel("Signature of replies from help@example.com").fill("The Support team (ticket {{ticket.id}})");
  await ann.getByRole("button", { name: "Save signature" }).click();
  await ann.goto(`${server.url}/settings/teams`);
  assert.equal(await ann.getByLabel("Signature of replies from help@example.com").inputValue(), "The Support team (ticket {{ticket.id}})");
  await shot(ann, "attach-04-address-signature");
  const other = await openNewTicket(ann, "Address signature check");
  const text = await ann.locator("#rich-body").innerText();
  assert.ok(text.includes(`The Support team (ticket ${other})`), text);
  assert.ok(!text.includes("Cheers, Ann"), text);
  await ann.context().close();
});

test("item 7: a reply with files reaches the SMTP server as attachment parts with their names, types and bytes", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  const ticketId = await openNewTicket(ann, "Attachment check");
  // One file dropped on the editor (uploaded at once, shown as a chip) …
  await ann.locator("#rich-body").waitFor();
  await ann.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["line one\nline two\n"], "notes.txt", { type: "text/plain" }));
    document.getElementById("rich-body").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  const chips = ann.locator("#attachment-chips");
  await chips.getByRole("link", { name: "notes.txt" }).waitFor();
  // … one dropped and removed again …
  await ann.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["not this one"], "wrong.txt", { type: "text/plain" }));
    document.getElementById("rich-body").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await chips.getByRole("link", { name: "wrong.txt" }).waitFor();
  await ann.getByRole("button", { name: "Remove wrong.txt" }).click();
  assert.equal(await chips.getByRole("link", { name: "wrong.txt" }).count(), 0);
  // … and one picked with the file input (a non-ASCII name, every byte value).
  const pdf = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
  await ann.getByLabel("Attach files").setInputFiles({ name: "Résumé 2026.pdf", mimeType: "application/pdf", buffer: pdf });
  await shot(ann, "attach-05-editor-with-files");
  await ann.locator("#rich-body").click();
  await ann.keyboard.press("Control+Home");
  await ann.keyboard.type("Here are the files you asked for. ");
  await ann.locator("#send").click();
  // The thread shows the sent reply's files as downloads, like received ones.
  const out = ann.locator("#thread .item.outbound").last();
  await out.getByRole("link", { name: "notes.txt" }).waitFor();
  await out.getByRole("link", { name: "Résumé 2026.pdf" }).waitFor();
  await shot(ann, "attach-06-sent-with-files");
  const href = await out.getByRole("link", { name: "Résumé 2026.pdf" }).getAttribute("href");
  const dl = await ann.context().request.get(`${server.url}${href}`);
  assert.equal(dl.status(), 200);
  assert.deepEqual(Buffer.from(await dl.body()), pdf);

  // What the SMTP server received: multipart/mixed, the body, then both files.
  const raw = await captured("Here are the files you asked for.");
  const mime = mimeParts(raw);
  assert.equal(mime.type, "multipart/mixed");
  assert.ok(mime.parts.some((p) => p.multipart === "multipart/alternative"), JSON.stringify(mime));
  const files = mime.parts.filter((p) => p.disposition === "attachment");
  assert.deepEqual(files.map((f) => f.filename).sort(), ["Résumé 2026.pdf", "notes.txt"]);
  const p = files.find((f) => f.filename === "Résumé 2026.pdf");
  assert.equal(p.type, "application/pdf");
  assert.equal(p.cte, "base64");
  assert.deepEqual(Buffer.from(p.base64, "base64"), pdf);
  const t = files.find((f) => f.filename === "notes.txt");
  assert.equal(t.type, "text/plain");
  assert.equal(Buffer.from(t.base64, "base64").toString(), "line one\nline two\n");
  assert.ok(!raw.toString("latin1").includes("wrong.txt"), "a removed chip is not sent");
  assert.ok(raw.toString("latin1").includes(`[#${ticketId}]`));
  await ann.context().close();
});

test("item 7: a file over the account's limit is refused clearly and the reply is kept", async () => {
  const ann = await signIn(chrome.browser, server.url, "ann@example.com");
  await ann.goto(`${server.url}/settings/account`);
  await ann.getByLabel("Largest file, in MiB").fill("1");
  await ann.getByLabel("All files of one reply together, in MiB").fill("2");
  await ann.getByRole("button", { name: "Save" }).click();
  await ann.goto(`${server.url}/settings/account`);
  assert.equal(await ann.getByLabel("Largest file, in MiB").inputValue(), "1");
  await shot(ann, "attach-07-account-limits");

  await openNewTicket(ann, "Too big check");
  await ann.locator("#rich-body").waitFor();
  await ann.locator("#attach-help").getByText("Up to 1 MiB per file, 2 MiB per message.").waitFor();
  // Dropped: the upload is refused at once, with the reason, and nothing else changes.
  await ann.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(1536 * 1024)], "huge.bin", { type: "application/octet-stream" }));
    document.getElementById("rich-body").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await ann.locator("#attach-error").getByText("huge.bin is 1.5 MiB, over the limit of 1 MiB per file").waitFor();
  assert.equal(await ann.locator("#attachment-chips li").count(), 0);
  // Picked and sent: the send is refused on the page, the text stays, nothing is mailed.
  const before = sink.messages().length;
  await ann.locator("#rich-body").click();
  await ann.keyboard.press("Control+Home");
  await ann.keyboard.type("Keep this text please. ");
  await ann.getByLabel("Attach files").setInputFiles({ name: "big.pdf", mimeType: "application/pdf", buffer: Buffer.alloc(1100 * 1024, 7) });
  await ann.locator("#send").click();
  await ann.locator("#editor-error").getByText("big.pdf is 1.1 MiB, over the limit of 1 MiB per file").waitFor();
  assert.ok((await ann.locator("#rich-body").innerText()).includes("Keep this text please."));
  await shot(ann, "attach-08-refused-file");
  assert.equal(sink.messages().length, before);
  await ann.context().close();
});
