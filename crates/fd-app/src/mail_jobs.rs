//! The job runner and the outbox.
//!
//! [`MailService::run_pending_jobs`] claims due jobs (leases, see fd-store's `jobs.rs`) and
//! runs them until none is due: `launch` calls it from its background loop whenever mail
//! arrives or a timer ticks; tests call it directly instead of sleeping.
//!
//! `mail.send` builds the message from the stored row (so a retry sends the same bytes, with
//! the same Message-ID) and hands it to the relay outside any transaction; the result is
//! written afterwards. Transient failures retry with exponential backoff; permanent ones
//! (5xx) and exhausted attempts mark the message failed with the relay's words; with no
//! relay configured the message is kept as "not sent".

use std::future::Future;
use std::panic::AssertUnwindSafe;

use fd_domain::*;
use fd_mail::build::OutgoingMail;
use fd_mail::send::SendError;
use futures_util::FutureExt;

use crate::mail::{JOB_INGEST, JOB_SEND, MailService};
use crate::{AppError, Event};

/// What one call of [`MailService::run_pending_jobs`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStats {
    pub ingested: usize,
    pub sent: usize,
    pub not_sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub errors: usize,
}

impl JobStats {
    pub fn total(&self) -> usize {
        self.ingested + self.sent + self.not_sent + self.retried + self.failed + self.errors
    }
}

fn payload_id(payload: &str, field: &str) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(payload).ok()?;
    v.get(field)?.as_i64()
}

/// 30 s, 1 min, 2 min … capped at one hour.
fn backoff(base_ms: i64, attempt: i64) -> i64 {
    let shift = u32::try_from((attempt - 1).clamp(0, 20)).unwrap_or(0);
    base_ms.saturating_mul(1i64 << shift).min(3_600_000)
}

enum SendOutcome {
    Sent,
    NotSent,
    Retry,
    Failed,
}

/// How long a claimed job stays with its worker without a heartbeat. A worker that dies
/// gives its jobs up after this; one that is alive renews it every [`HEARTBEAT`].
pub const LEASE_MS: i64 = 120_000;
/// How often a busy worker renews its leases: a quarter of the lease, so two missed beats
/// (a stalled database, a paused process) still do not lose it.
const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs one job's work and turns a panic into an error, so the job takes the ordinary
/// retry-then-fail road (its raw mail kept and listed as failed) and the worker goes on with
/// the others: one malformed message used to end the worker task, and the next worker that
/// claimed it after the lease, until none was left. A transaction open at the panic is
/// dropped, which rolls it back.
async fn contained<T>(
    what: &str,
    work: impl Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    match AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            tracing::error!(%why, "{what} panicked");
            Err(AppError::Internal(format!("{what} panicked: {why}")))
        }
    }
}

/// Stops the heartbeat task when the round of jobs it guards ends, however it ends.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl MailService {
    /// Leases up to a batch of due jobs to this node's workers for [`LEASE_MS`].
    pub async fn claim_due_jobs(&self) -> Result<Vec<fd_store::Job>, AppError> {
        let now = self.app().now();
        let mut tx = self.app().db().write().await?;
        let jobs = tx
            .claim_jobs(
                &self.settings().worker,
                now,
                LEASE_MS,
                self.settings().batch,
            )
            .await?;
        tx.commit().await?;
        Ok(jobs)
    }

    /// Extends the leases this node still holds among `ids` to [`LEASE_MS`] from now;
    /// returns how many it still holds (a lease already lost stays lost).
    pub async fn renew_leases(&self, ids: &[i64]) -> Result<u64, AppError> {
        let until = self.app().now() + LEASE_MS;
        let mut tx = self.app().db().write().await?;
        let n = tx.renew_leases(ids, &self.settings().worker, until).await?;
        tx.commit().await?;
        Ok(n)
    }

    fn keep_leases(&self, ids: Vec<i64>) -> Heartbeat {
        let service = self.clone();
        Heartbeat(tokio::spawn(async move {
            let mut beat = tokio::time::interval(HEARTBEAT);
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            beat.tick().await; // the first tick is immediate; the claim just set the lease
            loop {
                beat.tick().await;
                if let Err(e) = service.renew_leases(&ids).await {
                    tracing::warn!(error = %e, "renewing job leases failed");
                }
            }
        }))
    }

    /// Runs due jobs until none is left; returns what happened.
    pub async fn run_pending_jobs(&self) -> Result<JobStats, AppError> {
        let mut stats = JobStats::default();
        let worker = self.settings().worker.clone();
        loop {
            let jobs = self.claim_due_jobs().await?;
            if jobs.is_empty() {
                return Ok(stats);
            }
            // Alive but slow (a large message, a slow relay): keep the lease so no other
            // worker starts the same jobs; ends when this round does.
            let _heartbeat = self.keep_leases(jobs.iter().map(|j| j.id).collect());
            // Ingest jobs go in one transaction when they can; on any error the batch rolls
            // back and they run one by one below, each with its own retry accounting.
            let ingest: Vec<(i64, i64)> = jobs
                .iter()
                .filter(|j| j.kind == JOB_INGEST)
                .filter_map(|j| payload_id(&j.payload, "raw_mail_id").map(|r| (j.id, r)))
                .collect();
            let mut batched = false;
            // Jobs a batch completed in a part it committed before failing: not run again.
            let mut committed = Vec::new();
            if ingest.len() > 1 {
                match contained(
                    "ingesting a batch",
                    self.ingest_batch(&ingest, &worker, &mut committed),
                )
                .await
                {
                    Ok(n) => {
                        stats.ingested += n;
                        self.app().metrics().mail_processed(n as u64);
                        batched = true;
                    }
                    Err(e) => {
                        stats.ingested += committed.len();
                        self.app().metrics().mail_processed(committed.len() as u64);
                        tracing::info!(error = %e, "batch ingest failed; retrying one by one")
                    }
                }
            }
            for job in jobs {
                if (batched && ingest.iter().any(|(id, _)| *id == job.id))
                    || committed.contains(&job.id)
                {
                    continue;
                }
                let result = match job.kind.as_str() {
                    JOB_INGEST => match payload_id(&job.payload, "raw_mail_id") {
                        Some(id) => contained("ingesting a message", async {
                            self.ingest(id, Some((job.id, &worker))).await
                        })
                        .await
                        .map(|_| {
                            stats.ingested += 1;
                            self.app().metrics().mail_processed(1);
                        }),
                        None => Err(AppError::Internal(format!("bad payload {}", job.payload))),
                    },
                    JOB_SEND => match payload_id(&job.payload, "message_id") {
                        Some(id) => match contained(
                            "sending a message",
                            self.send(MessageId(id), job.id, job.attempts),
                        )
                        .await
                        {
                            Ok(SendOutcome::Sent) => {
                                stats.sent += 1;
                                self.app().metrics().mail_delivery("sent");
                                Ok(())
                            }
                            Ok(SendOutcome::NotSent) => {
                                stats.not_sent += 1;
                                self.app().metrics().mail_delivery("not_sent");
                                Ok(())
                            }
                            Ok(SendOutcome::Retry) => {
                                stats.retried += 1;
                                self.app().metrics().mail_delivery("retried");
                                Ok(())
                            }
                            Ok(SendOutcome::Failed) => {
                                stats.failed += 1;
                                self.app().metrics().mail_delivery("failed");
                                Ok(())
                            }
                            Err(e) => Err(e),
                        },
                        None => Err(AppError::Internal(format!("bad payload {}", job.payload))),
                    },
                    crate::notify::JOB_NOTIFY_EMAIL | crate::notify::JOB_NOTIFY_DIGEST => {
                        self.run_notify_job(&job, &mut stats).await
                    }
                    crate::csat::JOB_CSAT_EMAIL => self.run_csat_job(&job, &mut stats).await,
                    other => Err(AppError::Internal(format!("unknown job kind {other}"))),
                };
                if let Err(e) = result {
                    // The job's own transaction rolled back; retry it later or give up.
                    stats.errors += 1;
                    tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed");
                    let now = self.app().now();
                    let mut gave_up_mail = false;
                    let mut tx = self.app().db().write().await?;
                    if job.attempts >= job.max_attempts {
                        tx.fail_job(job.id, &e.to_string(), now).await?;
                        if job.kind == JOB_INGEST
                            && let Some(id) = payload_id(&job.payload, "raw_mail_id")
                        {
                            tx.finish_raw_mail(
                                id,
                                &fd_store::RawMailOutcome {
                                    status: "failed",
                                    outcome: "error".into(),
                                    detail: Some(e.to_string()),
                                    message_id_header: None,
                                    conversation_id: None,
                                    message_id: None,
                                },
                                now,
                            )
                            .await?;
                            gave_up_mail = true;
                        }
                    } else {
                        tx.retry_job(
                            job.id,
                            now + backoff(1_000, job.attempts),
                            &e.to_string(),
                            now,
                        )
                        .await?;
                    }
                    tx.commit().await?;
                    if gave_up_mail {
                        self.app().metrics().mail_failed();
                    }
                }
            }
        }
    }

    /// A satisfaction survey email (issue 16, item 7): sent, or settled without sending.
    async fn run_csat_job(
        &self,
        job: &fd_store::Job,
        stats: &mut JobStats,
    ) -> Result<(), AppError> {
        let id = payload_id(&job.payload, "ticket_id")
            .ok_or_else(|| AppError::Internal(format!("bad payload {}", job.payload)))?;
        let sent = contained(
            "emailing a satisfaction survey",
            self.send_csat_email(TicketId(id)),
        )
        .await?;
        let mut tx = self.app().db().write().await?;
        tx.complete_job(job.id, &self.settings().worker).await?;
        tx.commit().await?;
        if sent {
            stats.sent += 1;
        } else {
            stats.not_sent += 1;
        }
        Ok(())
    }

    /// A notification email (one, or a digest): sent, or settled without sending (the
    /// recipient read it, changed their preference or may no longer see the ticket).
    /// Errors (no relay, the relay refusing) take the queue's retry-then-fail road.
    async fn run_notify_job(
        &self,
        job: &fd_store::Job,
        stats: &mut JobStats,
    ) -> Result<(), AppError> {
        use crate::notify::{JOB_NOTIFY_EMAIL, NotifyOutcome};
        let outcome = if job.kind == JOB_NOTIFY_EMAIL {
            let id = payload_id(&job.payload, "notification_id")
                .ok_or_else(|| AppError::Internal(format!("bad payload {}", job.payload)))?;
            contained(
                "emailing a notification",
                self.send_notification_email(NotificationId(id)),
            )
            .await?
        } else {
            let id = payload_id(&job.payload, "user_id")
                .ok_or_else(|| AppError::Internal(format!("bad payload {}", job.payload)))?;
            contained(
                "emailing a digest",
                self.send_notification_digest(UserId(id)),
            )
            .await?
        };
        let mut tx = self.app().db().write().await?;
        tx.complete_job(job.id, &self.settings().worker).await?;
        tx.commit().await?;
        match outcome {
            NotifyOutcome::Sent => stats.sent += 1,
            NotifyOutcome::NotSent => stats.not_sent += 1,
        }
        Ok(())
    }

    async fn send(&self, id: MessageId, job: i64, attempt: i64) -> Result<SendOutcome, AppError> {
        let app = self.app();
        let worker = self.settings().worker.clone();
        let (message, conversation, token, auto_submitted, files) = {
            let mut tx = app.db().read().await?;
            let m = tx.message(&ViewerScope::All, id).await?;
            let c = match &m {
                Some(m) => {
                    tx.conversation(&ViewerScope::All, m.conversation_id)
                        .await?
                }
                None => None,
            };
            let token = match &c {
                Some(c) => tx.reply_token_of(c.id).await?,
                None => None,
            };
            let auto = tx
                .message_meta(&ViewerScope::All, id)
                .await?
                .is_some_and(|m| m.auto_submitted);
            // Item 7: the files an agent attached go out as MIME parts.
            let mut files = Vec::new();
            for a in m.iter().flat_map(|m| &m.attachments) {
                if let Some(content) = tx.blob(&a.sha256).await? {
                    files.push(fd_mail::build::OutgoingAttachment {
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        content,
                    });
                }
            }
            tx.commit().await?;
            (m, c, token, auto, files)
        };
        let finish = |status: DeliveryStatus, detail: String| async move {
            let mut tx = app.db().write().await?;
            let conversation = tx
                .message(&ViewerScope::All, id)
                .await?
                .map(|m| m.conversation_id);
            if status != DeliveryStatus::Queued {
                tx.set_message_status(id, status, Some(&detail)).await?;
            }
            tx.complete_job(job, &worker).await?;
            tx.commit().await?;
            if let Some(c) = conversation {
                app.publish(vec![Event::ConversationChanged(c)]);
            }
            Ok::<(), AppError>(())
        };
        let (Some(m), Some(c)) = (message, conversation) else {
            // The message was purged with its conversation: nothing to send.
            finish(DeliveryStatus::Queued, String::new()).await?;
            return Ok(SendOutcome::NotSent);
        };
        if m.status != DeliveryStatus::Queued {
            // Already sent, failed or given up: idempotent.
            finish(DeliveryStatus::Queued, String::new()).await?;
            return Ok(SendOutcome::NotSent);
        }
        let Some(relay) = self.settings().relay.clone() else {
            finish(
                DeliveryStatus::NotSent,
                "no SMTP relay is configured (serve --smtp-relay); the reply was kept but not sent"
                    .into(),
            )
            .await?;
            return Ok(SendOutcome::NotSent);
        };
        let Some(from) = m.sender_address.clone() else {
            finish(
                DeliveryStatus::NotSent,
                "the message has no From address".into(),
            )
            .await?;
            return Ok(SendOutcome::NotSent);
        };
        let mailbox = |a: &str| fd_mail::Mailbox {
            name: None,
            address: a.to_string(),
        };
        let subject = {
            let base = m
                .subject
                .clone()
                .or_else(|| {
                    c.subject
                        .clone()
                        .map(|s| fd_mail::thread::reply_subject(&s))
                })
                .unwrap_or_default();
            match c.ticket_id {
                Some(t) => fd_mail::thread::subject_with_tag(&base, t.0),
                None => base,
            }
        };
        let outgoing = OutgoingMail {
            from: fd_mail::Mailbox {
                name: m.sender_name.clone(),
                address: from.clone(),
            },
            to: m.recipients.to.iter().map(|a| mailbox(a)).collect(),
            cc: m.recipients.cc.iter().map(|a| mailbox(a)).collect(),
            reply_to: token.map(|t| fd_mail::Mailbox {
                name: m.sender_name.clone(),
                address: fd_mail::address::with_detail(&from, &t),
            }),
            subject,
            message_id: m.message_id_header.clone().unwrap_or_else(|| {
                fd_mail::build::new_message_id(fd_mail::address::domain(&from).unwrap_or(""))
            }),
            in_reply_to: m.in_reply_to.clone(),
            references: m
                .references_header
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            date: m.created_at / 1000,
            text: m.text.clone(),
            html: Some(
                m.html
                    .clone()
                    .unwrap_or_else(|| fd_mail::build::text_to_html(&m.text)),
            ),
            auto_submitted,
            attachments: files,
        };
        let raw = match fd_mail::build::build(&outgoing) {
            Ok(r) => r,
            Err(e) => {
                finish(
                    DeliveryStatus::Failed,
                    format!("cannot build the message: {e}"),
                )
                .await?;
                return Ok(SendOutcome::Failed);
            }
        };
        let recipients: Vec<String> = m
            .recipients
            .to
            .iter()
            .chain(&m.recipients.cc)
            .chain(&m.recipients.bcc)
            .cloned()
            .collect();
        // RFC 3834 §3.3: automatic responses go out with a null reverse-path, so nothing
        // answers them automatically either.
        let envelope_from = if auto_submitted { "" } else { from.as_str() };
        match relay.send(envelope_from, &recipients, &raw).await {
            Ok(response) => {
                finish(
                    DeliveryStatus::Sent,
                    format!("accepted by {}: {response}", relay.url().host),
                )
                .await?;
                Ok(SendOutcome::Sent)
            }
            Err(SendError::Transient(e)) if attempt < self.settings().send_max_attempts => {
                let now = app.now();
                let delay = backoff(self.settings().send_backoff_ms, attempt);
                let mut tx = app.db().write().await?;
                tx.set_message_status(
                    id,
                    DeliveryStatus::Queued,
                    Some(&format!(
                        "attempt {attempt} failed ({e}); retrying in {} s",
                        delay / 1000
                    )),
                )
                .await?;
                tx.retry_job(job, now + delay, &e, now).await?;
                tx.commit().await?;
                app.publish(vec![Event::ConversationChanged(c.id)]);
                Ok(SendOutcome::Retry)
            }
            Err(e) => {
                finish(
                    DeliveryStatus::Failed,
                    format!("sending failed after {attempt} attempt(s): {e}"),
                )
                .await?;
                Ok(SendOutcome::Failed)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)] // the test panics on purpose, and to fail
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_becomes_an_error() {
        let r: Result<(), AppError> = contained("a job", async { panic!("bad subject") }).await;
        match r {
            Err(AppError::Internal(m)) => assert!(m.contains("bad subject"), "{m}"),
            other => panic!("expected an internal error, got {other:?}"),
        }
        let ok = contained("a job", async { Ok::<_, AppError>(7) }).await;
        assert!(matches!(ok, Ok(7)));
    }
}
