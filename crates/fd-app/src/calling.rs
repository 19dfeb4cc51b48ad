//! The calling channel: a team's phone number (`connect_calling`) and the telephony
//! provider's signed events (`receive_call_event`). An inbound call on a help-desk number
//! opens one CALL conversation and its ticket through the conversation use case (HD-06), with
//! the caller matched to a contact by number, and a call engagement on the ticket and the
//! contact; on an inbox number, the conversation only. Later events of the same call update
//! its engagement. Each event is one transaction.
//!
//! Depends on conversations (the channel's road into them), the CRM rows and engagements;
//! nothing depends on it but the web and CLI callers. No HTTP here: the caller hands over
//! the raw body and the signature headers' values.

use std::collections::BTreeMap;

use fd_domain::engagements::{CallEventKind, disposition, normalize_e164};
use fd_domain::entities::AdminObject;
use fd_domain::*;
use fd_store::{CallingCall, CallingChannel};
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha2_11::Sha256;

use crate::conversations::NewConversation;
use crate::crm::{AssociationEnd, NewContact, contact_row, insert_contact_in};
use crate::{Actor, App, AppError, Event};

/// How far a signed timestamp may be from our clock before the event is refused as stale
/// (a captured request cannot be replayed later, even with a new event id).
pub const CALL_EVENT_TOLERANCE_MS: i64 = 5 * 60 * 1000;

/// A provider's call event, as the web layer read it from the JSON body.
#[derive(Debug, Clone, Default)]
pub struct CallEvent {
    /// Unique per event: a second delivery of the same id is ignored.
    pub event_id: String,
    /// The provider's id of the call: every event of one call carries it.
    pub call_id: String,
    /// `ringing`, `answered`, `completed` or `missed`.
    pub kind: String,
    /// `INBOUND` (the default) or `OUTBOUND`.
    pub direction: Option<String>,
    pub from: String,
    pub to: String,
    pub duration_ms: Option<i64>,
    pub recording_url: Option<String>,
    /// When it happened (epoch ms); the signed timestamp when absent.
    pub occurred_at: Option<Millis>,
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEventOutcome {
    /// Applied: the call's conversation, its ticket (help-desk numbers) and its engagement.
    Applied {
        conversation: ConversationId,
        ticket: Option<TicketId>,
        call: i64,
        /// This event opened the call's conversation.
        created: bool,
    },
    /// Already applied (a replay of the same event id): nothing changed.
    Duplicate,
    /// Not accepted, and nothing was written: the reason says why (bad or missing signature,
    /// unknown number, stale timestamp).
    Refused(String),
}

/// HMAC-SHA256 of `timestamp` followed by the raw body, in lower-case hex: what the provider
/// sends in the signature header.
pub fn call_event_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length; this cannot happen.
        return String::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(body);
    data_encoding::HEXLOWER.encode(&mac.finalize().into_bytes())
}

fn signature_matches(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = data_encoding::HEXLOWER_PERMISSIVE.decode(signature.trim().as_bytes()) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(timestamp.as_bytes());
    mac.update(body);
    // Constant-time comparison.
    mac.verify_slice(&given).is_ok()
}

fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill(&mut key);
    data_encoding::HEXLOWER.encode(&key)
}

impl App {
    /// Connects a phone number (E.164) to a team as a calling channel; new calls open
    /// conversations in `workspace` (help desk: with a ticket). Returns the channel with the
    /// secret that signs its provider's events.
    pub async fn connect_calling(
        &self,
        actor: &Actor,
        number: &str,
        team: &str,
        workspace: Workspace,
    ) -> Result<CallingChannel, AppError> {
        actor.require_admin("connecting a calling channel")?;
        let number = normalize_e164("number", number)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let team_row = match tx.team_by_name(team.trim()).await? {
            Some(t) => Some(t),
            None => match team.trim().parse::<i64>() {
                Ok(n) => tx.team(TeamId(n)).await?,
                Err(_) => None,
            },
        }
        .ok_or_else(|| AppError::not_found("team", team.trim()))?;
        let ch = match tx.calling_channel_by_number(&number).await? {
            Some(old) if old.archived_at.is_none() => {
                return Err(AppError::Conflict(format!(
                    "{number} is already connected as a calling channel"
                )));
            }
            // A disconnected number comes back on its row (its calls keep pointing at it),
            // with a new secret: the old one stopped signing when it was disconnected.
            Some(old) => {
                tx.reconnect_calling_channel(old.id, team_row.id, workspace, &new_secret())
                    .await?
            }
            None => {
                tx.insert_calling_channel(team_row.id, &number, workspace, &new_secret(), now)
                    .await?
            }
        };
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "calling_channel_connected",
            Some("calling_channel"),
            Some(format!("{} {}", ch.id, ch.number)),
        )
        .await?;
        tx.commit().await?;
        Ok(ch)
    }

    /// Settings → Calling: the connected numbers, for an administrator.
    pub async fn calling_settings(&self, actor: &Actor) -> Result<Vec<CallingChannel>, AppError> {
        actor.require_admin("managing calling channels")?;
        self.calling_channels().await
    }

    /// Gives a connected channel a new webhook secret and returns it: events signed with the
    /// old one are refused from now on.
    pub async fn rotate_calling_secret(
        &self,
        actor: &Actor,
        channel: i64,
    ) -> Result<CallingChannel, AppError> {
        actor.require_admin("rotating a calling channel's secret")?;
        let mut tx = self.db().write().await?;
        if !tx.set_calling_secret(channel, &new_secret()).await? {
            return Err(AppError::not_found("calling channel", channel));
        }
        let ch = tx
            .calling_channel(channel)
            .await?
            .ok_or_else(|| AppError::not_found("calling channel", channel))?;
        // The secret itself is never recorded.
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "calling_secret_rotated",
            Some("calling_channel"),
            Some(format!("{} {}", ch.id, ch.number)),
        )
        .await?;
        tx.commit().await?;
        Ok(ch)
    }

    /// Disconnects a number (archives its channel): its events are refused from now on, its
    /// calls keep their conversations and tickets.
    pub async fn disconnect_calling(&self, actor: &Actor, channel: i64) -> Result<(), AppError> {
        actor.require_admin("disconnecting a calling channel")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx.archive_calling_channel(channel, now).await? {
            return Err(AppError::not_found("calling channel", channel));
        }
        let ch = tx
            .calling_channel(channel)
            .await?
            .ok_or_else(|| AppError::not_found("calling channel", channel))?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "calling_channel_disconnected",
            Some("calling_channel"),
            Some(format!("{} {}", ch.id, ch.number)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The calling channels (the conversations API lists them as channel accounts).
    pub async fn calling_channels(&self) -> Result<Vec<CallingChannel>, AppError> {
        let mut tx = self.db().read().await?;
        let out = tx.calling_channels().await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Applies one signed provider event (see the module header). `timestamp` and
    /// `signature` are the signature headers' values; `body` the raw request body they sign.
    pub async fn receive_call_event(
        &self,
        body: &[u8],
        timestamp: Option<&str>,
        signature: Option<&str>,
        event: CallEvent,
    ) -> Result<CallEventOutcome, AppError> {
        let now = self.now();
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Ok(CallEventOutcome::Refused(
                "the event must carry its timestamp and signature headers".into(),
            ));
        };
        let Ok(signed_at) = timestamp.trim().parse::<i64>() else {
            return Ok(CallEventOutcome::Refused(
                "the timestamp header must be epoch milliseconds".into(),
            ));
        };
        let direction = match event.direction.as_deref().map(str::trim) {
            None | Some("") => "INBOUND".to_string(),
            Some(d) => d.to_ascii_uppercase(),
        };
        // Our number is the one called (inbound) or calling (outbound).
        let ours = if direction == "OUTBOUND" {
            &event.from
        } else {
            &event.to
        };
        let Ok(ours) = normalize_e164("to", ours) else {
            return Ok(CallEventOutcome::Refused(format!(
                "{ours:?} is not a phone number connected as a calling channel"
            )));
        };
        let mut tx = self.db().write().await?;
        let Some(channel) = tx
            .calling_channel_by_number(&ours)
            .await?
            .filter(|c| c.archived_at.is_none())
        else {
            return Ok(CallEventOutcome::Refused(format!(
                "{ours} is not connected as a calling channel"
            )));
        };
        if !signature_matches(&channel.secret, timestamp.trim(), body, signature) {
            return Ok(CallEventOutcome::Refused(
                "the signature does not match this channel's secret".into(),
            ));
        }
        if (now - signed_at).abs() > CALL_EVENT_TOLERANCE_MS {
            return Ok(CallEventOutcome::Refused(format!(
                "the timestamp is stale: events are accepted within {} minutes of our clock",
                CALL_EVENT_TOLERANCE_MS / 60_000
            )));
        }
        // Checked only once the signature holds: strangers learn nothing of our rules.
        let kind = CallEventKind::parse(&event.kind)?;
        if direction != "INBOUND" && direction != "OUTBOUND" {
            return Err(AppError::invalid(
                "direction",
                format!("{direction:?} is not one of: INBOUND, OUTBOUND"),
            ));
        }
        let event_id = event.event_id.trim();
        let call_id = event.call_id.trim();
        if event_id.is_empty() || event_id.len() > 200 || call_id.is_empty() || call_id.len() > 200
        {
            return Err(AppError::invalid(
                "eventId",
                "eventId and callId must be given (at most 200 characters each)",
            ));
        }
        if let Some(d) = event.duration_ms
            && d < 0
        {
            return Err(AppError::invalid("durationMs", "must not be negative"));
        }
        let recording = match event.recording_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u)
                if (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2000 =>
            {
                Some(u.to_string())
            }
            Some(_) => {
                return Err(AppError::invalid(
                    "recordingUrl",
                    "must be an http(s) address of at most 2000 characters",
                ));
            }
        };
        if !tx.claim_calling_event(channel.id, event_id, now).await? {
            tx.commit().await?;
            return Ok(CallEventOutcome::Duplicate);
        }
        let at = event.occurred_at.unwrap_or(signed_at);
        let system = Actor::system();
        let mut events = Vec::new();
        let outcome = match tx.calling_call(channel.id, call_id).await? {
            Some(call) => {
                // A later event of a known call: its engagement follows, unless the call
                // already ended and this event is older news.
                let current = tx
                    .property_values_of("calls", &[call.engagement_id])
                    .await?
                    .remove(&call.engagement_id)
                    .unwrap_or_default();
                if kind.supersedes(current.get("hs_call_status").map(String::as_str)) {
                    for (name, v) in call_values(kind, &event, recording.as_deref()) {
                        if name != "hs_timestamp" {
                            tx.set_property_value("calls", call.engagement_id, &name, Some(&v))
                                .await?;
                        }
                    }
                    tx.touch_engagement(call.engagement_id, now, None).await?;
                }
                let conv = tx
                    .conversation(&ViewerScope::All, call.conversation_id)
                    .await?;
                let ticket = conv.and_then(|c| c.ticket_id);
                if let Some(t) = ticket {
                    events.push(Event::TicketChanged(t));
                }
                CallEventOutcome::Applied {
                    conversation: call.conversation_id,
                    ticket,
                    call: call.engagement_id,
                    created: false,
                }
            }
            None => {
                if direction == "OUTBOUND" {
                    return Err(AppError::invalid(
                        "direction",
                        "only inbound calls open conversations on a calling channel",
                    ));
                }
                // The caller, matched by number (E.164), or a new contact with that number.
                let caller = normalize_e164("from", &event.from).ok();
                let contact = match &caller {
                    Some(number) => match tx.contact_ids_by_phone(number).await?.first() {
                        Some(id) => Some(ContactId(*id)),
                        None => {
                            let mut c = contact_row(
                                NewContact {
                                    phone: Some(number.clone()),
                                    ..NewContact::default()
                                },
                                now,
                            )?;
                            insert_contact_in(&mut tx, &system, &mut c, now).await?;
                            Some(c.id)
                        }
                    },
                    None => None,
                };
                let who = caller.clone().unwrap_or_else(|| "an unknown number".into());
                let (conv, ticket, _) = self
                    .create_conversation_in(
                        &mut tx,
                        &system,
                        NewConversation {
                            channel: Channel::Call,
                            channel_account: Some(channel.number.clone()),
                            workspace: channel.workspace,
                            team: Some(channel.team_id),
                            owner: None,
                            contact,
                            visitor_name: None,
                            visitor_email: None,
                            subject: Some(format!("Call from {who}")),
                            ticket: if channel.workspace == Workspace::HelpDesk {
                                rules::TicketCreation::Automatic
                            } else {
                                rules::TicketCreation::None
                            },
                        },
                        None,
                        now,
                    )
                    .await?;
                let mut values: BTreeMap<String, Option<String>> =
                    call_values(kind, &event, recording.as_deref())
                        .into_iter()
                        .map(|(k, v)| (k, Some(v)))
                        .collect();
                values.insert("hs_timestamp".into(), Some(at.to_string()));
                values.insert("hs_call_title".into(), Some(format!("Call from {who}")));
                values.insert("hs_call_direction".into(), Some("INBOUND".into()));
                values.insert(
                    "hs_call_from_number".into(),
                    Some(
                        caller
                            .clone()
                            .unwrap_or_else(|| event.from.trim().to_string()),
                    ),
                );
                values.insert("hs_call_to_number".into(), Some(channel.number.clone()));
                values.insert(
                    "hs_call_source".into(),
                    Some("INTEGRATIONS_PLATFORM".into()),
                );
                if let Some(c) = contact {
                    values.insert("hs_call_callee_object_id".into(), Some(c.to_string()));
                    values.insert("hs_call_callee_object_type".into(), Some("CONTACT".into()));
                }
                let mut ends = Vec::new();
                if let Some(t) = &ticket {
                    ends.push(AssociationEnd::new(ObjectType::Ticket, t.id.0));
                }
                if let Some(c) = contact {
                    ends.push(AssociationEnd::new(ObjectType::Contact, c.0));
                }
                let (engagement, more) = crate::engagements::create_in(
                    self,
                    &mut tx,
                    &system,
                    ObjectType::Call,
                    &values,
                    &ends,
                    now,
                )
                .await?;
                events.extend(more);
                tx.insert_calling_call(
                    &CallingCall {
                        channel_id: channel.id,
                        provider_call_id: call_id.to_string(),
                        conversation_id: conv.id,
                        engagement_id: engagement,
                    },
                    now,
                )
                .await?;
                events.push(Event::ConversationChanged(conv.id));
                if let Some(t) = &ticket {
                    events.push(Event::TicketChanged(t.id));
                }
                CallEventOutcome::Applied {
                    conversation: conv.id,
                    ticket: ticket.map(|t| t.id),
                    call: engagement,
                    created: true,
                }
            }
        };
        tx.commit().await?;
        self.publish(events);
        Ok(outcome)
    }
}

/// The call engagement's properties an event sets (besides who and when).
fn call_values(
    kind: CallEventKind,
    event: &CallEvent,
    recording: Option<&str>,
) -> Vec<(String, String)> {
    let mut out = vec![(
        "hs_call_status".to_string(),
        kind.hs_call_status().to_string(),
    )];
    match kind {
        CallEventKind::Completed => {
            out.push(("hs_call_disposition".into(), disposition::CONNECTED.into()));
        }
        CallEventKind::Missed => {
            out.push(("hs_call_disposition".into(), disposition::NO_ANSWER.into()));
        }
        _ => {}
    }
    if let Some(d) = event.duration_ms {
        out.push(("hs_call_duration".into(), d.to_string()));
    }
    if let Some(r) = recording {
        out.push(("hs_call_recording_url".into(), r.to_string()));
    }
    out
}
