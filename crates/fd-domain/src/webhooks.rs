//! HubSpot-compatible webhooks (HUBSPOT-API-2.md §5): which event types a developer app may
//! subscribe to, what a change of a record means as an event, the checks on an app's
//! settings, the delivery policy (batches of up to 100, the retry schedule, which answers are
//! retried) and the JSON of one event as HubSpot posts it.
//!
//! Pure: no I/O, no clock, no randomness (the retry jitter is passed in), no signing (the
//! HMAC lives with the sender in fd-app). The store calls [`change_of_activity`] on every
//! activity row a transaction records, so every road that records history also emits its
//! events; fd-app's runner asks [`delivery_outcome`] and [`retry_delay_ms`].

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value, json};

use crate::entities::NewActivity;
use crate::{ActorRef, DomainError, ErrorCode, FieldError, Millis, ObjectType};

/// HubSpot posts at most this many events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 100;
/// Attempts in all (the first one included) before an event is given up.
pub const MAX_ATTEMPTS: u32 = 10;
/// How long one delivery may take before it counts as a timeout.
pub const TIMEOUT_MS: u64 = 5_000;
/// `throttling.maxConcurrentRequests`: HubSpot refuses fewer than 5.
pub const MIN_CONCURRENT: i64 = 5;
/// …and Frontdesk more than this many requests in flight per app.
pub const MAX_CONCURRENT: i64 = 100;
/// A target URL longer than this is refused.
pub const MAX_URL_LEN: usize = 2_000;
/// The delivered events kept in the log by default (older ones are pruned).
pub const DEFAULT_KEEP_DAYS: i64 = 30;

/// The objects events are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventObject {
    Contact,
    Company,
    Ticket,
    Conversation,
}

impl EventObject {
    pub fn as_str(self) -> &'static str {
        match self {
            EventObject::Contact => "contact",
            EventObject::Company => "company",
            EventObject::Ticket => "ticket",
            EventObject::Conversation => "conversation",
        }
    }

    pub fn of(kind: ObjectType) -> Option<EventObject> {
        match kind {
            ObjectType::Contact => Some(EventObject::Contact),
            ObjectType::Company => Some(EventObject::Company),
            ObjectType::Ticket => Some(EventObject::Ticket),
            ObjectType::Conversation => Some(EventObject::Conversation),
            _ => None,
        }
    }

    const ALL: [EventObject; 4] = [
        EventObject::Contact,
        EventObject::Company,
        EventObject::Ticket,
        EventObject::Conversation,
    ];
}

/// What happened, in HubSpot's event-type words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventAction {
    Creation,
    Deletion,
    PropertyChange,
    AssociationChange,
    Merge,
    Restore,
    NewMessage,
}

impl EventAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Creation => "creation",
            EventAction::Deletion => "deletion",
            EventAction::PropertyChange => "propertyChange",
            EventAction::AssociationChange => "associationChange",
            EventAction::Merge => "merge",
            EventAction::Restore => "restore",
            EventAction::NewMessage => "newMessage",
        }
    }

    const ALL: [EventAction; 7] = [
        EventAction::Creation,
        EventAction::Deletion,
        EventAction::PropertyChange,
        EventAction::AssociationChange,
        EventAction::Merge,
        EventAction::Restore,
        EventAction::NewMessage,
    ];
}

/// A subscription's `eventType`, such as `ticket.propertyChange`: the pairs HubSpot's v3 API
/// lists (12.x clients) for the objects Frontdesk keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventType {
    pub object: EventObject,
    pub action: EventAction,
}

impl EventType {
    pub fn new(object: EventObject, action: EventAction) -> Option<EventType> {
        use EventAction::*;
        let ok = match object {
            EventObject::Conversation => {
                matches!(action, Creation | Deletion | PropertyChange | NewMessage)
            }
            _ => !matches!(action, NewMessage),
        };
        ok.then_some(EventType { object, action })
    }

    /// Every event type Frontdesk sends, in a stable order (for forms and documentation).
    pub fn all() -> Vec<EventType> {
        EventObject::ALL
            .iter()
            .flat_map(|o| {
                EventAction::ALL
                    .iter()
                    .filter_map(|a| EventType::new(*o, *a))
            })
            .collect()
    }

    /// `*.propertyChange` subscriptions name the property they follow.
    pub fn needs_property(self) -> bool {
        self.action == EventAction::PropertyChange
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.object.as_str(), self.action.as_str())
    }
}

impl FromStr for EventType {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::all()
            .into_iter()
            .find(|t| t.to_string() == s)
            .ok_or_else(|| {
                DomainError::field(
                    "eventType",
                    ErrorCode::InvalidOption,
                    format!(
                        "{s:?} is not a supported event type; one of: {}",
                        EventType::all()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }
}

/// What a subscription asks for, checked: the event type and, for property changes, the
/// property's internal name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSpec {
    pub event_type: EventType,
    pub property_name: Option<String>,
}

/// Checks a subscription request: a known event type; a property name exactly for
/// `*.propertyChange` (HubSpot needs it there and has no use for it elsewhere).
pub fn check_subscription(
    event_type: &str,
    property_name: Option<&str>,
) -> Result<SubscriptionSpec, DomainError> {
    let event_type: EventType = event_type.trim().parse()?;
    let property_name = property_name.map(str::trim).filter(|p| !p.is_empty());
    match (event_type.needs_property(), property_name) {
        (true, None) => Err(DomainError::Invalid(vec![FieldError::new(
            "propertyName",
            ErrorCode::Required,
            format!("{event_type} subscriptions need a propertyName"),
        )])),
        (false, Some(_)) => Err(DomainError::Invalid(vec![FieldError::new(
            "propertyName",
            ErrorCode::InvalidValue,
            format!("{event_type} subscriptions take no propertyName"),
        )])),
        (_, Some(p))
            if p.len() > 100
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            Err(DomainError::field(
                "propertyName",
                ErrorCode::InvalidValue,
                "a property's internal name: letters, digits, '_' and '-', at most 100",
            ))
        }
        (_, p) => Ok(SubscriptionSpec {
            event_type,
            property_name: p.map(str::to_string),
        }),
    }
}

/// Checks an app's webhook settings: an absolute `http`/`https` URL with a host, and
/// `maxConcurrentRequests` within HubSpot's floor and Frontdesk's ceiling. Private and
/// loopback hosts are allowed on purpose: a self-hosted desk calls services on its own
/// network (README, "Webhooks"); this is the one place that decides what a target may be.
pub fn check_settings(target_url: &str, max_concurrent: i64) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    if let Err(m) = check_target_url(target_url) {
        errors.push(FieldError::new("targetUrl", ErrorCode::InvalidValue, m));
    }
    if !(MIN_CONCURRENT..=MAX_CONCURRENT).contains(&max_concurrent) {
        errors.push(FieldError::new(
            "throttling.maxConcurrentRequests",
            ErrorCode::InvalidValue,
            format!("must be between {MIN_CONCURRENT} and {MAX_CONCURRENT}"),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

fn check_target_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must be an http:// or https:// URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry a user name or password".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return Err("must name a host".into());
    }
    if url.contains('#') {
        return Err("must not have a fragment".into());
    }
    Ok(())
}

/// A change of a record that may become events. The store notes one for each activity row
/// ([`change_of_activity`]), association row and message it writes, and each purge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub object: EventObject,
    pub object_id: i64,
    pub kind: ChangeKind,
    pub actor: ActorRef,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    /// Trashed or archived (`purged: false`), or deleted for good.
    Deleted {
        purged: bool,
    },
    /// Back from the trash, or brought back by an unmerge.
    Restored,
    Property {
        name: String,
        value: Option<String>,
    },
    Association {
        to: ObjectType,
        to_id: i64,
        type_id: i64,
        removed: bool,
    },
    /// This record absorbed `merged`.
    Merged {
        merged: i64,
    },
    NewMessage {
        message_id: i64,
        comment: bool,
    },
}

impl Change {
    pub fn event_type(&self) -> Option<EventType> {
        let action = match self.kind {
            ChangeKind::Created => EventAction::Creation,
            ChangeKind::Deleted { .. } => EventAction::Deletion,
            ChangeKind::Restored => EventAction::Restore,
            ChangeKind::Property { .. } => EventAction::PropertyChange,
            ChangeKind::Association { .. } => EventAction::AssociationChange,
            ChangeKind::Merged { .. } => EventAction::Merge,
            ChangeKind::NewMessage { .. } => EventAction::NewMessage,
        };
        EventType::new(self.object, action)
    }

    /// The property a propertyChange is about, in the name subscriptions use.
    pub fn property_name(&self) -> Option<&str> {
        match &self.kind {
            ChangeKind::Property { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A conversation's history names its fields in Frontdesk's words; HubSpot's
/// `conversation.propertyChange` knows `assignedTo` and `status`.
fn conversation_property(field: &str) -> Option<&'static str> {
    match field {
        "owner" => Some("assignedTo"),
        "status" => Some("status"),
        _ => None,
    }
}

/// What an activity row means as a webhook change, if anything:
///
/// - `created` → creation; `trashed`/`archived` → deletion; `restored` → restore;
/// - `property_changed` → propertyChange (conversations: `owner` as `assignedTo`, `status`);
/// - `merged` on the surviving record (it names the absorbed one) → merge;
/// - `unmerged` on the record brought back (it names the survivor) → restore: it is live
///   again under its old id, and the survivor's changed properties come as their own rows.
///
/// Associations and messages are noted where their rows are written (not from history,
/// which records them on one side only); a split's new ticket is a `created` row already.
pub fn change_of_activity(a: &NewActivity) -> Option<Change> {
    let object = EventObject::of(a.object_type)?;
    let kind = match (a.action, object) {
        ("created", _) => ChangeKind::Created,
        ("trashed" | "archived", _) => ChangeKind::Deleted { purged: false },
        ("restored", _) => ChangeKind::Restored,
        ("property_changed", EventObject::Conversation) => ChangeKind::Property {
            name: conversation_property(a.field.as_deref()?)?.to_string(),
            value: a.new_value.clone(),
        },
        ("property_changed", _) => ChangeKind::Property {
            name: a.field.clone()?,
            value: a.new_value.clone(),
        },
        ("merged", _) => ChangeKind::Merged {
            merged: a.old_value.as_deref()?.parse().ok()?,
        },
        ("unmerged", _) if a.new_value.is_some() => ChangeKind::Restored,
        _ => return None,
    };
    Some(Change {
        object,
        object_id: a.object_id,
        kind,
        actor: a.actor,
        at: a.at,
    })
}

/// An active subscription as the matcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    pub id: i64,
    pub app_id: i64,
    pub event_type: EventType,
    pub property_name: Option<String>,
}

impl ActiveSubscription {
    pub fn matches(&self, c: &Change) -> bool {
        c.event_type() == Some(self.event_type)
            && (!self.event_type.needs_property()
                || self.property_name.as_deref() == c.property_name())
    }
}

/// HubSpot's association type name for a direction (`TICKET_TO_CONTACT`).
fn association_type_name(from: EventObject, to: ObjectType) -> String {
    format!(
        "{}_TO_{}",
        from.as_str().to_ascii_uppercase(),
        to.as_str().to_ascii_uppercase()
    )
}

/// The event HubSpot would post for `change` to `sub`, without `eventId` and `attemptNumber`
/// (the sender adds both: the id is the stored row's, the attempt the current one).
pub fn event_body(sub: &ActiveSubscription, change: &Change, portal_id: i64) -> Value {
    let (source, source_id) = match change.actor {
        ActorRef::User(u) => ("CRM_UI", Some(format!("userId:{}", u.0))),
        ActorRef::System => ("INTEGRATION", None),
    };
    let mut e = Map::new();
    e.insert("subscriptionId".into(), json!(sub.id));
    e.insert("portalId".into(), json!(portal_id));
    e.insert("appId".into(), json!(sub.app_id));
    e.insert("occurredAt".into(), json!(change.at));
    e.insert("subscriptionType".into(), json!(sub.event_type.to_string()));
    e.insert("objectId".into(), json!(change.object_id));
    e.insert("changeSource".into(), json!(source));
    if let Some(s) = source_id {
        e.insert("sourceId".into(), json!(s));
    }
    match &change.kind {
        ChangeKind::Created => {
            e.insert("changeFlag".into(), json!("CREATED"));
        }
        ChangeKind::Deleted { purged } => {
            e.insert(
                "changeFlag".into(),
                json!(if *purged { "PURGED" } else { "DELETED" }),
            );
        }
        ChangeKind::Restored => {
            e.insert("changeFlag".into(), json!("RESTORED"));
        }
        ChangeKind::Property { name, value } => {
            e.insert("propertyName".into(), json!(name));
            e.insert(
                "propertyValue".into(),
                json!(value.clone().unwrap_or_default()),
            );
        }
        ChangeKind::Association {
            to,
            to_id,
            type_id,
            removed,
        } => {
            e.insert(
                "associationType".into(),
                json!(association_type_name(change.object, *to)),
            );
            e.insert("associationTypeId".into(), json!(type_id));
            e.insert("fromObjectId".into(), json!(change.object_id));
            e.insert("toObjectId".into(), json!(to_id));
            e.insert("associationRemoved".into(), json!(removed));
            e.insert("isPrimaryAssociation".into(), json!(false));
        }
        ChangeKind::Merged { merged } => {
            e.insert("primaryObjectId".into(), json!(change.object_id));
            e.insert("mergedObjectIds".into(), json!([merged]));
            e.insert("newObjectId".into(), json!(change.object_id));
            e.insert("numberOfPropertiesMoved".into(), json!(0));
        }
        ChangeKind::NewMessage {
            message_id,
            comment,
        } => {
            e.insert("messageId".into(), json!(message_id.to_string()));
            e.insert(
                "messageType".into(),
                json!(if *comment { "COMMENT" } else { "MESSAGE" }),
            );
            e.insert("changeFlag".into(), json!("NEW_MESSAGE"));
        }
    }
    Value::Object(e)
}

/// What one delivery attempt came to, as the sender saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The receiver answered with this status (and `Retry-After`, in seconds, if it said).
    Status {
        code: u16,
        retry_after_s: Option<u64>,
    },
    /// No answer within [`TIMEOUT_MS`].
    Timeout,
    /// No connection, or it broke: the words say why.
    Failed(String),
}

/// What to do with the events of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Try again after this delay — unless the attempts are used up ([`retry_delay_ms`]).
    Retry {
        at_least_ms: i64,
    },
    /// Never again: the receiver refused them (4xx other than 429, a redirect).
    GiveUp,
}

/// HubSpot's policy: 2xx delivers; connection failures, timeouts, 429 and 5xx are retried
/// (429 no sooner than its `Retry-After`, capped at an hour); any other answer, 4xx
/// included, is final. Redirects are not followed (a signed request is for its URL only).
pub fn delivery_outcome(a: &Attempt) -> Outcome {
    match a {
        Attempt::Status { code, .. } if (200..300).contains(code) => Outcome::Delivered,
        Attempt::Status {
            code: 429,
            retry_after_s,
        } => Outcome::Retry {
            at_least_ms: retry_after_s
                .map_or(0, |s| i64::try_from(s.min(3_600)).unwrap_or(3_600) * 1_000),
        },
        Attempt::Status { code, .. } if *code >= 500 => Outcome::Retry { at_least_ms: 0 },
        Attempt::Status { .. } => Outcome::GiveUp,
        Attempt::Timeout | Attempt::Failed(_) => Outcome::Retry { at_least_ms: 0 },
    }
}

/// The wait after the `attempts_made`-th failed attempt, before the next one; `None` once
/// [`MAX_ATTEMPTS`] are used. Nominal delays 30 s, 2 min, 8 min, 30 min, 1 h, 2 h, 4 h, 6 h,
/// 8 h (10 attempts over about 22 hours); `jitter` in `[0, 1)` takes up to a fifth off each,
/// so retries of many events spread out and the first retry always comes within a minute.
pub fn retry_delay_ms(attempts_made: u32, jitter: f64) -> Option<i64> {
    const NOMINAL_S: [i64; 9] = [30, 120, 480, 1_800, 3_600, 7_200, 14_400, 21_600, 28_800];
    if attempts_made == 0 || attempts_made >= MAX_ATTEMPTS {
        return None;
    }
    let nominal = NOMINAL_S.get(usize::try_from(attempts_made - 1).ok()?)? * 1_000;
    let j = if jitter.is_finite() {
        jitter.clamp(0.0, 0.999)
    } else {
        0.0
    };
    // A fifth of the delay at most, in whole milliseconds.
    let off = (nominal as f64 * 0.2 * j) as i64;
    Some(nominal - off)
}

/// Splits events (in order) into requests of at most [`MAX_EVENTS_PER_REQUEST`].
pub fn batches<T>(events: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let size = size.clamp(1, MAX_EVENTS_PER_REQUEST);
    let mut out = Vec::new();
    let mut current = Vec::new();
    for e in events {
        current.push(e);
        if current.len() == size {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::UserId;

    #[test]
    fn event_types_are_hubspots_pairs_for_the_objects_frontdesk_keeps() {
        let all: Vec<String> = EventType::all().iter().map(ToString::to_string).collect();
        assert!(all.contains(&"ticket.propertyChange".to_string()));
        assert!(all.contains(&"contact.merge".to_string()));
        assert!(all.contains(&"conversation.newMessage".to_string()));
        assert!(!all.contains(&"conversation.merge".to_string()));
        assert!(!all.contains(&"ticket.newMessage".to_string()));
        assert_eq!(all.len(), 3 * 6 + 4);
        for t in &all {
            assert_eq!(t.parse::<EventType>().unwrap().to_string(), *t);
        }
        assert!("deal.creation".parse::<EventType>().is_err());
        assert!("ticket.Creation".parse::<EventType>().is_err());
    }

    #[test]
    fn property_changes_and_only_they_name_a_property() {
        let s = check_subscription("ticket.propertyChange", Some("hs_pipeline_stage")).unwrap();
        assert_eq!(s.property_name.as_deref(), Some("hs_pipeline_stage"));
        let e = check_subscription("ticket.propertyChange", None).unwrap_err();
        assert_eq!(e.codes(), vec![ErrorCode::Required]);
        let e = check_subscription("ticket.creation", Some("subject")).unwrap_err();
        assert_eq!(e.codes(), vec![ErrorCode::InvalidValue]);
        assert!(check_subscription("ticket.creation", Some("  ")).is_ok());
        assert!(check_subscription("ticket.propertyChange", Some("a b")).is_err());
        let e = check_subscription("nope", None).unwrap_err();
        assert_eq!(e.codes(), vec![ErrorCode::InvalidOption]);
    }

    #[test]
    fn settings_need_an_http_url_and_hubspots_concurrency_floor() {
        assert!(check_settings("https://hooks.example.com/in?x=1", 10).is_ok());
        // A desk on a LAN calls LAN services.
        assert!(check_settings("http://127.0.0.1:8080/hook", 5).is_ok());
        assert!(check_settings("http://[::1]:9/x", 5).is_ok());
        for bad in [
            "ftp://x/y",
            "https://",
            "https:///path",
            "https://user:pw@host/",
            "https://host/a b",
            "https://host/#frag",
            "hooks.example.com",
        ] {
            let e = check_settings(bad, 10).unwrap_err();
            assert_eq!(e.codes(), vec![ErrorCode::InvalidValue], "{bad}");
        }
        assert!(check_settings(&format!("https://h/{}", "a".repeat(MAX_URL_LEN)), 10).is_err());
        let e = check_settings("https://h/", 4).unwrap_err();
        assert!(e.to_string().contains("maxConcurrentRequests"));
        assert!(check_settings("https://h/", 101).is_err());
        let both = check_settings("x", 0).unwrap_err();
        assert_eq!(both.codes().len(), 2);
    }

    fn row(kind: ObjectType, action: &'static str, field: Option<&str>) -> NewActivity {
        NewActivity {
            object_type: kind,
            object_id: 7,
            actor: ActorRef::User(UserId(3)),
            action,
            field: field.map(str::to_string),
            old_value: Some("9".into()),
            new_value: Some("4".into()),
            at: 1_000,
        }
    }

    #[test]
    fn history_rows_map_onto_hubspot_event_types() {
        let t = |kind, action, field| {
            change_of_activity(&row(kind, action, field))
                .and_then(|c| c.event_type())
                .map(|e| e.to_string())
        };
        assert_eq!(
            t(ObjectType::Ticket, "created", None).as_deref(),
            Some("ticket.creation")
        );
        assert_eq!(
            t(ObjectType::Ticket, "trashed", None).as_deref(),
            Some("ticket.deletion")
        );
        assert_eq!(
            t(ObjectType::Contact, "archived", None).as_deref(),
            Some("contact.deletion")
        );
        assert_eq!(
            t(ObjectType::Ticket, "restored", None).as_deref(),
            Some("ticket.restore")
        );
        assert_eq!(
            t(ObjectType::Ticket, "unmerged", Some("merged")).as_deref(),
            Some("ticket.restore")
        );
        assert_eq!(
            t(ObjectType::Company, "merged", Some("merged")).as_deref(),
            Some("company.merge")
        );
        assert_eq!(
            t(ObjectType::Conversation, "property_changed", Some("owner")).as_deref(),
            Some("conversation.propertyChange")
        );
        assert_eq!(
            t(
                ObjectType::Conversation,
                "property_changed",
                Some("workspace")
            ),
            None
        );
        assert_eq!(t(ObjectType::Ticket, "commented", None), None);
        assert_eq!(t(ObjectType::Deal, "created", None), None);
        // The merged-away side names the survivor in new_value, not old_value: no event.
        let mut m = row(ObjectType::Ticket, "merged", Some("merged"));
        m.old_value = None;
        assert_eq!(change_of_activity(&m), None);
        let c = change_of_activity(&row(
            ObjectType::Ticket,
            "property_changed",
            Some("subject"),
        ))
        .unwrap();
        assert_eq!(c.property_name(), Some("subject"));
    }

    #[test]
    fn a_property_subscription_matches_its_property_only() {
        let sub = ActiveSubscription {
            id: 1,
            app_id: 2,
            event_type: "ticket.propertyChange".parse().unwrap(),
            property_name: Some("subject".into()),
        };
        let c = change_of_activity(&row(
            ObjectType::Ticket,
            "property_changed",
            Some("subject"),
        ))
        .unwrap();
        assert!(sub.matches(&c));
        let other =
            change_of_activity(&row(ObjectType::Ticket, "property_changed", Some("x"))).unwrap();
        assert!(!sub.matches(&other));
        let created = change_of_activity(&row(ObjectType::Ticket, "created", None)).unwrap();
        assert!(!sub.matches(&created));
        let body = event_body(&sub, &c, 33);
        assert_eq!(body["propertyName"], "subject");
        assert_eq!(body["propertyValue"], "4");
        assert_eq!(body["objectId"], 7);
        assert_eq!(body["portalId"], 33);
        assert_eq!(body["subscriptionType"], "ticket.propertyChange");
        assert_eq!(body["sourceId"], "userId:3");
    }

    #[test]
    fn only_server_trouble_and_429_are_retried() {
        let s = |code| Attempt::Status {
            code,
            retry_after_s: None,
        };
        assert_eq!(delivery_outcome(&s(200)), Outcome::Delivered);
        assert_eq!(delivery_outcome(&s(204)), Outcome::Delivered);
        for code in [500, 502, 503, 504] {
            assert_eq!(
                delivery_outcome(&s(code)),
                Outcome::Retry { at_least_ms: 0 }
            );
        }
        for code in [301, 400, 401, 403, 404, 405, 410, 422] {
            assert_eq!(delivery_outcome(&s(code)), Outcome::GiveUp, "{code}");
        }
        assert_eq!(
            delivery_outcome(&Attempt::Status {
                code: 429,
                retry_after_s: Some(90)
            }),
            Outcome::Retry {
                at_least_ms: 90_000
            }
        );
        assert_eq!(
            delivery_outcome(&Attempt::Timeout),
            Outcome::Retry { at_least_ms: 0 }
        );
        assert_eq!(
            delivery_outcome(&Attempt::Failed("refused".into())),
            Outcome::Retry { at_least_ms: 0 }
        );
    }

    #[test]
    fn ten_attempts_over_about_a_day_the_first_retry_within_a_minute() {
        assert_eq!(retry_delay_ms(0, 0.0), None);
        assert!(retry_delay_ms(1, 0.0).unwrap() < 60_000);
        assert!(retry_delay_ms(1, 0.99).unwrap() < 60_000);
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|n| retry_delay_ms(n, 0.0).unwrap())
            .sum();
        assert!(total > 20 * 3_600_000 && total <= 24 * 3_600_000, "{total}");
        assert_eq!(retry_delay_ms(MAX_ATTEMPTS, 0.0), None);
        // Delays grow, and jitter only shortens them.
        for n in 1..MAX_ATTEMPTS - 1 {
            assert!(retry_delay_ms(n + 1, 0.0) > retry_delay_ms(n, 0.0));
            let j = retry_delay_ms(n, 0.5).unwrap();
            assert!(
                j < retry_delay_ms(n, 0.0).unwrap() && j >= retry_delay_ms(n, 0.0).unwrap() * 4 / 5
            );
        }
        assert_eq!(retry_delay_ms(1, f64::NAN), Some(30_000));
    }

    #[test]
    fn requests_carry_at_most_a_hundred_events() {
        let b = batches((0..250).collect(), MAX_EVENTS_PER_REQUEST);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![100, 100, 50]
        );
        assert_eq!(b[2][0], 200);
        assert_eq!(batches((0..3).collect(), 1000).len(), 1);
        assert_eq!(batches((0..3).collect(), 0).len(), 3);
        assert!(batches(Vec::<i32>::new(), 10).is_empty());
    }
}
