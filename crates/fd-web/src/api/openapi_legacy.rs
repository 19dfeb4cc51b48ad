//! The part of `/openapi.json` still written out by hand (OpenAPI 3.0): the operations of the
//! route files whose responses are not yet typed. `openapi.rs` merges it with the document
//! derived from the typed handlers; each file moves from here to there whole.

use serde_json::{Map, Value, json};

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn s() -> Value {
    json!({"type": "string"})
}

fn nullable_s() -> Value {
    json!({"type": "string", "nullable": true})
}

fn int() -> Value {
    json!({"type": "integer", "format": "int64"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn obj(required: &[&str], props: &[(&str, Value)]) -> Value {
    let mut p = Map::new();
    for (k, v) in props {
        p.insert((*k).to_string(), v.clone());
    }
    let mut o = json!({"type": "object", "properties": p});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn map_of(values: Value) -> Value {
    json!({"type": "object", "additionalProperties": values})
}

fn path_param(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "required": true, "schema": schema})
}

fn query(name: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema})
}

/// Repeated or comma-separated list parameter.
fn query_list(name: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "style": "form", "explode": true,
           "schema": {"type": "array", "items": {"type": "string"}}})
}

fn id() -> Value {
    json!({"type": "string", "pattern": "^[0-9]{1,12}$"})
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

struct Op {
    method: &'static str,
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    params: Vec<Value>,
    body: Option<Value>,
    /// (status, schema) — `None` for an empty 204.
    ok: Vec<(&'static str, Option<Value>)>,
    /// OpenAPI links of the first success response: (operationId, parameters). They say
    /// where a created record's id goes next, so a stateful client (schemathesis's stateful
    /// phase) can read, change and delete what it created instead of guessing ids.
    links: Vec<(&'static str, Value)>,
}

fn op(method: &'static str, id: &'static str, tag: &'static str, summary: &'static str) -> Op {
    Op {
        method,
        id,
        tag,
        summary,
        params: Vec::new(),
        body: None,
        ok: Vec::new(),
        links: Vec::new(),
    }
}

impl Op {
    fn params(mut self, p: Vec<Value>) -> Self {
        self.params = p;
        self
    }
    fn body(mut self, schema: Value) -> Self {
        self.body = Some(json_body(schema));
        self
    }
    fn ok(mut self, status: &'static str, schema: Value) -> Self {
        self.ok.push((status, Some(schema)));
        self
    }
    fn empty(mut self) -> Self {
        self.ok.push(("204", None));
        self
    }
    fn render(&self) -> Value {
        let mut responses = Map::new();
        for (i, (status, schema)) in self.ok.iter().enumerate() {
            let mut v = match schema {
                Some(sc) => json!({"description": "success",
                    "content": {"application/json": {"schema": sc}}}),
                None => json!({"description": "no content"}),
            };
            if i == 0 && !self.links.is_empty() {
                let mut links = Map::new();
                for (target, params) in &self.links {
                    links.insert(
                        (*target).to_string(),
                        json!({"operationId": target, "parameters": params}),
                    );
                }
                v["links"] = Value::Object(links);
            }
            responses.insert((*status).to_string(), v);
        }
        responses.insert(
            "default".into(),
            json!({"description": "an error in HubSpot's shape",
                   "content": {"application/json": {"schema": r("Error")}}}),
        );
        let mut o = json!({
            "operationId": self.id,
            "tags": [self.tag],
            "summary": self.summary,
            "parameters": self.params,
            "responses": responses,
        });
        if let Some(b) = &self.body {
            o["requestBody"] = b.clone();
        }
        o
    }
}

fn schemas() -> Value {
    let object = obj(
        &["id", "properties", "createdAt", "updatedAt"],
        &[
            ("id", s()),
            ("properties", map_of(nullable_s())),
            ("createdAt", time()),
            ("updatedAt", time()),
            ("archived", boolean()),
            ("archivedAt", time()),
        ],
    );
    let mut with_assoc = object.clone();
    with_assoc["properties"]["associations"] = map_of(obj(
        &["results"],
        &[(
            "results",
            array(obj(&["id", "type"], &[("id", s()), ("type", s())])),
        )],
    ));
    let paging = obj(
        &[],
        &[("next", obj(&["after"], &[("after", s()), ("link", s())]))],
    );
    let spec = obj(
        &[],
        &[
            (
                "associationCategory",
                json!({"type": "string", "enum": ["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED"]}),
            ),
            (
                "associationTypeId",
                json!({"type": "integer", "format": "int32"}),
            ),
        ],
    );
    let stage = obj(
        &[
            "id",
            "label",
            "displayOrder",
            "archived",
            "createdAt",
            "updatedAt",
        ],
        &[
            ("id", s()),
            ("label", s()),
            ("displayOrder", int()),
            ("metadata", map_of(s())),
            ("archived", boolean()),
            ("archivedAt", time()),
            ("createdAt", time()),
            ("updatedAt", time()),
            (
                "writePermissions",
                json!({"type": "string", "enum": ["CRM_PERMISSIONS_ENFORCEMENT", "READ_ONLY", "INTERNAL_ONLY"]}),
            ),
        ],
    );
    let stage_input = obj(
        &["label", "displayOrder"],
        &[
            ("label", s()),
            ("displayOrder", int()),
            ("metadata", map_of(s())),
        ],
    );
    let option = obj(
        &["label", "value", "hidden"],
        &[
            ("label", s()),
            ("value", s()),
            ("displayOrder", int()),
            ("hidden", boolean()),
            ("description", s()),
        ],
    );
    let property_types = json!({"type": "string", "enum": ["string", "number", "date", "datetime", "enumeration", "bool"]});
    let field_types = json!({"type": "string", "enum": ["textarea", "text", "date", "file", "number", "select", "radio", "checkbox", "booleancheckbox", "calculation_equation", "html", "phonenumber"]});
    let sender = obj(
        &[],
        &[
            ("actorId", s()),
            ("name", s()),
            ("senderField", s()),
            (
                "deliveryIdentifier",
                obj(&["type", "value"], &[("type", s()), ("value", s())]),
            ),
        ],
    );
    let recipient = obj(
        &[],
        &[
            ("actorId", s()),
            ("name", s()),
            ("recipientField", s()),
            (
                "deliveryIdentifier",
                obj(&["type", "value"], &[("type", s()), ("value", s())]),
            ),
        ],
    );
    json!({
        "Error": obj(&["status", "message", "correlationId", "category"], &[
            ("status", s()), ("message", s()), ("correlationId", s()), ("category", s()),
            ("subCategory", s()), ("context", json!({"type": "object"})),
            ("links", map_of(s())),
            ("errors", array(obj(&["message"], &[("message", s()), ("in", s()), ("code", s()),
                ("subCategory", s()), ("context", json!({"type": "object"}))]))),
        ]),
        "StandardError": obj(&["status", "category", "message", "context", "errors", "links"], &[
            ("status", s()), ("category", s()), ("message", s()), ("subCategory", s()),
            ("id", s()), ("context", json!({"type": "object"})),
            ("errors", array(json!({"type": "object"}))), ("links", map_of(s())),
        ]),
        "SimplePublicObject": object,
        "SimplePublicObjectWithAssociations": with_assoc,
        "Paging": paging,
        "ObjectPage": obj(&["results"], &[
            ("results", array(r("SimplePublicObjectWithAssociations"))), ("paging", r("Paging")),
        ]),
        "AssociationSpec": spec,
        "ObjectInputForCreate": obj(&["properties"], &[
            ("properties", map_of(nullable_s())),
            ("associations", array(obj(&["to", "types"], &[
                ("to", obj(&["id"], &[("id", s())])),
                ("types", array(r("AssociationSpec"))),
            ]))),
            ("objectWriteTraceId", s()),
        ]),
        "ObjectInput": obj(&["properties"], &[("properties", map_of(nullable_s()))]),
        "BatchObjects": obj(&["status", "results", "startedAt", "completedAt"], &[
            ("status", json!({"type": "string", "enum": ["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]})),
            ("results", array(r("SimplePublicObject"))),
            ("startedAt", time()), ("completedAt", time()), ("requestedAt", time()),
            ("numErrors", int()), ("errors", array(r("StandardError"))),
            ("links", map_of(s())),
        ]),
        "Batch": obj(&["status", "results", "startedAt", "completedAt"], &[
            ("status", json!({"type": "string", "enum": ["PENDING", "PROCESSING", "CANCELED", "COMPLETE"]})),
            ("results", array(json!({"type": "object"}))),
            ("startedAt", time()), ("completedAt", time()),
            ("numErrors", int()), ("errors", array(r("StandardError"))),
        ]),
        "Filter": obj(&["propertyName", "operator"], &[
            ("propertyName", s()),
            ("operator", json!({"type": "string", "enum": ["EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"]})),
            ("value", s()), ("highValue", s()), ("values", array(s())),
        ]),
        "SearchRequest": obj(&[], &[
            ("query", s()),
            ("limit", json!({"type": "integer", "minimum": 0, "maximum": 200})),
            ("after", s()),
            ("sorts", json!({"type": "array", "description": "at most one sort", "items": {"oneOf": [
                {"type": "string"},
                {"type": "object", "required": ["propertyName"], "properties": {
                    "propertyName": {"type": "string"},
                    "direction": {"type": "string", "enum": ["ASCENDING", "DESCENDING"]}}}
            ]}})),
            ("properties", array(s())),
            ("filterGroups", json!({"type": "array", "description": "at most 5 groups of at most 6 filters, 18 filters in all", "items": {"type": "object",
                "required": ["filters"], "properties": {"filters": {"type": "array",
                "items": {"$ref": "#/components/schemas/Filter"}}}}})),
        ]),
        "SearchResponse": obj(&["total", "results"], &[
            ("total", int()), ("results", array(r("SimplePublicObject"))), ("paging", r("Paging")),
        ]),
        "PipelineStage": stage,
        "PipelineStageInput": stage_input,
        "Pipeline": obj(&["id", "label", "displayOrder", "stages", "archived", "createdAt", "updatedAt"], &[
            ("id", s()), ("label", s()), ("displayOrder", int()),
            ("stages", array(r("PipelineStage"))), ("archived", boolean()),
            ("archivedAt", time()), ("createdAt", time()), ("updatedAt", time()),
        ]),
        "PipelineInput": obj(&["label", "displayOrder", "stages"], &[
            ("label", s()), ("displayOrder", int()), ("stages", array(r("PipelineStageInput"))),
        ]),
        "PipelinePatch": obj(&[], &[("label", s()), ("displayOrder", int()), ("archived", boolean())]),
        "PipelineStagePatch": obj(&[], &[
            ("label", s()), ("displayOrder", int()), ("archived", boolean()), ("metadata", map_of(s())),
        ]),
        "Pipelines": obj(&["results"], &[("results", array(r("Pipeline")))]),
        "PipelineStages": obj(&["results"], &[("results", array(r("PipelineStage")))]),
        "Option": option.clone(),
        "Property": obj(&["name", "label", "type", "fieldType", "groupName", "description", "options"], &[
            ("name", s()), ("label", s()), ("type", s()), ("fieldType", s()), ("groupName", s()),
            ("description", s()), ("displayOrder", int()), ("hidden", boolean()),
            ("hasUniqueValue", boolean()), ("formField", boolean()), ("hubspotDefined", boolean()),
            ("calculated", boolean()), ("externalOptions", boolean()), ("archived", boolean()),
            ("modificationMetadata", obj(&["archivable", "readOnlyDefinition", "readOnlyValue"], &[
                ("archivable", boolean()), ("readOnlyDefinition", boolean()),
                ("readOnlyValue", boolean()), ("readOnlyOptions", boolean()),
            ])),
            ("options", array(r("Option"))),
        ]),
        "PropertyCreate": obj(&["name", "label", "type", "fieldType", "groupName"], &[
            ("name", s()), ("label", s()), ("type", property_types.clone()),
            ("fieldType", field_types.clone()), ("groupName", s()), ("description", s()),
            ("options", array(option.clone())), ("displayOrder", int()), ("hidden", boolean()),
            ("hasUniqueValue", boolean()), ("formField", boolean()),
        ]),
        "PropertyUpdate": obj(&[], &[
            ("label", s()), ("type", property_types), ("fieldType", field_types),
            ("groupName", s()), ("description", s()), ("options", array(option)),
            ("displayOrder", int()), ("hidden", boolean()), ("formField", boolean()),
        ]),
        "Properties": obj(&["results"], &[("results", array(r("Property")))]),
        "PropertyGroup": obj(&["name", "label", "displayOrder", "archived"], &[
            ("name", s()), ("label", s()), ("displayOrder", int()), ("archived", boolean()),
        ]),
        "PropertyGroupInput": obj(&["name", "label"], &[("name", s()), ("label", s()), ("displayOrder", int())]),
        "PropertyGroupPatch": obj(&[], &[("label", s()), ("displayOrder", int())]),
        "PropertyGroups": obj(&["results"], &[("results", array(r("PropertyGroup")))]),
        "LabelsBetweenObjectPair": obj(&["fromObjectTypeId", "fromObjectId", "toObjectTypeId", "toObjectId", "labels"], &[
            ("fromObjectTypeId", s()), ("fromObjectId", int()), ("toObjectTypeId", s()),
            ("toObjectId", int()), ("labels", array(s())),
        ]),
        "AssociationType": obj(&["category", "typeId"], &[
            ("category", s()), ("typeId", int()), ("label", nullable_s()),
        ]),
        "AssociatedObject": obj(&["toObjectId", "associationTypes"], &[
            ("toObjectId", int()), ("associationTypes", array(r("AssociationType"))),
        ]),
        "AssociationList": obj(&["results"], &[
            ("results", array(r("AssociatedObject"))), ("paging", r("Paging")),
        ]),
        "AssociationLabels": obj(&["results"], &[("results", array(r("AssociationType")))]),
        "AssociationLabelInput": obj(&["label", "name"], &[("label", s()), ("name", s()), ("inverseLabel", s())]),
        "AssociationLabelUpdate": obj(&["associationTypeId", "label"], &[
            ("associationTypeId", int()), ("label", s()), ("inverseLabel", s()),
        ]),
        "AssociationBatchInput": obj(&["inputs"], &[("inputs", array(obj(&["from", "to"], &[
            ("from", obj(&["id"], &[("id", s())])), ("to", obj(&["id"], &[("id", s())])),
            ("types", array(r("AssociationSpec"))),
        ])))]),
        "AssociationBatchRead": obj(&["inputs"], &[("inputs", array(obj(&["id"], &[("id", s()), ("after", s())])))]),
        "AssociationBatchArchive": obj(&["inputs"], &[("inputs", array(obj(&["from", "to"], &[
            ("from", obj(&["id"], &[("id", s())])), ("to", array(obj(&["id"], &[("id", s())]))),
        ])))]),
        "Inbox": obj(&["id", "name", "type", "createdAt", "updatedAt", "archived"], &[
            ("id", s()), ("name", s()), ("type", json!({"type": "string", "enum": ["INBOX", "HELP_DESK"]})),
            ("createdAt", time()), ("updatedAt", time()), ("archived", boolean()), ("archivedAt", time()),
        ]),
        "Inboxes": obj(&["total", "results"], &[("total", int()), ("results", array(r("Inbox")))]),
        "Channel": obj(&["id", "name"], &[("id", s()), ("name", s())]),
        "Channels": obj(&["total", "results"], &[("total", int()), ("results", array(r("Channel")))]),
        "ChannelAccount": obj(&["id", "channelId", "inboxId", "name", "active", "authorized", "archived", "createdAt"], &[
            ("id", s()), ("channelId", s()), ("inboxId", s()), ("name", s()),
            ("active", boolean()), ("authorized", boolean()), ("archived", boolean()), ("createdAt", time()),
            ("deliveryIdentifier", obj(&["type", "value"], &[("type", s()), ("value", s())])),
        ]),
        "ChannelAccounts": obj(&["total", "results"], &[("total", int()), ("results", array(r("ChannelAccount")))]),
        "Thread": obj(&["id", "associatedContactId", "createdAt", "inboxId", "originalChannelAccountId", "originalChannelId", "spam", "status", "archived"], &[
            ("id", s()), ("inboxId", s()), ("status", json!({"type": "string", "enum": ["OPEN", "CLOSED"]})),
            ("spam", boolean()), ("archived", boolean()), ("createdAt", time()), ("closedAt", time()),
            ("associatedContactId", s()), ("assignedTo", s()), ("originalChannelId", s()),
            ("originalChannelAccountId", s()), ("latestMessageTimestamp", time()),
            ("threadAssociations", obj(&[], &[("associatedTicketId", s())])),
        ]),
        "Threads": obj(&["results"], &[("results", array(r("Thread"))), ("paging", r("Paging"))]),
        "ThreadPatch": obj(&[], &[
            ("status", json!({"type": "string", "enum": ["OPEN", "CLOSED"]})), ("archived", boolean()),
        ]),
        "Message": obj(&["type", "id", "conversationsThreadId", "createdAt", "createdBy", "client", "senders", "recipients", "text", "attachments", "archived"], &[
            ("type", json!({"type": "string", "enum": ["MESSAGE", "COMMENT"]})),
            ("id", s()), ("conversationsThreadId", s()), ("createdAt", time()), ("updatedAt", time()),
            ("createdBy", s()), ("client", obj(&["clientType"], &[("clientType", s())])),
            ("senders", array(sender)), ("recipients", array(recipient)),
            ("text", s()), ("richText", s()), ("subject", s()), ("attachments", array(json!({"type": "object"}))),
            ("direction", json!({"type": "string", "enum": ["INCOMING", "OUTGOING"]})),
            ("truncationStatus", s()), ("channelId", s()), ("channelAccountId", s()),
            ("archived", boolean()), ("inReplyToId", s()),
            ("status", obj(&["statusType"], &[("statusType", s()), ("failureDetails", json!({"type": "object"}))])),
        ]),
        "Messages": obj(&["results"], &[("results", array(r("Message"))), ("paging", r("Paging"))]),
        "OriginalContent": obj(&["text"], &[("text", s()), ("richText", s())]),
        "SendMessage": obj(&["type", "text"], &[
            ("type", json!({"type": "string", "enum": ["MESSAGE", "COMMENT"]})),
            ("text", s()), ("richText", s()), ("subject", s()), ("senderActorId", s()),
            ("channelId", s()), ("channelAccountId", s()),
            ("recipients", array(obj(&[], &[
                ("actorId", s()), ("name", s()), ("recipientField", s()),
                ("deliveryIdentifiers", array(obj(&["type", "value"], &[("type", s()), ("value", s())]))),
            ]))),
            ("attachments", array(json!({"type": "object"}))),
        ]),
        "Actor": obj(&["type", "id"], &[
            ("type", json!({"type": "string", "enum": ["AGENT", "VISITOR", "BOT", "INTEGRATOR", "SYSTEM"]})),
            ("id", s()), ("name", s()), ("email", s()), ("avatar", s()),
        ]),
        "ActorsRead": obj(&["inputs"], &[("inputs", array(s()))]),
        "Actors": obj(&["status", "results", "startedAt", "completedAt"], &[
            ("status", s()), ("results", array(r("Actor"))), ("startedAt", time()), ("completedAt", time()),
            ("numErrors", int()), ("errors", array(r("StandardError"))),
        ]),
    })
}

fn operations() -> Vec<(String, Op)> {
    let conv = |p: &str| format!("/conversations/v3/conversations{p}");
    let th = || path_param("threadId", id());
    let mut v: Vec<(String, Op)> = Vec::new();
    let mut add = |p: &str, o: Op| v.push((p.to_string(), o));

    add(
        &conv("/inboxes"),
        op(
            "get",
            "listInboxes",
            "conversations",
            "Inboxes (the inbox and the help desk)",
        )
        .ok("200", r("Inboxes")),
    );
    add(
        &conv("/inboxes/{inboxId}"),
        op("get", "getInbox", "conversations", "An inbox")
            .params(vec![path_param("inboxId", id())])
            .ok("200", r("Inbox")),
    );
    add(
        &conv("/channels"),
        op("get", "listChannels", "conversations", "Channels").ok("200", r("Channels")),
    );
    add(
        &conv("/channels/{channelId}"),
        op("get", "getChannel", "conversations", "A channel")
            .params(vec![path_param("channelId", id())])
            .ok("200", r("Channel")),
    );
    add(
        &conv("/channel-accounts"),
        op(
            "get",
            "listChannelAccounts",
            "conversations",
            "Channel accounts",
        )
        .params(vec![query_list("channelId"), query_list("inboxId")])
        .ok("200", r("ChannelAccounts")),
    );
    add(
        &conv("/channel-accounts/{channelAccountId}"),
        op(
            "get",
            "getChannelAccount",
            "conversations",
            "A channel account",
        )
        .params(vec![path_param("channelAccountId", id())])
        .ok("200", r("ChannelAccount")),
    );
    add(&conv("/threads"), op("get", "listThreads", "conversations", "Threads")
        .params(vec![
            query_list("inboxId"), query("associatedContactId", id()),
            query("threadStatus", json!({"type": "string", "enum": ["OPEN", "CLOSED"]})),
            query_list("association"), query("latestMessageTimestampAfter", s()),
            query("sort", json!({"type": "string", "enum": ["id", "latestMessageTimestamp", "-latestMessageTimestamp"]})),
            query("after", s()), query("limit", json!({"type": "integer", "minimum": 1, "maximum": 500})),
            query("archived", boolean()),
        ]).ok("200", r("Threads")));
    add(
        &conv("/threads/{threadId}"),
        op("get", "getThread", "conversations", "A thread")
            .params(vec![
                th(),
                query("archived", boolean()),
                query_list("association"),
            ])
            .ok("200", r("Thread")),
    );
    add(
        &conv("/threads/{threadId}"),
        op(
            "patch",
            "updateThread",
            "conversations",
            "Close, reopen or restore a thread",
        )
        .params(vec![th()])
        .body(r("ThreadPatch"))
        .ok("200", r("Thread")),
    );
    add(
        &conv("/threads/{threadId}"),
        op(
            "delete",
            "archiveThread",
            "conversations",
            "Move a thread (and its ticket) to the trash",
        )
        .params(vec![th()])
        .empty(),
    );
    add(
        &conv("/threads/{threadId}/messages"),
        op(
            "get",
            "listMessages",
            "conversations",
            "A thread's messages and comments",
        )
        .params(vec![
            th(),
            query("after", s()),
            query(
                "limit",
                json!({"type": "integer", "minimum": 1, "maximum": 500}),
            ),
            query(
                "sort",
                json!({"type": "string", "enum": ["createdAt", "-createdAt"]}),
            ),
            query("archived", boolean()),
        ])
        .ok("200", r("Messages")),
    );
    add(
        &conv("/threads/{threadId}/messages"),
        op(
            "post",
            "sendMessage",
            "conversations",
            "Send a MESSAGE or post a COMMENT",
        )
        .params(vec![th()])
        .body(r("SendMessage"))
        .ok("201", r("Message")),
    );
    add(
        &conv("/threads/{threadId}/messages/{messageId}"),
        op(
            "get",
            "getMessage",
            "conversations",
            "One message or comment",
        )
        .params(vec![th(), path_param("messageId", s())])
        .ok("200", r("Message")),
    );
    add(
        &conv("/threads/{threadId}/messages/{messageId}/original-content"),
        op(
            "get",
            "getOriginalContent",
            "conversations",
            "A message's full text",
        )
        .params(vec![th(), path_param("messageId", s())])
        .ok("200", r("OriginalContent")),
    );
    add(
        &conv("/actors/{actorId}"),
        op(
            "get",
            "getActor",
            "conversations",
            "An agent (A-id) or visitor (V-id)",
        )
        .params(vec![path_param("actorId", s())])
        .ok("200", r("Actor")),
    );
    add(
        &conv("/actors/batch/read"),
        op("post", "batchReadActors", "conversations", "Several actors")
            .body(r("ActorsRead"))
            .ok("200", r("Actors"))
            .ok("207", r("Actors")),
    );
    v
}

/// The hand-written operations and schemas not yet derived from handler types, as a partial
/// OpenAPI 3.0 document (`paths` and `components.schemas`) that `openapi::document` merges
/// with the derived one. Operations the derived document already has are left out there.
pub(super) fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (path, o) in operations() {
        let entry = paths.entry(path).or_insert_with(|| json!({}));
        entry[o.method] = o.render();
    }
    json!({"paths": paths, "components": {"schemas": schemas()}})
}

/// The hand-written operations, as (method, path) pairs.
pub(super) fn operation_list() -> Vec<(String, String)> {
    operations()
        .into_iter()
        .map(|(p, o)| (o.method.to_string(), p))
        .collect()
}
