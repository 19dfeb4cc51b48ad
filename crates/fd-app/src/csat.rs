//! CSAT (issue 16, item 7): when the account switched it on, a ticket's first move to a
//! CLOSED stage — by any road, since `apply_ticket_changes` calls `queue_survey_in` — queues
//! one email to its customer with one-click "good" and "bad" links. The link's token is
//! random (about 190 bits), issued when the email is built, and only its SHA-256 is stored;
//! it expires after `LINK_DAYS`. A click records the rating (the customer may change their
//! mind, or add a comment, until the link expires) on the ticket: the survey row, the
//! read-only `frontdesk_csat_*` properties the API returns, and a history row.
//!
//! One survey per ticket: re-closing a reopened ticket never sends another (the rating is
//! about the ticket, and a second email for the same ticket is what customers call spam).
//!
//! Must not depend on HTTP or HTML; the email goes out through the job queue like
//! notification emails (automatic mail: `Auto-Submitted: auto-generated`, null reverse-path,
//! no reply token and no `[#id]` tag, so it never threads back into a ticket).

use fd_domain::*;
use fd_store::{CsatCounts, CsatSettings, CsatSurvey, NewActivity, Tx};
use rand::Rng;

use crate::passwords::sha256_hex;
use crate::{Actor, App, AppError, Event, MailService};

pub(crate) const JOB_CSAT_EMAIL: &str = "csat.email";
/// How long a rating link works.
pub const LINK_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;
/// The longest comment kept.
pub const COMMENT_MAX: usize = 2_000;

/// What a rating link or comment post came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsatOutcome {
    /// Recorded (or already so): the survey as it now stands and the ticket's subject.
    Rated { survey: CsatSurvey, subject: String },
    /// The link was real but is older than `LINK_DAYS`.
    Expired,
    /// No survey has this token (mistyped, cut, or never issued).
    Unknown,
}

/// A survey email ready to go (the token appears only here, never in the database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatEmail {
    pub ticket: TicketId,
    pub to: String,
    pub subject: String,
    pub intro: String,
    pub ticket_subject: String,
    pub token: String,
}

impl CsatEmail {
    /// The email's text with its links under `base` (the server's public URL).
    pub fn text(&self, base: &str) -> String {
        let base = base.trim_end_matches('/');
        format!(
            "{}\n\nYour request: {}\n\nGood: {base}/csat/{token}/good\nBad: {base}/csat/{token}/bad\n\n\
             The links work for {LINK_DAYS} days. This is an automatic message.\n",
            self.intro.trim(),
            self.ticket_subject,
            token = self.token
        )
    }
}

fn new_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The customer's address for a ticket: its first conversation's contact (or visitor) email.
async fn customer_address(tx: &mut Tx, ticket: TicketId) -> Result<Option<String>, AppError> {
    for c in tx
        .conversations_of_ticket(&ViewerScope::All, ticket, false)
        .await?
    {
        if let Some(id) = c.contact_id
            && let Some(e) = tx.contact(id).await?.and_then(|c| c.email)
        {
            return Ok(Some(e));
        }
        if let Some(e) = c.visitor_email {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

fn activity(ticket: TicketId, action: &'static str, value: Option<String>, at: i64) -> NewActivity {
    NewActivity {
        object_type: ObjectType::Ticket,
        object_id: ticket.0,
        actor: ActorRef::System,
        action,
        field: None,
        old_value: None,
        new_value: value,
        at,
    }
}

/// Called by `apply_ticket_changes` in its transaction when a ticket moves to a CLOSED stage
/// from one that was not: queues the survey when CSAT is on, the ticket has none yet and
/// its customer has an address.
pub(crate) async fn queue_survey_in(
    tx: &mut Tx,
    ticket: TicketId,
    now: i64,
) -> Result<(), AppError> {
    if !tx.csat_settings().await?.enabled {
        return Ok(());
    }
    if tx.csat_survey(ticket).await?.is_some() {
        return Ok(());
    }
    let Some(to) = customer_address(tx, ticket).await? else {
        return Ok(());
    };
    if tx.insert_csat_survey(ticket, now).await? {
        tx.enqueue_job(
            JOB_CSAT_EMAIL,
            &serde_json::json!({ "ticket_id": ticket.0 }).to_string(),
            now,
            5,
            now,
        )
        .await?;
        tx.record_activity(&activity(ticket, "csat_queued", Some(to), now))
            .await?;
    }
    Ok(())
}

fn check_rating(rating: &str) -> Result<&'static str, AppError> {
    match rating {
        "good" => Ok("good"),
        "bad" => Ok("bad"),
        other => Err(AppError::invalid(
            "rating",
            format!("{other:?} is not a rating (good or bad)"),
        )),
    }
}

impl App {
    pub async fn csat_settings(&self, actor: &Actor) -> Result<CsatSettings, AppError> {
        actor.require_admin("the satisfaction survey settings")?;
        let mut tx = self.db().read().await?;
        let s = tx.csat_settings().await?;
        tx.commit().await?;
        Ok(s)
    }

    pub async fn set_csat_settings(
        &self,
        actor: &Actor,
        enabled: bool,
        subject: &str,
        intro: &str,
    ) -> Result<CsatSettings, AppError> {
        actor.require_admin("the satisfaction survey settings")?;
        let subject = fd_domain::text::name("csat_subject", subject, 200)?;
        let intro = intro.trim();
        if intro.is_empty() {
            return Err(AppError::invalid("csat_intro", "must not be empty"));
        }
        if intro.chars().count() > 2_000 {
            return Err(AppError::invalid(
                "csat_intro",
                "must be at most 2000 characters",
            ));
        }
        let s = CsatSettings {
            enabled,
            subject,
            intro: intro.to_string(),
        };
        let mut tx = self.db().write().await?;
        tx.set_csat_settings(&s, self.now()).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// A ticket's survey, for its page (HD-09: none for a ticket the actor may not see).
    pub async fn ticket_csat(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Option<CsatSurvey>, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let s = tx.csat_survey_scoped(&actor.scope(), ticket).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// Good and bad ratings given in `[from, to)` on tickets the actor may see (HD-09),
    /// for reports.
    pub async fn csat_counts(
        &self,
        actor: &Actor,
        from: Millis,
        to: Millis,
    ) -> Result<CsatCounts, AppError> {
        actor.require_ticket_access()?;
        if to < from {
            return Err(AppError::invalid("to", "must not be before from"));
        }
        let f = fd_store::ReportFilter {
            scope: actor.scope(),
            from,
            to,
            team: None,
            pipeline: None,
        };
        let mut tx = self.db().read().await?;
        let c = tx.csat_counts(&f).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Issues the token of a queued survey and returns the email to send; `None` when there
    /// is nothing to send (no survey, already rated, or no customer address any more). A
    /// retried send issues a new token: the earlier one was never delivered.
    pub async fn issue_csat_email(&self, ticket: TicketId) -> Result<Option<CsatEmail>, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let Some(survey) = tx.csat_survey(ticket).await? else {
            return Ok(None);
        };
        if survey.rating.is_some() {
            return Ok(None);
        }
        let Some(t) = tx.ticket(&ViewerScope::All, ticket).await? else {
            return Ok(None);
        };
        let Some(to) = customer_address(&mut tx, ticket).await? else {
            return Ok(None);
        };
        let settings = tx.csat_settings().await?;
        let token = new_token();
        tx.issue_csat_token(
            ticket,
            &sha256_hex(&token),
            &to,
            now,
            now + LINK_DAYS * DAY_MS,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(CsatEmail {
            ticket,
            to,
            subject: settings.subject,
            intro: settings.intro,
            ticket_subject: t.subject,
            token,
        }))
    }

    /// A rating link's click or the comment form: records `rating` (good/bad; `None` keeps
    /// the current one) and `comment` (`None` keeps it) on the ticket. No sign-in: the
    /// token is the credential.
    pub async fn csat_rate(
        &self,
        token: &str,
        rating: Option<&str>,
        comment: Option<&str>,
    ) -> Result<CsatOutcome, AppError> {
        let rating = rating.map(check_rating).transpose()?;
        let comment = comment.map(str::trim);
        if let Some(c) = comment
            && c.chars().count() > COMMENT_MAX
        {
            return Err(AppError::invalid(
                "comment",
                format!("must be at most {COMMENT_MAX} characters"),
            ));
        }
        if token.is_empty() || token.len() > 100 {
            return Ok(CsatOutcome::Unknown);
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let Some(survey) = tx.csat_survey_by_token(&sha256_hex(token)).await? else {
            return Ok(CsatOutcome::Unknown);
        };
        if survey.expires_at.is_none_or(|e| now >= e) {
            return Ok(CsatOutcome::Expired);
        }
        let ticket = survey.ticket_id;
        let Some(t) = tx.ticket(&ViewerScope::All, ticket).await? else {
            return Ok(CsatOutcome::Unknown);
        };
        let new_rating = rating.map(str::to_string).or(survey.rating.clone());
        let Some(new_rating) = new_rating else {
            // A comment before any rating: the page asks for the rating first.
            return Err(AppError::invalid("rating", "choose good or bad first"));
        };
        let new_comment = match comment {
            Some("") => None,
            Some(c) => Some(c.to_string()),
            None => survey.comment.clone(),
        };
        let changed =
            survey.rating.as_deref() != Some(new_rating.as_str()) || survey.comment != new_comment;
        if changed {
            tx.set_csat_rating(ticket, &new_rating, new_comment.as_deref(), now)
                .await?;
            tx.set_property_value(
                "tickets",
                ticket.0,
                "frontdesk_csat_rating",
                Some(&new_rating),
            )
            .await?;
            tx.set_property_value(
                "tickets",
                ticket.0,
                "frontdesk_csat_comment",
                new_comment.as_deref(),
            )
            .await?;
            tx.set_property_value(
                "tickets",
                ticket.0,
                "frontdesk_csat_rated_at",
                Some(&now.to_string()),
            )
            .await?;
            if survey.rating.as_deref() != Some(new_rating.as_str()) {
                tx.record_activity(&activity(
                    ticket,
                    "csat_rated",
                    Some(new_rating.clone()),
                    now,
                ))
                .await?;
            }
            if survey.comment != new_comment && new_comment.is_some() {
                tx.record_activity(&activity(
                    ticket,
                    "csat_commented",
                    new_comment.clone(),
                    now,
                ))
                .await?;
            }
        }
        let survey = tx.csat_survey(ticket).await?.unwrap_or(survey);
        tx.commit().await?;
        if changed {
            self.publish(vec![Event::TicketChanged(ticket)]);
        }
        Ok(CsatOutcome::Rated {
            survey,
            subject: t.subject,
        })
    }
}

impl MailService {
    /// The survey job: issues the token and hands the email to the relay. Errors (no relay,
    /// the relay refusing) take the queue's retry-then-fail road.
    pub(crate) async fn send_csat_email(&self, ticket: TicketId) -> Result<bool, AppError> {
        let Some(email) = self.app().issue_csat_email(ticket).await? else {
            return Ok(false);
        };
        let base = self
            .settings()
            .public_url
            .clone()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let to = fd_mail::Mailbox {
            name: None,
            address: email.to.clone(),
        };
        self.send_automatic_mail(
            "survey email",
            "Customer feedback",
            to,
            &email.subject,
            email.text(&base),
        )
        .await?;
        Ok(true)
    }
}
