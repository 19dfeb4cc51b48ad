// The core flows with HubSpot's official Node client (@hubspot/api-client 14): it throws on
// any success code other than the one each operation declares (201 for creates, 204 for
// deletes…), so every call below also checks Frontdesk's status codes.
//
// `.ci/hubspot-acceptance` sets FRONTDESK_BASE_URL and FRONTDESK_TOKEN.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Client } from "@hubspot/api-client";

const basePath = process.env.FRONTDESK_BASE_URL;
const hs = new Client({ accessToken: process.env.FRONTDESK_TOKEN, basePath });

async function stages() {
  const pipes = await hs.crm.pipelines.pipelinesApi.getAll("tickets");
  const p = pipes.results.find((x) => x.id === "0");
  return {
    open: p.stages.find((s) => s.metadata.ticketState === "OPEN").id,
    closed: p.stages.find((s) => s.metadata.ticketState === "CLOSED").id,
  };
}

test("ticket create (201), read, update, search, page, archive (204)", async () => {
  const { open, closed } = await stages();
  const word = `node${randomUUID().slice(0, 8)}`;
  const t = await hs.crm.tickets.basicApi.create({
    properties: { subject: `Scanner jam ${word}`, hs_pipeline: "0", hs_pipeline_stage: open, hs_ticket_priority: "LOW" },
    associations: [],
  });
  assert.match(t.id, /^\d+$/);
  assert.equal(t.properties.subject, `Scanner jam ${word}`);
  const r = await hs.crm.tickets.basicApi.getById(t.id, ["subject", "hs_pipeline_stage"], undefined, ["contacts"], false);
  assert.equal(r.properties.hs_pipeline_stage, open);
  const u = await hs.crm.tickets.basicApi.update(t.id, { properties: { hs_pipeline_stage: closed } });
  assert.equal(u.properties.hs_pipeline_stage, closed);
  const s = await hs.crm.tickets.searchApi.doSearch({
    query: word,
    filterGroups: [{ filters: [{ propertyName: "hs_pipeline_stage", operator: "EQ", value: closed }] }],
    sorts: ["-createdate"],
    properties: ["subject", "closed_date"],
    limit: 10,
    after: "0",
  });
  assert.equal(s.total, 1);
  assert.equal(s.results[0].id, t.id);
  assert.ok(s.results[0].properties.closed_date);
  const page = await hs.crm.tickets.basicApi.getPage(2, undefined, ["subject", "hs_pipeline_stage"], undefined, ["contacts", "companies"], false);
  assert.ok(page.results.length >= 1);
  await hs.crm.tickets.basicApi.archive(t.id);
  await assert.rejects(hs.crm.tickets.basicApi.getById(t.id), (e) => {
    assert.equal(e.code, 404);
    assert.equal(e.body.category, "OBJECT_NOT_FOUND");
    return true;
  });
});

test("contacts, v4 associations (201 labelled, 200 default, 204 delete), batch read (207)", async () => {
  const { open } = await stages();
  const email = `node-${randomUUID().slice(0, 8)}@example.com`;
  const c = await hs.crm.contacts.basicApi.create({ properties: { email, firstname: "Node" }, associations: [] });
  const t = await hs.crm.tickets.basicApi.create({
    properties: { subject: "Association test", hs_pipeline_stage: open },
    associations: [{ to: { id: c.id }, types: [{ associationCategory: "HUBSPOT_DEFINED", associationTypeId: 16 }] }],
  });
  const listed = await hs.crm.associations.v4.basicApi.getPage("tickets", t.id, "contacts");
  assert.deepEqual(listed.results.map((x) => String(x.toObjectId)), [c.id]);
  await hs.crm.associations.v4.basicApi.archive("tickets", t.id, "contacts", c.id);
  const empty = await hs.crm.associations.v4.basicApi.getPage("tickets", t.id, "contacts");
  assert.equal(empty.results.length, 0);
  const labelled = await hs.crm.associations.v4.basicApi.create("tickets", t.id, "contacts", c.id, [
    { associationCategory: "HUBSPOT_DEFINED", associationTypeId: 16 },
  ]);
  assert.equal(String(labelled.toObjectId), c.id);
  await hs.crm.associations.v4.basicApi.createDefault("contacts", c.id, "tickets", t.id);
  const back = await hs.crm.associations.v4.basicApi.getPage("contacts", c.id, "tickets");
  assert.deepEqual(back.results.map((x) => String(x.toObjectId)), [t.id]);
  const batch = await hs.crm.tickets.batchApi.read({ inputs: [{ id: t.id }, { id: "999999999" }], properties: ["subject"], propertiesWithHistory: [] });
  assert.deepEqual(batch.results.map((x) => x.id), [t.id]);
  assert.equal(batch.errors[0].category, "OBJECT_NOT_FOUND");
});

test("pipelines (201/204), properties (201/204), owners without trailing slash", async () => {
  const label = `Node pipeline ${randomUUID().slice(0, 6)}`;
  const p = await hs.crm.pipelines.pipelinesApi.create("tickets", {
    label,
    displayOrder: 3,
    stages: [{ label: "Open", displayOrder: 0, metadata: { ticketState: "OPEN" } }, { label: "Done", displayOrder: 1, metadata: { ticketState: "CLOSED" } }],
  });
  assert.equal(p.label, label);
  const stage = await hs.crm.pipelines.pipelineStagesApi.create("tickets", p.id, { label: "Later", displayOrder: 2, metadata: { ticketState: "OPEN" } });
  assert.equal(stage.label, "Later");
  await hs.crm.pipelines.pipelineStagesApi.archive("tickets", p.id, stage.id);
  await hs.crm.pipelines.pipelinesApi.archive("tickets", p.id);
  const name = `node_${randomUUID().slice(0, 6)}`;
  const prop = await hs.crm.properties.coreApi.create("tickets", {
    name, label: "Node property", type: "string", fieldType: "text", groupName: "ticketinformation",
  });
  assert.equal(prop.name, name);
  await hs.crm.properties.coreApi.archive("tickets", name);
  const owners = await hs.crm.owners.ownersApi.getPage(undefined, undefined, 100, false);
  assert.ok(owners.results.some((o) => o.email === "acceptance-admin@example.com"));
});

test("conversations through apiRequest", async () => {
  const res = await hs.apiRequest({ method: "GET", path: "/conversations/v3/conversations/threads", qs: { threadStatus: "OPEN" } });
  assert.equal(res.status, 200);
  const body = await res.json();
  for (const t of body.results) {
    assert.match(t.id, /^\d+$/);
    assert.equal(t.status, "OPEN");
  }
  const inboxes = await (await hs.apiRequest({ method: "GET", path: "/conversations/v3/conversations/inboxes" })).json();
  assert.equal(inboxes.total, 2);
});

test("errors come back in HubSpot's shape", async () => {
  await assert.rejects(
    hs.crm.tickets.basicApi.create({ properties: { not_a_property: "x" }, associations: [] }),
    (e) => {
      assert.equal(e.code, 400);
      assert.equal(e.body.category, "VALIDATION_ERROR");
      assert.match(e.body.message, /not_a_property/);
      assert.match(e.body.correlationId, /^[0-9a-f-]{36}$/);
      return true;
    },
  );
  const bad = new Client({ accessToken: "fdpat-wrong", basePath });
  await assert.rejects(bad.crm.tickets.basicApi.getPage(), (e) => e.code === 401 && e.body.category === "INVALID_AUTHENTICATION");
});
