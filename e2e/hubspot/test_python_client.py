"""HUBSPOT-API.md §6 against a running Frontdesk, driven by HubSpot's official Python client
(hubspot-api-client 12.0.0) in strict mode: `client_side_validation=True` makes the client's
models check every response we send back.

`.ci/hubspot-acceptance` starts the server and sets FRONTDESK_BASE_URL, FRONTDESK_TOKEN (a
Super Admin's) and FRONTDESK_AGENT_TOKEN (a team-limited agent's).
"""

import json
import os
import urllib.error
import urllib.request
import re
import subprocess
import uuid

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.contacts import SimplePublicObjectInputForCreate as ContactInput
from hubspot.crm.pipelines import PipelineInput, PipelineStageInput
from hubspot.crm.tickets import (
    BatchReadInputSimplePublicObjectId,
    Filter,
    PublicMergeInput,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.tickets.exceptions import ApiException, NotFoundException, UnauthorizedException

BASE = os.environ["FRONTDESK_BASE_URL"]
TOKEN = os.environ["FRONTDESK_TOKEN"]
AGENT_TOKEN = os.environ["FRONTDESK_AGENT_TOKEN"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def client(token=TOKEN, base=BASE):
    return HubSpot(access_token=token, host=base, base_url=base, client_side_validation=True)


@pytest.fixture(scope="module")
def hs():
    return client()


@pytest.fixture(scope="module")
def stages(hs):
    pipes = hs.crm.pipelines.pipelines_api.get_all(object_type="tickets").results
    default = next(p for p in pipes if p.id == "0")
    open_stage = next(s for s in default.stages if s.metadata["ticketState"] == "OPEN")
    closed_stage = next(s for s in default.stages if s.metadata["ticketState"] == "CLOSED")
    return open_stage.id, closed_stage.id


def error_body(e):
    body = json.loads(e.body)
    assert body["status"] == "error"
    assert UUID_RE.match(body["correlationId"]), body
    return body


def search(hs, **kw):
    return hs.crm.tickets.search_api.do_search(public_object_search_request=PublicObjectSearchRequest(**kw))


def test_pipelines_exist_and_can_be_created(hs, stages):
    open_stage, closed_stage = stages
    assert open_stage != closed_stage
    label = f"Escalations {uuid.uuid4().hex[:6]}"
    created = hs.crm.pipelines.pipelines_api.create(
        object_type="tickets",
        pipeline_input=PipelineInput(
            label=label,
            display_order=1,
            stages=[
                PipelineStageInput(label="Escalated", display_order=0, metadata={"ticketState": "OPEN"}),
                PipelineStageInput(label="Resolved", display_order=1, metadata={"ticketState": "CLOSED"}),
            ],
        ),
    )
    assert created is not None, "create must answer 201"
    assert created.id.isdigit()
    again = hs.crm.pipelines.pipelines_api.get_by_id(object_type="tickets", pipeline_id=created.id)
    assert again.label == label
    assert [s.label for s in again.stages] == ["Escalated", "Resolved"]
    assert again.stages[1].metadata["ticketState"] == "CLOSED"


def test_ticket_lifecycle_association_and_archive(hs, stages):
    open_stage, closed_stage = stages
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    contact = hs.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=ContactInput(properties={"email": email, "firstname": "Ada"})
    )
    assert contact is not None and contact.properties["email"] == email
    subject = f"Printer on fire {uuid.uuid4().hex[:6]}"
    t = hs.crm.tickets.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={
                "subject": subject,
                "content": "Flames everywhere",
                "hs_pipeline": "0",
                "hs_pipeline_stage": open_stage,
                "hs_ticket_priority": "HIGH",
            }
        )
    )
    assert t is not None, "create must answer 201"
    assert t.id.isdigit()
    assert t.properties["subject"] == subject
    assert t.properties["createdate"]
    r = hs.crm.tickets.basic_api.get_by_id(
        ticket_id=t.id, properties=["subject", "hs_pipeline_stage", "closed_date"], archived=False
    )
    assert r.id == t.id
    assert r.properties["subject"] == subject
    assert r.properties["hs_pipeline_stage"] == open_stage
    assert r.properties.get("closed_date") is None

    u = hs.crm.tickets.basic_api.update(
        ticket_id=t.id, simple_public_object_input=SimplePublicObjectInput(properties={"hs_pipeline_stage": closed_stage})
    )
    assert u.properties["hs_pipeline_stage"] == closed_stage
    r = hs.crm.tickets.basic_api.get_by_id(ticket_id=t.id, properties=["closed_date"])
    assert r.properties["closed_date"], "entering a CLOSED stage sets closed_date"

    s = search(
        hs,
        filter_groups=[FilterGroup(filters=[Filter(property_name="hs_pipeline_stage", operator="EQ", value=closed_stage)])],
        properties=["subject"],
        limit=100,
    )
    assert s.total >= 1 and t.id in [x.id for x in s.results]
    word = subject.split()[-1]
    s2 = search(hs, query=word)
    assert [x.id for x in s2.results] == [t.id]
    s3 = search(
        hs,
        filter_groups=[FilterGroup(filters=[Filter(property_name="subject", operator="CONTAINS_TOKEN", value=f"*{word}")])],
        sorts=["-createdate"],
    )
    assert [x.id for x in s3.results] == [t.id]

    # Page through every ticket one at a time.
    seen, after = [], None
    while True:
        kw = {"limit": 1, "properties": ["subject"], "archived": False}
        if after:
            kw["after"] = after
        page = hs.crm.tickets.basic_api.get_page(**kw)
        seen.extend(x.id for x in page.results)
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
    assert t.id in seen and len(seen) == len(set(seen))

    a = hs.crm.associations.v4.basic_api.create(
        object_type="tickets",
        object_id=t.id,
        to_object_type="contacts",
        to_object_id=contact.id,
        association_spec=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=16)],
    )
    assert a is not None, "labelled association answers 201"
    assert str(a.from_object_id) == t.id and str(a.to_object_id) == contact.id
    listed = hs.crm.associations.v4.basic_api.get_page(object_type="tickets", object_id=t.id, to_object_type="contacts")
    assert [str(x.to_object_id) for x in listed.results] == [contact.id]
    assert 16 in [ty.type_id for ty in listed.results[0].association_types]
    g = hs.crm.tickets.basic_api.get_by_id(ticket_id=t.id, associations=["contacts"])
    assert [x.id for x in g.associations["contacts"].results] == [contact.id]
    back = hs.crm.associations.v4.basic_api.get_page(object_type="contacts", object_id=contact.id, to_object_type="tickets")
    assert [str(x.to_object_id) for x in back.results] == [t.id]
    assert 15 in [ty.type_id for ty in back.results[0].association_types]
    s4 = search(hs, filter_groups=[FilterGroup(filters=[Filter(property_name="associations.contact", operator="EQ", value=contact.id)])])
    assert [x.id for x in s4.results] == [t.id]
    hs.crm.associations.v4.basic_api.create_default(
        from_object_type="tickets", from_object_id=t.id, to_object_type="contacts", to_object_id=contact.id
    )

    batch = hs.crm.tickets.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=t.id), SimplePublicObjectId(id="999999999")],
            properties=["subject"],
            properties_with_history=[],
        )
    )
    assert [x.id for x in batch.results] == [t.id]
    assert batch.errors and batch.errors[0].category == "OBJECT_NOT_FOUND"

    hs.crm.tickets.basic_api.archive(ticket_id=t.id)
    with pytest.raises(NotFoundException) as e:
        hs.crm.tickets.basic_api.get_by_id(ticket_id=t.id)
    assert error_body(e.value)["category"] == "OBJECT_NOT_FOUND"
    archived = hs.crm.tickets.basic_api.get_by_id(ticket_id=t.id, archived=True)
    assert archived.archived is True
    assert t.id not in [x.id for x in search(hs, query=word).results]


def test_error_shapes(hs, stages):
    with pytest.raises(ApiException) as e:
        hs.crm.tickets.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties={"not_a_property": "x"})
        )
    assert e.value.status == 400
    body = error_body(e.value)
    assert body["category"] == "VALIDATION_ERROR"
    assert "not_a_property" in body["message"]
    with pytest.raises(ApiException) as e:
        hs.crm.tickets.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"subject": "x", "hs_pipeline": "0", "hs_pipeline_stage": "nope"}
            )
        )
    assert e.value.status == 400 and error_body(e.value)["category"] == "VALIDATION_ERROR"
    with pytest.raises(UnauthorizedException) as e:
        client(token="fdpat-wrong").crm.tickets.basic_api.get_page()
    assert error_body(e.value)["category"] == "INVALID_AUTHENTICATION"
    group = FilterGroup(filters=[Filter(property_name="subject", operator="HAS_PROPERTY")])
    with pytest.raises(ApiException) as e:
        search(hs, filter_groups=[group] * 6)
    assert e.value.status == 400 and error_body(e.value)["category"] == "VALIDATION_ERROR"


def test_owners_properties_and_team_scoping(hs, stages):
    owners = hs.crm.owners.owners_api.get_page(limit=100).results
    emails = [o.email for o in owners]
    assert "acceptance-admin@example.com" in emails and "acceptance-agent@example.com" in emails
    agent = next(o for o in owners if o.email == "acceptance-agent@example.com")
    assert [t.name for t in agent.teams] == ["Acceptance"]
    props = hs.crm.properties.core_api.get_all(object_type="tickets").results
    prio = next(p for p in props if p.name == "hs_ticket_priority")
    assert [o.value for o in prio.options][:3] == ["LOW", "MEDIUM", "HIGH"]
    # HD-09: the agent's token sees only the team's tickets.
    open_stage, _ = stages
    team_id = agent.teams[0].id
    mine = hs.crm.tickets.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"subject": "Team ticket", "hs_pipeline_stage": open_stage, "hubspot_team_id": team_id}
        )
    )
    other = hs.crm.tickets.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"subject": "Not the team's", "hs_pipeline_stage": open_stage}
        )
    )
    agent_hs = client(token=AGENT_TOKEN)
    seen = [x.id for x in agent_hs.crm.tickets.get_all(properties=["subject"])]
    assert mine.id in seen and other.id not in seen
    with pytest.raises(NotFoundException):
        agent_hs.crm.tickets.basic_api.get_by_id(ticket_id=other.id)


def api(hs, method, path, **kw):
    opts = {"method": method, "path": path}
    opts.update(kw)
    return hs.api_request(opts)


def test_conversations_through_api_request(hs):
    conv = "/conversations/v3/conversations"
    r = api(hs, "GET", f"{conv}/inboxes")
    assert r.status_code == 200
    assert {i["type"] for i in r.json()["results"]} == {"INBOX", "HELP_DESK"}
    # Only channels something is connected to are listed (issue 14): the team's email
    # address (HubSpot's channel 1002); no chat channel exists here, so no live chat (1000).
    r = api(hs, "GET", f"{conv}/channels")
    channels = [c["id"] for c in r.json()["results"]]
    assert "1002" in channels and "1000" not in channels
    me = next(o for o in hs.crm.owners.owners_api.get_page(limit=100).results if o.email == "acceptance-admin@example.com")
    r = api(hs, "GET", f"{conv}/actors/A-{me.user_id}")
    assert r.status_code == 200 and r.json()["email"] == "acceptance-admin@example.com"

    thread_id = os.environ.get("FRONTDESK_THREAD_ID")
    r = api(hs, "GET", f"{conv}/threads", qs={"association": "TICKET", "limit": 100})
    assert r.status_code == 200
    threads = r.json()["results"]
    for t in threads:
        assert t["id"] and t["inboxId"] and t["status"] in ("OPEN", "CLOSED")
    if not thread_id:
        pytest.skip("no thread was delivered (frontdesk mailgate unavailable); thread flows not run")
    thread = next(t for t in threads if t["id"] == thread_id)
    ticket_id = thread["threadAssociations"]["associatedTicketId"]
    ticket = hs.crm.tickets.basic_api.get_by_id(ticket_id=ticket_id, properties=["subject"])
    assert ticket.id == ticket_id

    # INB-12: closing the thread leaves the ticket open; reopening works.
    r = api(hs, "PATCH", f"{conv}/threads/{thread_id}", body={"status": "CLOSED"})
    assert r.status_code == 200 and r.json()["status"] == "CLOSED"
    stage = hs.crm.tickets.basic_api.get_by_id(ticket_id=ticket_id, properties=["hs_pipeline_stage", "closed_date"])
    assert stage.properties.get("closed_date") is None
    r = api(hs, "PATCH", f"{conv}/threads/{thread_id}", body={"status": "OPEN"})
    assert r.json()["status"] == "OPEN"

    # A COMMENT and the message list.
    r = api(hs, "POST", f"{conv}/threads/{thread_id}/messages", body={"type": "COMMENT", "text": "Looking into it"})
    assert r.status_code == 201 and r.json()["type"] == "COMMENT"
    r = api(hs, "GET", f"{conv}/threads/{thread_id}/messages", qs={"sort": "createdAt"})
    kinds = [m["type"] for m in r.json()["results"]]
    assert kinds[0] == "MESSAGE" and kinds[-1] == "COMMENT"
    assert r.json()["results"][0]["direction"] == "INCOMING"

    # INB-04: the ticket–thread association cannot be removed.
    r = api(hs, "DELETE", f"/crm/v4/objects/tickets/{ticket_id}/associations/threads/{thread_id}")
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"

    # INB-13: trashing the thread trashes its ticket; restoring brings both back.
    r = api(hs, "DELETE", f"{conv}/threads/{thread_id}")
    assert r.status_code == 204
    with pytest.raises(NotFoundException):
        hs.crm.tickets.basic_api.get_by_id(ticket_id=ticket_id)
    r = api(hs, "PATCH", f"{conv}/threads/{thread_id}", body={"archived": False})
    assert r.status_code == 200 and r.json()["archived"] is False
    assert hs.crm.tickets.basic_api.get_by_id(ticket_id=ticket_id).id == ticket_id

    # INB-10: moving the ticket to a CLOSED stage closes the thread.
    hs.crm.tickets.basic_api.update(
        ticket_id=ticket_id, simple_public_object_input=SimplePublicObjectInput(properties={"hs_pipeline_stage": "4"})
    )
    r = api(hs, "GET", f"{conv}/threads/{thread_id}", qs={"association": "TICKET"})
    assert r.json()["status"] == "CLOSED"
    assert r.json()["threadAssociations"]["associatedTicketId"] == ticket_id


def test_users_object_availability(hs):
    """HUBSPOT-API-2.md §8: availability is the users object's `hs_availability_status`, which
    Python reaches only through the generic objects API."""
    from hubspot.crm.objects import SimplePublicObjectInput as ObjectInput
    from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException

    props = ["hs_email", "hs_availability_status", "hs_working_hours", "hubspot_owner_id"]
    users = hs.crm.objects.basic_api.get_page("users", limit=100, properties=props).results
    agent = next(u for u in users if u.properties["hs_email"] == "acceptance-agent@example.com")
    owners = hs.crm.owners.owners_api.get_page(limit=100).results
    owner = next(o for o in owners if o.email == "acceptance-agent@example.com")
    assert agent.properties["hubspot_owner_id"] == owner.id

    hours = json.dumps([{"days": "MONDAY_TO_FRIDAY", "startMinute": 540, "endMinute": 1020}], separators=(",", ":"))
    for status in ["available", "away"]:
        updated = hs.crm.objects.basic_api.update(
            "users",
            agent.id,
            ObjectInput(properties={"hs_availability_status": status, "hs_working_hours": hours}),
        )
        assert updated.properties["hs_availability_status"] == status
        again = hs.crm.objects.basic_api.get_by_id("0-115", agent.id, properties=props)
        assert again.properties["hs_availability_status"] == status
        assert json.loads(again.properties["hs_working_hours"])[0]["startMinute"] == 540

    with pytest.raises(ObjectsApiException) as bad:
        hs.crm.objects.basic_api.update("users", agent.id, ObjectInput(properties={"hs_availability_status": "busy"}))
    assert bad.value.status == 400 and error_body(bad.value)["category"] == "VALIDATION_ERROR"
    # An agent's own token may not change another user.
    me = next(u for u in users if u.properties["hs_email"] == "acceptance-admin@example.com")
    with pytest.raises(ObjectsApiException) as forbidden:
        client(token=AGENT_TOKEN).crm.objects.basic_api.update(
            "users", me.id, ObjectInput(properties={"hs_availability_status": "away"})
        )
    assert forbidden.value.status == 403


def frontdesk_post(path, body, token=TOKEN):
    """A Frontdesk endpoint the HubSpot client does not know (/frontdesk/v1/...)."""
    req = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_ticket_merge_with_the_client_and_unmerge(hs, stages):
    """HUBSPOT-API-2.md §2: `basic_api.merge(public_merge_input=...)` answers the survivor (the
    primary's id and values, the older create date, hs_merged_object_ids); the merged id reads
    as the survivor. Frontdesk's unmerge (issue 15) then gives both tickets back."""
    open_stage, _ = stages
    tag = uuid.uuid4().hex[:6]
    made = []
    for subject, priority in [(f"Toner empty {tag}", "LOW"), (f"Printer says no {tag}", "HIGH")]:
        made.append(
            hs.crm.tickets.basic_api.create(
                simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                    properties={
                        "subject": subject,
                        "hs_pipeline": "0",
                        "hs_pipeline_stage": open_stage,
                        "hs_ticket_priority": priority,
                    }
                )
            )
        )
    old, primary = made
    s = hs.crm.tickets.basic_api.merge(
        public_merge_input=PublicMergeInput(primary_object_id=primary.id, object_id_to_merge=old.id)
    )
    assert s.id == primary.id
    assert s.properties["subject"] == f"Printer says no {tag}"
    assert s.properties["hs_ticket_priority"] == "HIGH"
    assert s.properties["hs_merged_object_ids"] == old.id
    r = hs.crm.tickets.basic_api.get_by_id(ticket_id=old.id, properties=["subject"])
    assert r.id == primary.id, "the merged id reads as the survivor"
    with pytest.raises(NotFoundException):
        hs.crm.tickets.basic_api.merge(
            public_merge_input=PublicMergeInput(primary_object_id=primary.id, object_id_to_merge=old.id)
        )

    status, body = frontdesk_post(f"/frontdesk/v1/tickets/{primary.id}/unmerge", {"mergedObjectId": old.id})
    assert status == 200, body
    assert body["restored"]["id"] == old.id
    assert body["survivor"]["properties"]["hs_merged_object_ids"] is None
    r = hs.crm.tickets.basic_api.get_by_id(ticket_id=old.id, properties=["subject", "hs_ticket_priority"])
    assert r.id == old.id
    assert r.properties["subject"] == f"Toner empty {tag}"
    assert r.properties["hs_ticket_priority"] == "LOW"
    status, body = frontdesk_post(f"/frontdesk/v1/tickets/{primary.id}/unmerge", {"mergedObjectId": old.id})
    assert status == 400 and "was not merged" in body["message"], body


@pytest.mark.skipif("FRONTDESK_APP_ID" not in os.environ, reason="no developer app (frontdesk admin create-app)")
def test_webhooks_managed_with_the_developer_key_and_a_delivery_checked_by_hubspots_helper(hs, stages):
    """HUBSPOT-API-2.md §5: the webhooks v3 API through the client's own webhooks classes with
    the developer key (`api_key` goes out as `?hapikey=`), then a real delivery to a local
    HTTP server, verified with `hubspot.utils.signature.Signature.is_valid` (v3 and v1)."""
    import http.server
    import queue
    import threading

    from hubspot.utils.signature import Signature
    from hubspot.webhooks import (
        BatchInputSubscriptionBatchUpdateRequest,
        SettingsChangeRequest,
        SubscriptionBatchUpdateRequest,
        SubscriptionCreateRequest,
        SubscriptionPatchRequest,
        ThrottlingSettings,
    )
    from hubspot.webhooks.exceptions import ApiException as WebhooksApiException

    app_id = int(os.environ["FRONTDESK_APP_ID"])
    secret = os.environ["FRONTDESK_CLIENT_SECRET"]
    dev = HubSpot(api_key=os.environ["FRONTDESK_DEV_KEY"], host=BASE, base_url=BASE,
                  client_side_validation=True)

    received = queue.Queue()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put((self.path, dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{server.server_address[1]}/hubspot/events?source=acceptance"
    try:
        settings = dev.webhooks.settings_api.configure(
            app_id,
            SettingsChangeRequest(target_url=target, throttling=ThrottlingSettings(max_concurrent_requests=5)),
        )
        assert settings.target_url == target
        assert dev.webhooks.settings_api.get_all(app_id).throttling.max_concurrent_requests == 5

        stage_sub = dev.webhooks.subscriptions_api.create(
            app_id,
            SubscriptionCreateRequest(event_type="ticket.propertyChange", property_name="hs_pipeline_stage", active=True),
        )
        assert isinstance(stage_sub.id, str) and stage_sub.property_name == "hs_pipeline_stage"
        created_sub = dev.webhooks.subscriptions_api.create(
            app_id, SubscriptionCreateRequest(event_type="ticket.creation", active=False)
        )
        assert created_sub.active is False
        patched = dev.webhooks.subscriptions_api.update(
            int(stage_sub.id), app_id, SubscriptionPatchRequest(active=False)
        )
        assert patched.active is False
        batch = dev.webhooks.subscriptions_api.update_batch(
            app_id,
            BatchInputSubscriptionBatchUpdateRequest(inputs=[
                SubscriptionBatchUpdateRequest(id=int(stage_sub.id), active=True),
                SubscriptionBatchUpdateRequest(id=int(created_sub.id), active=True),
            ]),
        )
        assert batch.status == "COMPLETE" and all(s.active for s in batch.results)
        listed = dev.webhooks.subscriptions_api.get_all(app_id).results
        assert {s.id for s in listed} >= {stage_sub.id, created_sub.id}
        assert dev.webhooks.subscriptions_api.get_by_id(int(created_sub.id), app_id).event_type == "ticket.creation"
        with pytest.raises(WebhooksApiException) as e:
            dev.webhooks.subscriptions_api.create(app_id, SubscriptionCreateRequest(event_type="ticket.propertyChange"))
        assert e.value.status == 400
        stranger = HubSpot(api_key="not-a-key", host=BASE, base_url=BASE)
        with pytest.raises(WebhooksApiException) as e:
            stranger.webhooks.subscriptions_api.get_all(app_id)
        assert e.value.status == 401

        open_stage, closed_stage = stages
        ticket = hs.crm.tickets.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"subject": "Webhook acceptance", "hs_pipeline_stage": open_stage}
            )
        )
        hs.crm.tickets.basic_api.update(
            ticket_id=ticket.id,
            simple_public_object_input=SimplePublicObjectInput(properties={"hs_pipeline_stage": closed_stage}),
        )
        events = []
        while not any(e["subscriptionType"] == "ticket.propertyChange" for e in events) or not any(
            e["subscriptionType"] == "ticket.creation" for e in events
        ):
            path, headers, body = received.get(timeout=30)
            assert path == "/hubspot/events?source=acceptance"
            headers = {k.lower(): v for k, v in headers.items()}
            text = body.decode("utf-8")
            assert Signature.is_valid(
                signature=headers["x-hubspot-signature-v3"],
                client_secret=secret,
                request_body=text,
                http_uri=target,
                http_method="POST",
                signature_version="v3",
                timestamp=headers["x-hubspot-request-timestamp"],
            )
            assert headers["x-hubspot-signature-version"] == "v1"
            assert Signature.is_valid(
                signature=headers["x-hubspot-signature"],
                client_secret=secret,
                request_body=text,
                signature_version="v1",
            )
            assert not Signature.is_valid(
                signature=headers["x-hubspot-signature-v3"],
                client_secret="another-secret",
                request_body=text,
                http_uri=target,
                signature_version="v3",
                timestamp=headers["x-hubspot-request-timestamp"],
            )
            events.extend(json.loads(text))
        mine = [e for e in events if str(e["objectId"]) == ticket.id]
        creation = next(e for e in mine if e["subscriptionType"] == "ticket.creation")
        change = next(e for e in mine if e["subscriptionType"] == "ticket.propertyChange")
        assert change["propertyName"] == "hs_pipeline_stage" and change["propertyValue"] == closed_stage
        for e in (creation, change):
            assert e["appId"] == app_id and e["attemptNumber"] == 0
            assert isinstance(e["eventId"], int) and isinstance(e["portalId"], int)

        dev.webhooks.subscriptions_api.archive(int(stage_sub.id), app_id)
        dev.webhooks.subscriptions_api.archive(int(created_sub.id), app_id)
        dev.webhooks.settings_api.clear(app_id)
    finally:
        server.shutdown()
