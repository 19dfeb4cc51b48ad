//! The email channel's use cases. Transports (SMTP listener, IMAP poller, mailgate) hand raw
//! mail to [`MailService`], which stores it and enqueues a `mail.ingest` job in one
//! transaction before they acknowledge it (raw-mail-first); jobs then parse and thread it
//! (`mail_ingest.rs`) and send replies through the relay (`mail_jobs.rs`).
//!
//! Mail syntax stays in fd-mail: this module sees parsed values and raw bytes only.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use fd_domain::*;
use fd_mail::html::RemoteContent;
use fd_mail::{DeliveryError, IncomingMail, MailSink, MailSource, RecipientVerdict};
use fd_store::{AttachmentMeta, Conversation, MessageMailMeta, NewRawMail, RawMail, Tx};

use crate::{Actor, App, AppError};

/// Job kinds.
pub(crate) const JOB_INGEST: &str = "mail.ingest";
pub(crate) const JOB_SEND: &str = "mail.send";

/// Tunables of the mail channel.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// Largest message kept whole (SMTP SIZE, IMAP, mailgate); default 25 MB.
    pub max_message_bytes: usize,
    /// The outgoing relay; `None` keeps replies as "not sent".
    pub relay: Option<fd_mail::send::Relay>,
    /// RFC 3834 §2: at most one automatic reply per sender in this interval.
    pub autoreply_interval_ms: i64,
    /// Sending attempts before a reply is marked failed.
    pub send_max_attempts: i64,
    /// First retry delay; doubled per attempt, capped at an hour.
    pub send_backoff_ms: i64,
    /// Lease holder name of this node's workers.
    pub worker: String,
    /// Jobs claimed per round. Small enough that several workers alternate (one parses its
    /// batch while another writes), large enough that a commit serves many messages.
    pub batch: i64,
    /// The address people reach the web UI at (`https://help.example.com`): links in
    /// notification emails start with it.
    pub public_url: Option<String>,
    /// The From address of notification emails (default: the first connected address).
    pub notify_from: Option<String>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            max_message_bytes: fd_mail::DEFAULT_MAX_MESSAGE_BYTES,
            relay: None,
            autoreply_interval_ms: 60 * 60 * 1000,
            send_max_attempts: 8,
            send_backoff_ms: 30_000,
            worker: format!(
                "node-{}-{}",
                std::process::id(),
                fd_mail::build::random_token(6)
            ),
            batch: 16,
            public_url: None,
            notify_from: None,
        }
    }
}

/// Connected addresses seen recently, so `RCPT TO` does not cost a query each time. A miss
/// always asks the database, so a newly connected address works at once.
#[derive(Default)]
struct AddressCache {
    known: HashMap<String, Instant>,
}

const ADDRESS_CACHE_TTL: Duration = Duration::from_secs(5);

/// The mail channel of one node: the sink for transports and the job runner.
#[derive(Clone)]
pub struct MailService {
    app: App,
    settings: Arc<MailSettings>,
    wake: Arc<tokio::sync::Notify>,
    cache: Arc<RwLock<AddressCache>>,
    committer: Arc<std::sync::OnceLock<tokio::sync::mpsc::Sender<PendingAccept>>>,
}

impl MailService {
    pub fn new(app: App, settings: MailSettings) -> MailService {
        MailService {
            app,
            settings: Arc::new(settings),
            wake: Arc::new(tokio::sync::Notify::new()),
            cache: Arc::new(RwLock::new(AddressCache::default())),
            committer: Arc::new(std::sync::OnceLock::new()),
        }
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn settings(&self) -> &MailSettings {
        &self.settings
    }

    /// Sends one automatic email (a notification, a digest, a satisfaction survey) straight
    /// to the relay, from `--notify-from` or else the first connected address, marked
    /// `Auto-Submitted` with a null reverse-path (RFC 3834 §3.3): nothing answers it and it
    /// never threads back in as a ticket. `what` names the email in errors. Without a relay
    /// it is an error, so the job retries and in the end is listed as failed.
    pub(crate) async fn send_automatic_mail(
        &self,
        what: &str,
        sender_name: &str,
        to: fd_mail::Mailbox,
        subject: &str,
        text: String,
    ) -> Result<(), AppError> {
        let Some(relay) = self.settings().relay.clone() else {
            return Err(AppError::Internal(format!(
                "no SMTP relay is configured (serve --smtp-relay): {what} not sent"
            )));
        };
        let from = match self.settings().notify_from.clone() {
            Some(f) => f,
            None => {
                let mut tx = self.app.db().read().await?;
                let a = tx.first_team_address().await?;
                tx.commit().await?;
                a.ok_or_else(|| {
                    AppError::Internal(format!(
                        "no address to send the {what} from (serve --notify-from, or connect an \
                         email address)"
                    ))
                })?
            }
        };
        let recipient = to.address.clone();
        let mail = fd_mail::build::OutgoingMail {
            from: fd_mail::Mailbox {
                name: Some(sender_name.to_string()),
                address: from.clone(),
            },
            to: vec![to],
            cc: Vec::new(),
            reply_to: None,
            subject: subject.to_string(),
            message_id: fd_mail::build::new_message_id(
                fd_mail::address::domain(&from).unwrap_or("localhost"),
            ),
            in_reply_to: None,
            references: Vec::new(),
            date: self.app.now() / 1000,
            text,
            html: None,
            auto_submitted: true,
            attachments: Vec::new(),
        };
        let raw = fd_mail::build::build_notification(&mail)
            .map_err(|e| AppError::Internal(format!("cannot build the {what}: {e}")))?;
        relay
            .send("", &[recipient], &raw)
            .await
            .map_err(|e| AppError::Internal(format!("sending the {what} failed: {e}")))?;
        Ok(())
    }

    /// Notified whenever this node stores new mail (job workers wait on it).
    pub fn wake_signal(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Is `address` (possibly `local+token@domain`) a connected address?
    pub async fn is_connected_address(&self, address: &str) -> Result<bool, AppError> {
        let Some(addr) = fd_mail::address::normalize(address) else {
            return Ok(false);
        };
        let (base, _) = fd_mail::address::split_detail(&addr);
        if let Ok(cache) = self.cache.read()
            && let Some(seen) = cache.known.get(&base)
            && seen.elapsed() < ADDRESS_CACHE_TTL
        {
            return Ok(true);
        }
        let mut tx = self.app.db().read().await?;
        let found = tx.team_address(&base).await?.is_some();
        tx.commit().await?;
        if found && let Ok(mut cache) = self.cache.write() {
            cache.known.insert(base, Instant::now());
        }
        Ok(found)
    }

    /// Raw-mail-first: stores the message exactly as received and enqueues its ingestion in
    /// one transaction. Returns the raw mail id once committed.
    ///
    /// Concurrent deliveries are committed together (group commit): a committer task takes
    /// everything waiting and writes it in one transaction, so eight SMTP clients cost one
    /// lock hand-over and one commit, not eight. Each caller still returns only after the
    /// commit that holds its message.
    pub async fn accept(&self, mail: IncomingMail) -> Result<i64, AppError> {
        let sender = self.committer.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel::<PendingAccept>(1024);
            tokio::spawn(commit_loop(self.app.clone(), self.wake.clone(), rx));
            tx
        });
        let (done, result) = tokio::sync::oneshot::channel();
        let stored = match sender.send(PendingAccept { mail, done }).await {
            Ok(()) => match result.await {
                Ok(r) => r,
                Err(_) => Err(AppError::Internal("the mail committer stopped".into())),
            },
            // The committer is gone (its runtime shut down): store directly.
            Err(tokio::sync::mpsc::error::SendError(p)) => {
                let ids = store_batch(&self.app, &[&p.mail]).await?;
                self.wake.notify_waiters();
                ids.into_iter()
                    .next()
                    .ok_or_else(|| AppError::Internal("nothing stored".into()))
            }
        };
        if stored.is_ok() {
            self.app.metrics().mail_accepted(1);
        }
        stored
    }
}

struct PendingAccept {
    mail: IncomingMail,
    done: tokio::sync::oneshot::Sender<Result<i64, AppError>>,
}

async fn commit_loop(
    app: App,
    wake: Arc<tokio::sync::Notify>,
    mut rx: tokio::sync::mpsc::Receiver<PendingAccept>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 128 {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let mails: Vec<&IncomingMail> = batch.iter().map(|p| &p.mail).collect();
        match store_batch(&app, &mails).await {
            Ok(ids) => {
                for (p, id) in batch.into_iter().zip(ids) {
                    let _ = p.done.send(Ok(id));
                }
            }
            Err(e) if batch.len() == 1 => {
                for p in batch {
                    let _ = p.done.send(Err(AppError::Internal(e.to_string())));
                }
            }
            Err(_) => {
                // One bad message must not fail its neighbours: store them one by one.
                for p in batch {
                    let r = store_batch(&app, &[&p.mail]).await.and_then(|ids| {
                        ids.into_iter()
                            .next()
                            .ok_or_else(|| AppError::Internal("nothing stored".into()))
                    });
                    let _ = p.done.send(r);
                }
            }
        }
        wake.notify_waiters();
    }
}

/// Stores raw messages and their ingest jobs (and IMAP checkpoints) in one transaction.
async fn store_batch(app: &App, mails: &[&IncomingMail]) -> Result<Vec<i64>, AppError> {
    let now = app.now();
    // Hashed before taking the single writer slot.
    let hashes: Vec<String> = mails.iter().map(|m| fd_mail::sha256_hex(&m.raw)).collect();
    // Durable: SMTP answers 250 (and IMAP marks the message) once this returns.
    let mut tx = app.db().write_durable().await?;
    let mut ids = Vec::with_capacity(mails.len());
    for (mail, sha) in mails.iter().zip(hashes) {
        let size = mail
            .truncated_from
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
            .unwrap_or(mail.raw.len() as i64);
        let id = tx
            .insert_raw_mail(&NewRawMail {
                source: mail.source.kind(),
                source_detail: mail.source.detail(),
                envelope_from: mail.envelope_from.clone(),
                recipients: mail.recipients.clone(),
                size,
                truncated: mail.truncated_from.is_some(),
                sha256: sha,
                content: &mail.raw,
                received_at: now,
            })
            .await?;
        if let MailSource::Imap {
            account,
            uid_validity,
            uid,
        } = &mail.source
        {
            // The checkpoint moves in the same transaction as the stored message: a crash
            // can neither lose a message nor store it twice.
            tx.save_imap_checkpoint(account, i64::from(*uid_validity), i64::from(*uid), now)
                .await?;
        }
        ids.push(id);
    }
    let payloads: Vec<String> = ids
        .iter()
        .map(|id| format!("{{\"raw_mail_id\":{id}}}"))
        .collect();
    tx.enqueue_jobs(JOB_INGEST, &payloads, now, 5, now).await?;
    tx.commit().await?;
    Ok(ids)
}

impl MailSink for MailService {
    fn now_unix(&self) -> i64 {
        self.app.now().div_euclid(1_000)
    }

    async fn check_recipient(&self, address: &str) -> RecipientVerdict {
        match self.is_connected_address(address).await {
            Ok(true) => RecipientVerdict::Accept,
            Ok(false) => RecipientVerdict::Unknown,
            Err(e) => RecipientVerdict::TempFail(temporary_failure(&e, "recipient check failed")),
        }
    }

    async fn deliver(&self, mail: IncomingMail) -> Result<(), DeliveryError> {
        self.accept(mail)
            .await
            .map(|_| ())
            .map_err(|e| DeliveryError::Temporary(temporary_failure(&e, "storing mail failed")))
    }

    async fn imap_checkpoint(&self, account: &str) -> Result<Option<(u32, u32)>, DeliveryError> {
        let read = async {
            let mut tx = self.app.db().read().await?;
            let c = tx.imap_checkpoint(account).await?;
            tx.commit().await?;
            Ok::<_, AppError>(c)
        };
        match read.await {
            Ok(Some((v, u))) => Ok(Some((
                u32::try_from(v).unwrap_or(0),
                u32::try_from(u).unwrap_or(0),
            ))),
            Ok(None) => Ok(None),
            Err(e) => Err(DeliveryError::Temporary(e.to_string())),
        }
    }
}

/// What a sending server is told when we cannot take its mail now (it will retry): our
/// words only — the SMTP reply quotes this text, and a database's message (tables, values,
/// paths) is not for other servers. The whole cause chain goes to the log.
fn temporary_failure(e: &AppError, what: &str) -> String {
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::error!(error = %chain, "{what}");
    "local storage problem".into()
}

/// Where outgoing mail of a conversation comes from (HD-15): the requested address when it
/// is a connected address, else what `hd_15_default_from` picks (the connected address the
/// conversation arrived on first).
pub(crate) async fn resolve_from(
    tx: &mut Tx,
    c: &Conversation,
    requested: Option<&str>,
) -> Result<Option<String>, AppError> {
    if let Some(req) = requested.map(str::trim).filter(|r| !r.is_empty()) {
        // Any connected address may be chosen (the reply editor offers the agent's teams'
        // addresses); anything else would be mail we have no right to send.
        let addr = EmailAddress::parse(req)?.as_str().to_string();
        return match tx.team_address(&addr).await? {
            Some(_) => Ok(Some(addr)),
            None => Err(AppError::invalid(
                "from_address",
                format!("{addr} is not a connected email address"),
            )),
        };
    }
    // Load what the rule weighs, then let it decide.
    let (mut team_default, mut team_addresses) = (None, Vec::new());
    if let Some(team) = c.team_id
        && let Some(t) = tx.team(team).await?
    {
        team_default = t.default_from_address;
        team_addresses = tx
            .team_addresses(team)
            .await?
            .into_iter()
            .map(|(a, _)| a)
            .collect();
    }
    let mut arrived_on = None;
    if let Some(acc) = &c.channel_account
        && tx.team_address(&acc.to_lowercase()).await?.is_some()
    {
        arrived_on = Some(acc.to_lowercase());
    }
    let any = tx
        .all_team_addresses()
        .await?
        .into_iter()
        .next()
        .map(|a| a.address);
    Ok(fd_domain::rules::hd_15_default_from(
        team_default.as_deref(),
        &team_addresses,
        arrived_on.as_deref(),
        any.as_deref(),
    ))
}

/// The conversation's unguessable reply token, created on first use.
pub(crate) async fn reply_token(
    tx: &mut Tx,
    conversation: ConversationId,
    now: i64,
) -> Result<String, AppError> {
    if let Some(t) = tx.reply_token_of(conversation).await? {
        return Ok(t);
    }
    // 20 characters of [a-z0-9]: 103 bits, not guessable.
    let token = fd_mail::build::random_token(20);
    tx.insert_reply_token(&token, conversation, now).await?;
    Ok(token)
}

/// Called in the transaction that stored an outgoing email message: picks its From (HD-15),
/// gives it our Message-ID, makes sure the conversation has a reply address, and enqueues
/// the outbox job. Without a connected address nothing can be sent: the message is kept as
/// not sent.
pub(crate) async fn prepare_outbound_email(
    tx: &mut Tx,
    c: &Conversation,
    message: MessageId,
    requested_from: Option<&str>,
    auto_submitted: bool,
    now: i64,
) -> Result<(), AppError> {
    let Some(from) = resolve_from(tx, c, requested_from).await? else {
        tx.set_message_status(
            message,
            DeliveryStatus::NotSent,
            Some("no email address is connected, so there is nothing to send from"),
        )
        .await?;
        return Ok(());
    };
    let existing = tx
        .message(&ViewerScope::All, message)
        .await?
        .and_then(|m| m.message_id_header);
    let mid = match existing {
        Some(m) if !m.trim().is_empty() => m,
        _ => fd_mail::build::new_message_id(fd_mail::address::domain(&from).unwrap_or("")),
    };
    tx.set_message_mail_headers(message, &mid, &from).await?;
    reply_token(tx, c.id, now).await?;
    tx.upsert_message_meta(&MessageMailMeta {
        message_id: message,
        raw_mail_id: None,
        thread_signal: Some("outgoing".into()),
        quoted_text: None,
        signature: None,
        notices: Vec::new(),
        automation: auto_submitted.then(|| "auto_reply".to_string()),
        auto_submitted,
        blocked_remote_images: 0,
    })
    .await?;
    tx.enqueue_job(
        JOB_SEND,
        &format!("{{\"message_id\":{message}}}"),
        now,
        i64::MAX,
        now,
    )
    .await?;
    Ok(())
}

/// A stored attachment of a message.
#[derive(Debug, Clone)]
pub struct AttachmentDownload {
    pub meta: AttachmentMeta,
    pub bytes: Vec<u8>,
}

impl App {
    /// `admin connect-email` and the Conversations API's channel accounts: connects `address`
    /// to the team named (or numbered) `team`, in the help desk or the inbox; with
    /// `acknowledge`, new tickets from it get an automatic acknowledgement.
    pub async fn connect_email(
        &self,
        actor: &Actor,
        address: &str,
        team: &str,
        workspace: Workspace,
        acknowledge: bool,
    ) -> Result<TeamId, AppError> {
        actor.require_admin("connecting email addresses")?;
        let team_id = {
            let mut tx = self.db().read().await?;
            let by_name = tx.team_by_name(team.trim()).await?;
            let t = match by_name {
                Some(t) => Some(t),
                None => match team.trim().parse::<i64>() {
                    Ok(n) => tx.team(TeamId(n)).await?,
                    Err(_) => None,
                },
            };
            tx.commit().await?;
            t.map(|t| t.id)
                .ok_or_else(|| AppError::not_found("team", team))?
        };
        self.connect_team_address(actor, team_id, address, workspace)
            .await?;
        if acknowledge {
            self.set_auto_acknowledge(actor, address, true).await?;
        }
        Ok(team_id)
    }

    /// Turns the acknowledgement of new tickets from a connected address on or off.
    pub async fn set_auto_acknowledge(
        &self,
        actor: &Actor,
        address: &str,
        on: bool,
    ) -> Result<(), AppError> {
        actor.require_admin("changing email acknowledgements")?;
        let addr = EmailAddress::parse(address)?.as_str().to_string();
        let now = self.now();
        let mut tx = self.db().write().await?;
        if tx.team_address(&addr).await?.is_none() {
            return Err(AppError::not_found("email address", addr));
        }
        tx.set_auto_acknowledge(&addr, on, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Raw mail for admins: `status` `failed` lists what could not be processed.
    pub async fn raw_mail_list(
        &self,
        actor: &Actor,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RawMail>, AppError> {
        actor.require_admin("reading raw mail")?;
        let mut tx = self.db().read().await?;
        let out = tx.raw_mail_list(status, limit.clamp(1, 10_000)).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// One raw message with its bytes (admins).
    pub async fn raw_mail(&self, actor: &Actor, id: i64) -> Result<(RawMail, Vec<u8>), AppError> {
        actor.require_admin("reading raw mail")?;
        let mut tx = self.db().read().await?;
        let meta = tx.raw_mail(id).await?;
        let bytes = tx.raw_mail_content(id).await?;
        tx.commit().await?;
        match (meta, bytes) {
            (Some(m), Some(b)) => Ok((m, b)),
            _ => Err(AppError::not_found("raw mail", id)),
        }
    }

    /// Processes a failed raw message again (after a fix): back to pending, job enqueued.
    /// Mail that was ignored (noise) may be run again too, after a change of classification;
    /// mail that became a message, or is still pending, may not (it would be a second copy,
    /// or is queued already).
    pub async fn retry_raw_mail(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        actor.require_admin("reprocessing raw mail")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let Some(raw) = tx.raw_mail(id).await? else {
            return Err(AppError::not_found("raw mail", id));
        };
        if !matches!(raw.status.as_str(), "failed" | "ignored") {
            return Err(AppError::invalid(
                "id",
                format!(
                    "raw mail {id} is {}: only failed or ignored mail is processed again",
                    raw.status
                ),
            ));
        }
        // The job is what processes it: without one the message stayed pending for ever.
        tx.enqueue_job(
            JOB_INGEST,
            &format!("{{\"raw_mail_id\":{id}}}"),
            now,
            5,
            now,
        )
        .await?;
        tx.finish_raw_mail(
            id,
            &fd_store::RawMailOutcome {
                status: "pending",
                outcome: "retry".into(),
                detail: None,
                message_id_header: None,
                conversation_id: None,
                message_id: None,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Jobs that ran out of attempts (admins).
    pub async fn failed_jobs(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<fd_store::FailedJob>, AppError> {
        actor.require_admin("reading failed jobs")?;
        let mut tx = self.db().read().await?;
        let out = tx.failed_jobs(limit.clamp(1, 10_000)).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Pending jobs (tests, health).
    pub async fn pending_jobs(&self) -> Result<i64, AppError> {
        let mut tx = self.db().read().await?;
        let n = tx.pending_job_count().await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The message and its conversation, if the actor may see them (HD-09).
    async fn visible_message(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: MessageId,
    ) -> Result<fd_store::Message, AppError> {
        let scope = actor.scope();
        let m = tx
            .message(&scope, id)
            .await?
            .ok_or_else(|| AppError::not_found("message", id))?;
        // Scope is in the query above; what is left is the trash rule: a trashed
        // conversation's messages are for account admins only.
        if actor.viewer.is_account_admin() {
            return Ok(m);
        }
        match tx.conversation(&scope, m.conversation_id).await? {
            Some(c) if c.trashed_at.is_none() => Ok(m),
            _ => Err(AppError::not_found("message", id)),
        }
    }

    /// HD-15: the From a reply to this conversation goes out from when the agent chooses
    /// none — what the reply editor preselects, so both follow the one rule.
    pub async fn default_reply_from(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> Result<Option<String>, AppError> {
        let mut tx = self.db().read().await?;
        let c = tx
            .conversation(&actor.scope(), conversation)
            .await?
            .ok_or_else(|| AppError::not_found("conversation", conversation))?;
        let from = resolve_from(&mut tx, &c, None).await?;
        tx.commit().await?;
        Ok(from)
    }

    /// Mail facts of a message: thread signal, quoted history, signature, notices.
    pub async fn message_mail_meta(
        &self,
        actor: &Actor,
        id: MessageId,
    ) -> Result<Option<MessageMailMeta>, AppError> {
        let mut tx = self.db().read().await?;
        self.visible_message(&mut tx, actor, id).await?;
        let meta = tx.message_meta(&actor.scope(), id).await?;
        tx.commit().await?;
        Ok(meta)
    }

    /// Attachment `index` of a message, with its bytes, for a download.
    pub async fn message_attachment(
        &self,
        actor: &Actor,
        id: MessageId,
        index: usize,
    ) -> Result<AttachmentDownload, AppError> {
        let mut tx = self.db().read().await?;
        let m = self.visible_message(&mut tx, actor, id).await?;
        let meta = m
            .attachments
            .get(index)
            .cloned()
            .ok_or_else(|| AppError::not_found("attachment", format!("{id}/{index}")))?;
        let bytes = tx
            .blob(&meta.sha256)
            .await?
            .ok_or_else(|| AppError::not_found("attachment", format!("{id}/{index}")))?;
        tx.commit().await?;
        Ok(AttachmentDownload { meta, bytes })
    }

    /// A message's HTML made safe for the sandboxed iframe: sanitised again on the way out,
    /// `cid:` images pointing at `attachment_url(index)`, remote images only when the agent
    /// asked (`allow_remote`), with the Content-Security-Policy to serve it under.
    pub async fn message_html(
        &self,
        actor: &Actor,
        id: MessageId,
        allow_remote: bool,
        own_host: Option<&str>,
        attachment_url: impl Fn(usize) -> String,
    ) -> Result<MessageHtml, AppError> {
        let own_host = own_host.map(str::to_string);
        let mut tx = self.db().read().await?;
        let m = self.visible_message(&mut tx, actor, id).await?;
        tx.commit().await?;
        let stored = m.html.clone();
        let text = m.text.clone();
        let cid_urls: HashMap<String, String> = m
            .attachments
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.content_id.clone().map(|c| (c, attachment_url(i))))
            .collect();
        let remote = if allow_remote {
            RemoteContent::Allow
        } else {
            RemoteContent::Block
        };
        // Served from what ingestion stored (sanitised once, there): a linear rewrite of its
        // URLs, never a second parse. Still off the runtime: a large message is megabytes.
        let fd_mail::html_serve::Served {
            html,
            blocked_remote,
        } = crate::cpu::run_cpu(move || {
            let html = match stored {
                Some(h) => h,
                None => fd_mail::build::text_to_html(&text),
            };
            fd_mail::html_serve::serve(
                &html,
                &fd_mail::html_serve::ServeOptions {
                    remote,
                    cid_urls: &cid_urls,
                    own_host: own_host.as_deref(),
                },
            )
        })
        .await?;
        Ok(MessageHtml {
            html,
            blocked_remote,
            csp: fd_mail::html::csp(remote),
        })
    }
}

/// A message's HTML ready for the sandboxed iframe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHtml {
    pub html: String,
    /// Remote images left out; offer "show remote images" when non-zero.
    pub blocked_remote: usize,
    /// The Content-Security-Policy header to serve it with.
    pub csp: String,
}

/// HTML from outside the desk's own code (an agent's editor, an API client) beyond
/// `fd_mail::html_bound`'s bounds, as the escaped text that stands in for it; `None` when it
/// is within them and may be parsed. Linear in the input.
pub fn flatten_unbounded_html(html: &str) -> Option<String> {
    fd_mail::html_bound::check(html, &fd_mail::html_bound::HtmlBounds::default())
        .err()
        .map(|_| fd_mail::build::text_to_html(&fd_mail::html::to_text(html)))
}
