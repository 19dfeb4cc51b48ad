//! The `mail.ingest` job: one stored raw message → parsed, classified, threaded (HD-07) and
//! written as a conversation message, a new conversation with its ticket, a bounce mark on
//! our own message, or nothing (noise) — in one transaction that also records the outcome
//! and deletes the job, so running it twice changes nothing.
//!
//! Threading, in order (the first that holds wins, and the message records which):
//! 1. `reply_address`: a recipient is `address+<token>@…` of one of our conversations;
//! 2. `references`: In-Reply-To/References (every entry, In-Reply-To first, then newest to
//!    oldest) name a message of a conversation — or an id that an earlier message of it
//!    also referred to and we never received (a ghost parent); a conversation the sender
//!    takes part in is preferred, else the first one named;
//! 3. `subject_tag`: the subject carries `[#<ticket>]` and the sender took part in it.
//!
//! Only mail that none of them matches opens a new ticket: a changed subject on a reply does
//! not, and a reply from someone not yet on the conversation joins it with a notice naming
//! the new participant. A reply to a closed ticket
//! reopens it: the ticket moves to its pipeline's first open stage (INB-11 then reopens its
//! conversation). Auto-replies and bulk mail only ever join an existing thread, silently
//! (nothing reopens); bounces never become messages.
//!
//! A message's identity is its Message-ID, else a hash of what its sender sent
//! (`fd_mail::identity`: without the trace and delivery fields each delivery adds).

use fd_domain::*;
use fd_mail::html::{RemoteContent, SanitizeOptions};
use fd_mail::{Automation, ParseOptions, ParsedMail};
use fd_store::{
    AttachmentMeta, Conversation, MessageMailMeta, NewMessage, RawMail, RawMailOutcome, Recipients,
    Tx,
};

use crate::crm::AssociationEnd;
use crate::mail::{MailService, prepare_outbound_email};
use crate::{Actor, AppError, Event, InboundMessage, NewConversation, TicketCreation};

/// Where a message was addressed to among our connected addresses.
#[derive(Debug, Clone)]
struct Target {
    address: String,
    team: TeamId,
    workspace: Workspace,
    token: Option<String>,
}

/// A raw message read and parsed, ready to apply.
struct Loaded {
    raw: RawMail,
    content: Vec<u8>,
    parsed: Result<(ParsedMail, Prepared), fd_mail::parse::ParseError>,
}

/// What a message's content becomes whatever thread it joins: worked out before the write
/// transaction, because splitting and sanitising cost far more than the writes and SQLite
/// has a single writer.
struct Prepared {
    split: fd_mail::split::SplitReply,
    /// The text as stored: the new part of a reply, or everything when nothing is new.
    text: String,
    /// Stored sanitised (remote images and `cid:` kept) so that no reader of the messages
    /// table can ever get script. This is the only parse of the HTML: views serve it through
    /// the linear rewrite of `fd_mail::html_serve`. HTML beyond `fd_mail::html_bound`'s
    /// bounds never gets here (parsing flattened it to text, with a notice).
    html: Option<String>,
    blocked_remote_images: usize,
    /// SHA-256 of each attachment, in order.
    attachment_hashes: Vec<String>,
}

fn prepare(mail: &ParsedMail) -> Prepared {
    let split = fd_mail::split::split_reply(&mail.text);
    let text = if split.reply.trim().is_empty() {
        mail.text.trim().to_string()
    } else {
        split.reply.clone()
    };
    // One pass keeps remote images and counts them: what the agent's view blocks.
    let sanitized = mail.html.as_ref().map(|h| {
        // Parsing kept the HTML only if it was within the bounds: not measured again.
        fd_mail::html::sanitize_within_bounds(
            h,
            &SanitizeOptions {
                remote: RemoteContent::Allow,
                keep_cid: true,
                ..SanitizeOptions::default()
            },
        )
    });
    let blocked_remote_images = sanitized.as_ref().map_or(0, |s| s.remote_images);
    let html = sanitized.map(|s| s.html);
    Prepared {
        split,
        text,
        html,
        blocked_remote_images,
        attachment_hashes: mail
            .attachments
            .iter()
            .map(|a| fd_mail::sha256_hex(&a.data))
            .collect(),
    }
}

/// What the job did (for logs and the raw mail row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestResult {
    pub outcome: String,
    pub conversation: Option<ConversationId>,
    pub message: Option<MessageId>,
    pub ticket: Option<TicketId>,
}

/// How many never-received ids one message may record (the newest of its references).
const MAX_GHOSTS_PER_MESSAGE: usize = 20;

/// The `mail_inbound_keys` key under which a referenced, never-received id is recorded.
fn ghost_key(id: &str) -> String {
    format!("ref:{id}")
}

/// See [`MailService::ingest_batch`].
const MIN_MESSAGES_PER_COMMIT: usize = 8;

fn outcome(status: &'static str, what: &str, detail: Option<String>) -> RawMailOutcome {
    RawMailOutcome {
        status,
        outcome: what.to_string(),
        detail,
        message_id_header: None,
        conversation_id: None,
        message_id: None,
    }
}

impl MailService {
    /// Reads raw messages and parses them, outside any write transaction: parsing a large
    /// message must not hold SQLite's single write lock. Messages that are gone (purged) are
    /// left out.
    async fn load_and_parse(&self, raw_ids: &[i64]) -> Result<Vec<Loaded>, AppError> {
        let mut tx = self.app().db().read().await?;
        let rows = tx.raw_mails_with_content(raw_ids).await?;
        tx.commit().await?;
        let max_attachment_bytes = self.settings().max_message_bytes;
        // CPU work off the async workers, which keep serving SMTP sessions and the writer.
        tokio::task::spawn_blocking(move || {
            rows.into_iter()
                .map(|(raw, content)| {
                    let options = ParseOptions {
                        max_attachment_bytes,
                        envelope_from: raw.envelope_from.clone(),
                        truncated_from: raw
                            .truncated
                            .then_some(u64::try_from(raw.size).unwrap_or(0)),
                    };
                    let parsed = fd_mail::parse(&content, &options).map(|mail| {
                        let prepared = prepare(&mail);
                        (mail, prepared)
                    });
                    Loaded {
                        raw,
                        content,
                        parsed,
                    }
                })
                .collect()
        })
        .await
        .map_err(|e| AppError::Internal(format!("mail parsing stopped: {e}")))
    }

    /// Applies one loaded message inside `tx` (idempotent: a message already processed is
    /// left alone).
    async fn apply(
        &self,
        tx: &mut Tx,
        loaded: Loaded,
        pending: bool,
        now: i64,
    ) -> Result<(IngestResult, Vec<Event>), AppError> {
        let raw_id = loaded.raw.id;
        // Another worker may have finished it meanwhile (an expired lease): then its
        // recorded outcome stands.
        if !pending {
            let r = tx.raw_mail(raw_id).await?;
            return Ok((
                IngestResult {
                    outcome: r.as_ref().map_or_else(
                        || "missing".into(),
                        |r| r.outcome.clone().unwrap_or_default(),
                    ),
                    conversation: r.as_ref().and_then(|r| r.conversation_id),
                    message: r.as_ref().and_then(|r| r.message_id),
                    ticket: None,
                },
                Vec::new(),
            ));
        }
        match loaded.parsed {
            Err(e) => {
                // Kept raw and listed for admins (`admin list-failed-mail`).
                tx.finish_raw_mail(
                    raw_id,
                    &outcome("failed", "unparseable", Some(e.to_string())),
                    now,
                )
                .await?;
                Ok((
                    IngestResult {
                        outcome: "unparseable".into(),
                        conversation: None,
                        message: None,
                        ticket: None,
                    },
                    Vec::new(),
                ))
            }
            Ok((mail, prepared)) => {
                self.ingest_parsed(tx, &loaded.raw, &loaded.content, mail, prepared, now)
                    .await
            }
        }
    }

    /// Runs the ingest job of raw mail `raw_id`; `job` is deleted in the same transaction.
    pub(crate) async fn ingest(
        &self,
        raw_id: i64,
        job: Option<(i64, &str)>,
    ) -> Result<IngestResult, AppError> {
        let loaded = self.load_and_parse(&[raw_id]).await?.pop();
        let now = self.app().now();
        let mut tx = self.app().db().write().await?;
        let (result, events) = match loaded {
            Some(l) => {
                let pending = !tx.raw_mail_attempts(&[raw_id]).await?.is_empty();
                self.apply(&mut tx, l, pending, now).await?
            }
            None => (
                IngestResult {
                    outcome: "missing".into(),
                    conversation: None,
                    message: None,
                    ticket: None,
                },
                Vec::new(),
            ),
        };
        if let Some((id, worker)) = job {
            tx.complete_job(id, worker).await?;
        }
        tx.commit().await?;
        self.app().publish(events);
        Ok(result)
    }

    /// Several ingest jobs in as few write transactions as possible (one lock hand-over and
    /// one commit for many messages). When mail acceptance is waiting for the writer (SMTP
    /// answers 250 only after its commit), the work done so far commits and the writer is
    /// handed over before the rest goes on: a sending server never waits for a whole batch.
    /// Any error rolls back the transaction in progress and the caller runs the remaining
    /// jobs one by one, so one poison message cannot hold up the others; `committed`
    /// collects the jobs each transaction completed as it commits, so the caller neither
    /// runs nor counts those again.
    pub(crate) async fn ingest_batch(
        &self,
        jobs: &[(i64, i64)],
        worker: &str,
        committed: &mut Vec<i64>,
    ) -> Result<usize, AppError> {
        let raw_ids: Vec<i64> = jobs.iter().map(|(_, raw)| *raw).collect();
        let job_of = |raw: i64| jobs.iter().find(|(_, r)| *r == raw).map(|(j, _)| *j);
        let loaded = self.load_and_parse(&raw_ids).await?;
        let loaded_ids: Vec<i64> = loaded.iter().map(|l| l.raw.id).collect();
        let mut loaded = loaded.into_iter().peekable();
        // Jobs whose raw mail is gone complete with the first transaction.
        let mut finished: Vec<i64> = jobs
            .iter()
            .filter(|(_, raw)| !loaded_ids.contains(raw))
            .map(|(job, _)| *job)
            .collect();
        let mut pending: Option<Vec<i64>> = None;
        loop {
            let now = self.app().now();
            let mut tx = self.app().db().write().await?;
            // Checked once: the jobs' lease keeps other workers away for the rest of the batch.
            if pending.is_none() {
                pending = Some(tx.raw_mail_attempts(&loaded_ids).await?);
            }
            let still = pending.as_deref().unwrap_or_default();
            let mut events = Vec::new();
            let mut applied = 0;
            for l in loaded.by_ref() {
                let raw = l.raw.id;
                let (_, ev) = self.apply(&mut tx, l, still.contains(&raw), now).await?;
                events.extend(ev);
                finished.extend(job_of(raw));
                applied += 1;
                // A few messages per transaction at least, or the commits cost more than
                // the messages and ingestion falls behind acceptance.
                if applied >= MIN_MESSAGES_PER_COMMIT && self.app().db().writer_wanted() {
                    break;
                }
            }
            tx.complete_jobs(&finished, worker).await?;
            tx.commit().await?;
            committed.append(&mut finished);
            self.app().publish(events);
            if loaded.peek().is_none() {
                return Ok(jobs.len());
            }
        }
    }

    async fn targets(
        &self,
        tx: &mut Tx,
        raw: &RawMail,
        mail: &ParsedMail,
    ) -> Result<Vec<Target>, AppError> {
        // The envelope names the recipients; without one (IMAP, mailgate without
        // --recipient) the delivery headers and then To/Cc do.
        let mut candidates: Vec<String> = raw.recipients.clone();
        if candidates.is_empty() {
            candidates.extend(mail.delivered_to.iter().cloned());
            candidates.extend(mail.to.iter().map(|m| m.address.clone()));
            candidates.extend(mail.cc.iter().map(|m| m.address.clone()));
        } else {
            // Also notice tokens in To/Cc when the envelope went to the plain address.
            candidates.extend(mail.to.iter().map(|m| m.address.clone()));
            candidates.extend(mail.cc.iter().map(|m| m.address.clone()));
        }
        let mut out: Vec<Target> = Vec::new();
        // The envelope usually repeats To: look each address up once.
        let mut looked_up: Vec<String> = Vec::new();
        for c in candidates {
            let Some(addr) = fd_mail::address::normalize(&c) else {
                continue;
            };
            let (base, token) = fd_mail::address::split_detail(&addr);
            if looked_up.contains(&addr) {
                continue;
            }
            looked_up.push(addr);
            if let Some(existing) = out.iter_mut().find(|t| t.address == base) {
                if existing.token.is_none() {
                    existing.token = token;
                }
                continue;
            }
            if let Some((team, workspace)) = tx.team_address(&base).await? {
                out.push(Target {
                    address: base,
                    team,
                    workspace,
                    token,
                });
            }
        }
        Ok(out)
    }

    async fn ingest_parsed(
        &self,
        tx: &mut Tx,
        raw: &RawMail,
        content: &[u8],
        mail: ParsedMail,
        prepared: Prepared,
        now: i64,
    ) -> Result<(IngestResult, Vec<Event>), AppError> {
        let system = Actor::system();
        let targets = self.targets(tx, raw, &mail).await?;
        // Without a Message-ID the identity is what the sender sent: the bytes as stored
        // carry the Return-Path/Received lines of this delivery, so hashing them made every
        // redelivery a new message (and a new ticket). See `fd_mail::identity`.
        let key = match &mail.message_id {
            Some(id) => format!("mid:{id}"),
            None => fd_mail::identity::content_key(content),
        };
        let mut result = IngestResult {
            outcome: String::new(),
            conversation: None,
            message: None,
            ticket: None,
        };

        // Bounces: mark our message failed; never a ticket, never an answer.
        if let Automation::Bounce(info) = &mail.automation {
            let mut found = None;
            if let Some(orig) = &info.original_message_id {
                found = tx
                    .messages_by_header(std::slice::from_ref(orig))
                    .await?
                    .into_iter()
                    .find(|m| m.direction == Direction::Outbound);
            }
            if found.is_none() {
                // VERP-style: the bounce came back to a conversation's reply address.
                for t in &targets {
                    if let Some(tok) = &t.token
                        && let Some(conv) = tx.conversation_by_reply_token(tok).await?
                    {
                        found = tx
                            .messages(&ViewerScope::All, conv)
                            .await?
                            .unwrap_or_default()
                            .into_iter()
                            .rev()
                            .find(|m| m.direction == Direction::Outbound)
                            .map(|m| fd_store::HeaderMatch {
                                message_id: m.id,
                                conversation_id: m.conversation_id,
                                direction: m.direction,
                                header: m.message_id_header.unwrap_or_default(),
                            });
                    }
                }
            }
            let summary = info.summary();
            let mut events = Vec::new();
            let mut o = outcome("ignored", "bounce", Some(summary.clone()));
            if let Some(m) = found {
                if info.permanent {
                    tx.set_message_status(
                        m.message_id,
                        DeliveryStatus::Failed,
                        Some(&format!("bounced: {summary}")),
                    )
                    .await?;
                }
                o.outcome = if info.permanent {
                    "bounce_marked_failed".into()
                } else {
                    "bounce_delay".into()
                };
                o.conversation_id = Some(m.conversation_id);
                o.message_id = Some(m.message_id);
                events.push(Event::ConversationChanged(m.conversation_id));
                result.conversation = Some(m.conversation_id);
                result.message = Some(m.message_id);
            }
            o.message_id_header = mail.message_id.clone();
            tx.finish_raw_mail(raw.id, &o, now).await?;
            result.outcome = o.outcome;
            return Ok((result, events));
        }
        if matches!(mail.automation, Automation::Feedback) {
            tx.finish_raw_mail(
                raw.id,
                &outcome("ignored", "feedback_report", Some(mail.automation.reason())),
                now,
            )
            .await?;
            result.outcome = "feedback_report".into();
            return Ok((result, Vec::new()));
        }
        let Some(primary) = targets.first().cloned() else {
            tx.finish_raw_mail(
                raw.id,
                &outcome(
                    "failed",
                    "no_connected_recipient",
                    Some("none of the recipients is a connected email address".into()),
                ),
                now,
            )
            .await?;
            result.outcome = "no_connected_recipient".into();
            return Ok((result, Vec::new()));
        };

        // Idempotency: one message identity, one conversation message.
        if let Some((owner, existing)) = tx.claim_inbound_key(&key, raw.id, now).await?
            && owner != raw.id
        {
            let mut o = outcome(
                "done",
                "duplicate",
                Some(format!(
                    "the same message was already received (raw mail {owner})"
                )),
            );
            o.message_id = existing;
            o.message_id_header = mail.message_id.clone();
            tx.finish_raw_mail(raw.id, &o, now).await?;
            result.outcome = "duplicate".into();
            result.message = existing;
            return Ok((result, Vec::new()));
        }

        let sender = mail
            .from
            .clone()
            .or_else(|| mail.sender.clone())
            .or_else(|| mail.reply_to.first().cloned());
        let sender_addresses: Vec<String> = [
            sender.as_ref().map(|m| m.address.clone()),
            mail.reply_to.first().map(|m| m.address.clone()),
            raw.envelope_from.clone().filter(|e| !e.is_empty()),
        ]
        .into_iter()
        .flatten()
        .collect();

        // Threading (HD-07).
        let mut thread: Option<(Conversation, &'static str)> = None;
        for t in &targets {
            if let Some(tok) = &t.token
                && let Some(cid) = tx.conversation_by_reply_token(tok).await?
                && let Some(c) = tx.conversation(&ViewerScope::All, cid).await?
                && c.trashed_at.is_none()
            {
                thread = Some((c, "reply_address"));
                break;
            }
        }
        // The ids this message refers to, and the ghosts among them (ids of messages we
        // never received, recorded when an earlier message referred to them too).
        let refs = mail.referenced_ids();
        let mut ghost_keys: Vec<String> = refs.iter().map(|r| ghost_key(r)).collect();
        if let Some(own) = &mail.message_id {
            // Replies that arrived before this message (out of order) point at it.
            ghost_keys.push(ghost_key(own));
        }
        let header_matches = tx.messages_by_header(&refs).await?;
        let ghosts = tx.inbound_key_conversations(&ghost_keys).await?;
        // Whether the sender is on the matched conversation, when threading found out.
        let mut sender_on_thread: Option<bool> = None;
        if thread.is_none() {
            // Every entry, In-Reply-To first, then References newest to oldest: the first
            // that names a live conversation of which the sender is a participant wins. Only
            // when none does, the first live one is taken, from a new participant (a colleague
            // in Cc, a list member): stopping at the first known entry sent a participant's
            // reply away from their own conversation whenever a newer entry named another.
            let mut candidates: Vec<ConversationId> = Vec::new();
            for r in &refs {
                let found = header_matches
                    .iter()
                    .find(|m| &m.header == r)
                    .map(|m| m.conversation_id)
                    .or_else(|| {
                        let k = ghost_key(r);
                        ghosts.iter().find(|(g, _)| *g == k).map(|(_, c)| *c)
                    });
                if let Some(cid) = found
                    && !candidates.contains(&cid)
                {
                    candidates.push(cid);
                }
            }
            if let Some(own) = &mail.message_id {
                let k = ghost_key(own);
                if let Some((_, cid)) = ghosts.iter().find(|(g, _)| *g == k)
                    && !candidates.contains(cid)
                {
                    candidates.push(*cid);
                }
            }
            let mut first_live: Option<Conversation> = None;
            for cid in candidates {
                let Some(c) = tx.conversation(&ViewerScope::All, cid).await? else {
                    continue;
                };
                if c.trashed_at.is_some() {
                    continue;
                }
                let participants = tx.conversation_participants(c.id).await?;
                if sender_addresses.iter().any(|s| participants.contains(s)) {
                    thread = Some((c, "references"));
                    sender_on_thread = Some(true);
                    break;
                }
                if first_live.is_none() {
                    first_live = Some(c);
                }
            }
            if thread.is_none()
                && let Some(c) = first_live
            {
                thread = Some((c, "references"));
                sender_on_thread = Some(false);
            }
        }
        // The `[#id]` tag needs a participant: ticket ids are sequential, so anybody can
        // write one, while a reference or a reply token is only known to whoever got the
        // mail (ours are random).
        if thread.is_none()
            && let Some(subject) = &mail.subject
        {
            for ticket in fd_mail::thread::tags_in_subject(subject) {
                // A merged-away ticket's tag answers on the ticket it was merged into.
                let ticket = tx
                    .ticket_following_merges(TicketId(ticket), crate::crm::MAX_MERGE_HOPS)
                    .await?;
                let convs = tx
                    .conversations_of_ticket(&ViewerScope::All, ticket, false)
                    .await?;
                if let Some(c) = convs
                    .into_iter()
                    .find(|c| fd_domain::engagements::hd_15_answered_by_email(c.channel))
                {
                    let participants = tx.conversation_participants(c.id).await?;
                    if sender_addresses.iter().any(|s| participants.contains(s)) {
                        thread = Some((c, "subject_tag"));
                        sender_on_thread = Some(true);
                        break;
                    }
                }
            }
        }
        // A reply that references the ticket stays on it whatever its subject says (people
        // edit subjects of replies; notmuch, RT and Zendesk keep them on their thread):
        // only mail with no matching reference, reply token or tag opens a new ticket.
        //
        // A reply from someone not yet on the conversation stays on it too, flagged (as
        // Zendesk flags a comment from a user who is not the requester or a CC): the agent
        // sees who joined, and from then on the sender is among the conversation's
        // participants (they are derived from its messages' senders and recipients). This
        // leaks nothing: threading a message in sends no mail (only a new ticket may get an
        // acknowledgement), an agent's reply goes to whom the agent picks, and a reply token
        // routes to its own conversation only — mail carrying the token of one ticket and
        // references into another joins the token's, because only the token proves which
        // mail its sender received.
        let new_participant = match &thread {
            Some((c, _)) if mail.automation.opens_ticket() => {
                let on = match sender_on_thread {
                    Some(on) => on,
                    None => {
                        let participants = tx.conversation_participants(c.id).await?;
                        sender_addresses.iter().any(|s| participants.contains(s))
                    }
                };
                sender.as_ref().filter(|_| !on).map(|s| s.address.clone())
            }
            _ => None,
        };

        // The message as stored.
        let Prepared {
            split,
            text,
            html,
            blocked_remote_images: blocked,
            attachment_hashes,
        } = prepared;
        let mut attachments = Vec::new();
        for (a, sha) in mail.attachments.iter().zip(attachment_hashes) {
            tx.put_blob(&sha, &a.data, now).await?;
            attachments.push(AttachmentMeta {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.data.len() as i64,
                sha256: sha,
                content_id: a.content_id.clone(),
            });
        }
        let inbound = InboundMessage {
            sender_name: sender.as_ref().and_then(|s| s.name.clone()),
            sender_address: sender.as_ref().map(|s| s.address.clone()),
            recipients: Recipients {
                to: mail.to.iter().map(|m| m.address.clone()).collect(),
                cc: mail.cc.iter().map(|m| m.address.clone()).collect(),
                bcc: Vec::new(),
            },
            subject: mail.subject.clone(),
            text,
            html,
            attachments,
            message_id_header: mail.message_id.clone(),
            in_reply_to: mail.in_reply_to.first().cloned(),
            references_header: (!mail.references.is_empty()).then(|| mail.references.join(" ")),
        };
        let automated = !mail.automation.opens_ticket();
        let mut events = Vec::new();
        let (conv_id, msg_id, signal) = match thread {
            Some((c, signal)) => {
                // A customer's reply reopens a closed ticket: the use case decides (INB-11).
                let (mid, c2, reopened) = self
                    .app()
                    .record_inbound_in(tx, &system, c.id, inbound, !automated, now)
                    .await?;
                events.extend(reopened);
                events.push(Event::MessageAdded {
                    conversation: c2.id,
                    ticket: c2.ticket_id,
                });
                result.ticket = c2.ticket_id;
                (c2.id, mid, signal)
            }
            None if automated => {
                let mut o = outcome(
                    "ignored",
                    mail.automation.label(),
                    Some(mail.automation.reason()),
                );
                o.message_id_header = mail.message_id.clone();
                tx.finish_raw_mail(raw.id, &o, now).await?;
                result.outcome = mail.automation.label().to_string();
                return Ok((result, Vec::new()));
            }
            None => {
                // The sender becomes a contact (found by address, or created now by the
                // system), so the ticket and conversation are the contact's from the start.
                let contact = match &sender {
                    Some(s) if EmailAddress::parse(&s.address).is_ok() => {
                        let (id, linked) = crate::crm::contact_for_sender_in(
                            self.app(),
                            tx,
                            &system,
                            &s.address,
                            s.name.as_deref(),
                            now,
                        )
                        .await?;
                        events.extend(linked);
                        Some(id)
                    }
                    _ => None,
                };
                let subject = mail
                    .subject
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| "(no subject)".to_string());
                let visitor_email = sender
                    .as_ref()
                    .map(|s| s.address.clone())
                    .filter(|a| EmailAddress::parse(a).is_ok());
                let (c, ticket, mid) = self
                    .app()
                    .create_conversation_in(
                        tx,
                        &system,
                        NewConversation {
                            channel: Channel::Email,
                            channel_account: Some(primary.address.clone()),
                            workspace: primary.workspace,
                            team: Some(primary.team),
                            owner: None,
                            contact: if visitor_email.is_some() {
                                contact
                            } else {
                                None
                            },
                            visitor_name: sender.as_ref().and_then(|s| s.name.clone()),
                            visitor_email,
                            subject: Some(subject),
                            ticket: match primary.workspace {
                                Workspace::HelpDesk => TicketCreation::Automatic,
                                Workspace::Inbox => TicketCreation::None,
                            },
                        },
                        Some(inbound),
                        now,
                    )
                    .await?;
                let mid = mid
                    .ok_or_else(|| AppError::Internal("the first message was not stored".into()))?;
                events.push(Event::ConversationChanged(c.id));
                if let Some(t) = &ticket {
                    events.push(Event::TicketChanged(t.id));
                    result.ticket = Some(t.id);
                }
                self.acknowledge(
                    tx,
                    &c,
                    ticket.as_ref().map(|t| t.id),
                    &primary,
                    &mail,
                    raw,
                    now,
                )
                .await?;
                (c.id, mid, "new")
            }
        };
        tx.set_inbound_key_message(&key, msg_id, conv_id).await?;
        // Ids referred to that name no message we have (the root of a thread we were copied
        // into later, a list post we never got): recorded for this conversation, so that
        // other replies to the same missing message join it, as notmuch and JWZ threading
        // join siblings under a missing parent. The first conversation to record one keeps it.
        for r in refs
            .iter()
            .filter(|r| !header_matches.iter().any(|m| &m.header == *r))
            .take(MAX_GHOSTS_PER_MESSAGE)
        {
            let k = ghost_key(r);
            if tx.claim_inbound_key(&k, raw.id, now).await?.is_none() {
                tx.set_inbound_key_message(&k, msg_id, conv_id).await?;
            }
        }
        let mut notices = mail.notices.clone();
        if let Some(who) = &new_participant {
            notices.push(format!(
                "New participant: {who} was not on this conversation before this message, which replies to it; they are now one of its participants."
            ));
            if let Some(ticket) = result.ticket
                && let Some(contact) = tx.contact_by_email(who).await?
            {
                // Recorded on the ticket as well, as Zendesk adds a CC: their contact is
                // associated with it.
                events.extend(
                    self.app()
                        .associate_in(
                            tx,
                            &system,
                            AssociationEnd::new(ObjectType::Ticket, ticket.0),
                            AssociationEnd::new(ObjectType::Contact, contact.id.0),
                            now,
                        )
                        .await?,
                );
            }
        }
        if let Automation::AutoReply(r) | Automation::Bulk(r) = &mail.automation {
            notices.push(format!(
                "Automatic message ({r}); it did not reopen anything."
            ));
        }
        tx.upsert_message_meta(&MessageMailMeta {
            message_id: msg_id,
            raw_mail_id: Some(raw.id),
            thread_signal: Some(signal.to_string()),
            quoted_text: split.quoted.clone(),
            signature: split.signature.clone(),
            notices,
            automation: Some(mail.automation.label().to_string()),
            auto_submitted: false,
            blocked_remote_images: blocked as i64,
        })
        .await?;
        let what = if signal == "new" {
            "conversation_created"
        } else {
            "threaded"
        };
        let mut o = outcome("done", what, Some(format!("signal: {signal}")));
        o.message_id_header = mail.message_id.clone();
        o.conversation_id = Some(conv_id);
        o.message_id = Some(msg_id);
        tx.finish_raw_mail(raw.id, &o, now).await?;
        result.outcome = what.to_string();
        result.conversation = Some(conv_id);
        result.message = Some(msg_id);
        Ok((result, events))
    }

    /// The acknowledgement of a new ticket, when the address asks for one — never to
    /// automatic senders, lists, machine addresses or ourselves, and at most once per sender
    /// per interval (RFC 3834 §2).
    #[allow(clippy::too_many_arguments)]
    async fn acknowledge(
        &self,
        tx: &mut Tx,
        c: &Conversation,
        ticket: Option<TicketId>,
        target: &Target,
        mail: &ParsedMail,
        raw: &RawMail,
        now: i64,
    ) -> Result<(), AppError> {
        if !tx.auto_acknowledge(&target.address).await? {
            return Ok(());
        }
        if mail.automation != Automation::Human
            || mail.has_list_headers
            || raw.envelope_from.as_deref() == Some("")
        {
            return Ok(());
        }
        let Some(to) = mail.reply_address().map(|m| m.address.clone()) else {
            return Ok(());
        };
        let (to_base, _) = fd_mail::address::split_detail(&to);
        if fd_mail::address::is_machine_sender(&to) || tx.team_address(&to_base).await?.is_some() {
            return Ok(());
        }
        if let Some(last) = tx.autoreply_last_sent(&to).await?
            && now - last < self.settings().autoreply_interval_ms
        {
            return Ok(());
        }
        tx.record_autoreply(&to, now).await?;
        let reference = ticket
            .map(|t| format!(" (ticket #{t})"))
            .unwrap_or_default();
        let text = format!(
            "Hello,\n\nthank you for your message{reference}. We received it and will answer as soon as we can.\nTo add anything, simply reply to this email.\n"
        );
        let subject =
            fd_mail::thread::reply_subject(mail.subject.as_deref().unwrap_or("your request"));
        let team_name = tx.team(target.team).await?.map(|t| t.name);
        let mid = tx
            .insert_message(&NewMessage {
                conversation_id: c.id,
                direction: Direction::Outbound,
                channel: Channel::Email,
                sender_user_id: None,
                sender_name: team_name,
                sender_address: Some(target.address.clone()),
                recipients: Recipients {
                    to: vec![to],
                    cc: Vec::new(),
                    bcc: Vec::new(),
                },
                subject: Some(subject),
                text,
                html: None,
                attachments: Vec::new(),
                message_id_header: None,
                in_reply_to: mail.message_id.clone(),
                references_header: mail.message_id.clone(),
                reply_to_message_id: None,
                status: DeliveryStatus::Queued,
                created_at: now,
            })
            .await?;
        prepare_outbound_email(tx, c, mid, Some(&target.address), true, now).await
    }
}
