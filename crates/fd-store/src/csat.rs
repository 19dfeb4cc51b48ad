//! CSAT surveys (issue 16, item 7; migration 0024): the account's switch and wording, one
//! survey row per ticket (queued, sent with a token whose hash is kept, rated), and the
//! good/bad count reports read, scoped by the viewer's ticket access (HD-09).
//!
//! SQL only: when a survey is due and how tokens are made are fd-app's `csat` module.

use fd_domain::*;

use crate::reports::{ReportFilter, push_report_filters};
use crate::scope::push_ticket_scope;
use crate::{Sql, StoreError, Tx, args};

/// The account's CSAT settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatSettings {
    pub enabled: bool,
    pub subject: String,
    pub intro: String,
}

/// A ticket's survey as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatSurvey {
    pub ticket_id: TicketId,
    pub sent_to: Option<String>,
    pub queued_at: Millis,
    pub sent_at: Option<Millis>,
    pub expires_at: Option<Millis>,
    pub rating: Option<String>,
    pub comment: Option<String>,
    pub rated_at: Option<Millis>,
}

/// Ratings in a date range (by when they were given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsatCounts {
    pub good: i64,
    pub bad: i64,
}

const COLUMNS: &str =
    "s.ticket_id, s.sent_to, s.queued_at, s.sent_at, s.expires_at, s.rating, s.comment, s.rated_at";

fn survey_from_row(r: &crate::Row) -> Result<CsatSurvey, StoreError> {
    Ok(CsatSurvey {
        ticket_id: TicketId(r.i64("ticket_id")?),
        sent_to: r.opt_string("sent_to")?,
        queued_at: r.i64("queued_at")?,
        sent_at: r.opt_i64("sent_at")?,
        expires_at: r.opt_i64("expires_at")?,
        rating: r.opt_string("rating")?,
        comment: r.opt_string("comment")?,
        rated_at: r.opt_i64("rated_at")?,
    })
}

impl Tx {
    pub async fn csat_settings(&mut self) -> Result<CsatSettings, StoreError> {
        let r = self
            .one(
                "SELECT csat_enabled, csat_subject, csat_intro FROM account_settings WHERE id = 1",
                args![],
            )
            .await?;
        Ok(CsatSettings {
            enabled: r.bool("csat_enabled")?,
            subject: r.string("csat_subject")?,
            intro: r.string("csat_intro")?,
        })
    }

    pub async fn set_csat_settings(
        &mut self,
        s: &CsatSettings,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE account_settings SET csat_enabled = $1, csat_subject = $2, csat_intro = $3, \
             updated_at = $4 WHERE id = 1",
            args![s.enabled, s.subject.as_str(), s.intro.as_str(), now],
        )
        .await?;
        Ok(())
    }

    /// Queues a ticket's survey unless it has one already: true when this call queued it.
    pub async fn insert_csat_survey(
        &mut self,
        ticket: TicketId,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO csat_surveys (ticket_id, queued_at) VALUES ($1, $2) \
                 ON CONFLICT (ticket_id) DO NOTHING",
                args![ticket, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// The system's read of a ticket's survey (the job that sends it, the rating page).
    pub async fn csat_survey(
        &mut self,
        ticket: TicketId,
    ) -> Result<Option<CsatSurvey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM csat_surveys s WHERE s.ticket_id = $1");
        self.opt(&sql, args![ticket])
            .await?
            .as_ref()
            .map(survey_from_row)
            .transpose()
    }

    /// A ticket's survey as an agent reads it: none when the ticket is outside the scope.
    pub async fn csat_survey_scoped(
        &mut self,
        scope: &ViewerScope,
        ticket: TicketId,
    ) -> Result<Option<CsatSurvey>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {COLUMNS} FROM csat_surveys s JOIN tickets t ON t.id = s.ticket_id WHERE s.ticket_id = "
        ));
        sql.bind(ticket);
        push_ticket_scope(&mut sql, scope, "t");
        self.opt_sql(sql)
            .await?
            .as_ref()
            .map(survey_from_row)
            .transpose()
    }

    pub async fn csat_survey_by_token(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<CsatSurvey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM csat_surveys s WHERE s.token_hash = $1");
        self.opt(&sql, args![token_hash])
            .await?
            .as_ref()
            .map(survey_from_row)
            .transpose()
    }

    /// Records the token (its hash) a survey email carries, replacing any earlier one that
    /// was never delivered (a retried send).
    pub async fn issue_csat_token(
        &mut self,
        ticket: TicketId,
        token_hash: &str,
        sent_to: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE csat_surveys SET token_hash = $2, sent_to = $3, sent_at = $4, expires_at = $5 \
             WHERE ticket_id = $1",
            args![ticket, token_hash, sent_to, now, expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn set_csat_rating(
        &mut self,
        ticket: TicketId,
        rating: &str,
        comment: Option<&str>,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE csat_surveys SET rating = $2, comment = $3, rated_at = $4 WHERE ticket_id = $1",
            args![ticket, rating, comment.map(str::to_string), now],
        )
        .await?;
        Ok(())
    }

    /// Good and bad ratings given in `[from, to)`, on tickets of the filter's team and
    /// pipeline the viewer may see (HD-09): the reports' satisfaction figure.
    pub async fn csat_counts(&mut self, f: &ReportFilter) -> Result<CsatCounts, StoreError> {
        let mut sql = Sql::new(
            "SELECT s.rating, COUNT(*) AS n FROM csat_surveys s JOIN tickets t ON t.id = s.ticket_id \
             WHERE s.rating IS NOT NULL AND t.trashed_at IS NULL AND s.rated_at >= ",
        );
        sql.bind(f.from).push(" AND s.rated_at < ").bind(f.to);
        push_report_filters(&mut sql, f);
        sql.push(" GROUP BY s.rating");
        let mut out = CsatCounts::default();
        for r in self.all_sql(sql).await? {
            let n = r.i64("n")?;
            match r.string("rating")?.as_str() {
                "good" => out.good = n,
                _ => out.bad = n,
            }
        }
        Ok(out)
    }
}
