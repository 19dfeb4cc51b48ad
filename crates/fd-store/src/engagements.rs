//! Engagement rows (calls, notes, emails: their properties are in `property_values`, their
//! links in `associations`), the calling channels, the calls they carried and the provider
//! event ids already applied (migration 0013).
//!
//! SQL only: no rules, no clock (every time is passed in), nothing of HTTP.

use fd_domain::*;

use crate::error::decode;
use crate::{StoreError, Tx, args};

/// An engagement's row; its properties are read with `property_values_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementRow {
    pub id: i64,
    pub kind: ObjectType,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

fn engagement_from_row(r: &crate::Row) -> Result<EngagementRow, StoreError> {
    Ok(EngagementRow {
        id: r.i64("id")?,
        kind: decode(r.string("kind")?.parse())?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        archived_at: r.opt_i64("archived_at")?,
    })
}

/// A team's phone number connected as a calling channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingChannel {
    pub id: i64,
    pub team_id: TeamId,
    pub number: String,
    pub workspace: Workspace,
    pub secret: String,
    pub created_at: Millis,
    /// Disconnected (Settings → Calling): events to the number are refused.
    pub archived_at: Option<Millis>,
}

fn channel_from_row(r: &crate::Row) -> Result<CallingChannel, StoreError> {
    Ok(CallingChannel {
        id: r.i64("id")?,
        team_id: TeamId(r.i64("team_id")?),
        number: r.string("number")?,
        workspace: decode(r.string("workspace")?.parse())?,
        secret: r.string("secret")?,
        created_at: r.i64("created_at")?,
        archived_at: r.opt_i64("archived_at")?,
    })
}

/// One provider call: the conversation it opened and its call engagement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingCall {
    pub channel_id: i64,
    pub provider_call_id: String,
    pub conversation_id: ConversationId,
    pub engagement_id: i64,
}

const CHANNEL_COLUMNS: &str = "id, team_id, number, workspace, secret, created_at, archived_at";

impl Tx {
    pub async fn insert_engagement(
        &mut self,
        kind: ObjectType,
        now: Millis,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO engagements (kind, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id",
            args![kind.as_str(), now],
        )
        .await?
        .i64("id")
    }

    /// Engagement rows of one kind by id (archived ones too), in id order.
    pub async fn engagements_by_ids(
        &mut self,
        kind: ObjectType,
        ids: &[i64],
    ) -> Result<Vec<EngagementRow>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::Sql::new(
            "SELECT id, kind, created_at, updated_at, archived_at FROM engagements WHERE kind = ",
        );
        sql.bind(kind.as_str())
            .push(" AND id IN (")
            .bind_list(ids.iter().copied())
            .push(") ORDER BY id");
        self.all_sql(sql)
            .await?
            .iter()
            .map(engagement_from_row)
            .collect()
    }

    /// Sets `updated_at` and `archived_at`; false when the row is missing.
    pub async fn touch_engagement(
        &mut self,
        id: i64,
        updated_at: Millis,
        archived_at: Option<Millis>,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE engagements SET updated_at = $2, archived_at = $3 WHERE id = $1",
                args![id, updated_at, archived_at],
            )
            .await?
            > 0)
    }

    /// Live engagements associated with a record (a ticket or a contact), newest activity
    /// first by `hs_timestamp` (then id): what a timeline shows. At most `limit`.
    pub async fn engagements_of(
        &mut self,
        kind: ObjectType,
        id: i64,
        limit: i64,
    ) -> Result<Vec<EngagementRow>, StoreError> {
        let rows = self
            .all(
                "SELECT e.id, e.kind, e.created_at, e.updated_at, e.archived_at FROM engagements e \
                 JOIN associations a ON a.from_type = $1 AND a.from_id = $2 AND a.to_type = e.kind AND a.to_id = e.id \
                 WHERE e.archived_at IS NULL \
                 ORDER BY COALESCE((SELECT CAST(pv.value AS BIGINT) FROM property_values pv \
                   WHERE pv.object_type = CASE e.kind WHEN 'call' THEN 'calls' WHEN 'note' THEN 'notes' ELSE 'emails' END \
                   AND pv.object_id = e.id AND pv.name = 'hs_timestamp'), e.created_at) DESC, e.id DESC \
                 LIMIT $3",
                args![kind.as_str(), id, limit],
            )
            .await?;
        let mut out: Vec<EngagementRow> = rows
            .iter()
            .map(engagement_from_row)
            .collect::<Result<_, _>>()?;
        out.dedup_by_key(|e| e.id);
        Ok(out)
    }

    pub async fn insert_calling_channel(
        &mut self,
        team: TeamId,
        number: &str,
        workspace: Workspace,
        secret: &str,
        now: Millis,
    ) -> Result<CallingChannel, StoreError> {
        let sql = format!(
            "INSERT INTO calling_channels (team_id, number, workspace, secret, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {CHANNEL_COLUMNS}"
        );
        let row = self
            .one(&sql, args![team, number, workspace.as_str(), secret, now])
            .await?;
        channel_from_row(&row)
    }

    pub async fn calling_channel_by_number(
        &mut self,
        number: &str,
    ) -> Result<Option<CallingChannel>, StoreError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM calling_channels WHERE number = $1");
        self.opt(&sql, args![number])
            .await?
            .as_ref()
            .map(channel_from_row)
            .transpose()
    }

    /// The connected calling channels (archived ones are left out).
    pub async fn calling_channels(&mut self) -> Result<Vec<CallingChannel>, StoreError> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS} FROM calling_channels WHERE archived_at IS NULL ORDER BY id"
        );
        self.all(&sql, args![])
            .await?
            .iter()
            .map(channel_from_row)
            .collect()
    }

    pub async fn calling_channel(&mut self, id: i64) -> Result<Option<CallingChannel>, StoreError> {
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM calling_channels WHERE id = $1");
        self.opt(&sql, args![id])
            .await?
            .as_ref()
            .map(channel_from_row)
            .transpose()
    }

    /// Connects an archived channel's number again: new team, workspace and secret.
    pub async fn reconnect_calling_channel(
        &mut self,
        id: i64,
        team: TeamId,
        workspace: Workspace,
        secret: &str,
    ) -> Result<CallingChannel, StoreError> {
        let sql = format!(
            "UPDATE calling_channels SET team_id = $1, workspace = $2, secret = $3, archived_at = NULL \
             WHERE id = $4 RETURNING {CHANNEL_COLUMNS}"
        );
        let row = self
            .one(&sql, args![team, workspace.as_str(), secret, id])
            .await?;
        channel_from_row(&row)
    }

    pub async fn set_calling_secret(&mut self, id: i64, secret: &str) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE calling_channels SET secret = $1 WHERE id = $2 AND archived_at IS NULL",
                args![secret, id],
            )
            .await?
            > 0)
    }

    pub async fn archive_calling_channel(
        &mut self,
        id: i64,
        now: Millis,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE calling_channels SET archived_at = $1 WHERE id = $2 AND archived_at IS NULL",
                args![now, id],
            )
            .await?
            > 0)
    }

    /// Records a provider event id; false when it was already applied (a replay).
    pub async fn claim_calling_event(
        &mut self,
        channel_id: i64,
        event_id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "INSERT INTO calling_events (channel_id, event_id, received_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (channel_id, event_id) DO NOTHING",
                args![channel_id, event_id, now],
            )
            .await?
            > 0)
    }

    pub async fn calling_call(
        &mut self,
        channel_id: i64,
        provider_call_id: &str,
    ) -> Result<Option<CallingCall>, StoreError> {
        let row = self
            .opt(
                "SELECT channel_id, provider_call_id, conversation_id, engagement_id FROM calling_calls \
                 WHERE channel_id = $1 AND provider_call_id = $2",
                args![channel_id, provider_call_id],
            )
            .await?;
        row.map(|r| {
            Ok(CallingCall {
                channel_id: r.i64("channel_id")?,
                provider_call_id: r.string("provider_call_id")?,
                conversation_id: ConversationId(r.i64("conversation_id")?),
                engagement_id: r.i64("engagement_id")?,
            })
        })
        .transpose()
    }

    pub async fn insert_calling_call(
        &mut self,
        call: &CallingCall,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO calling_calls (channel_id, provider_call_id, conversation_id, engagement_id, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                call.channel_id,
                call.provider_call_id.as_str(),
                call.conversation_id,
                call.engagement_id,
                now
            ],
        )
        .await?;
        Ok(())
    }

    /// Live contacts whose stored phone is exactly `number` (callers are matched on the
    /// E.164 form the use case stores and compares).
    pub async fn contact_ids_by_phone(&mut self, number: &str) -> Result<Vec<i64>, StoreError> {
        let rows = self
            .all(
                "SELECT id, phone FROM contacts WHERE archived_at IS NULL AND phone IS NOT NULL \
                 AND phone LIKE $1 ORDER BY id",
                args![format!("%{}", last_digits(number))],
            )
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let phone = r.string("phone")?;
            if fd_domain::engagements::phone_match_key(&phone).as_deref() == Some(number) {
                out.push(r.i64("id")?);
            }
        }
        Ok(out)
    }
}

/// The last two digits: a cheap prefilter before comparing normalised numbers (stored
/// phones may carry spaces or dashes between any other digits).
fn last_digits(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let start = digits.len().saturating_sub(2);
    digits.get(start..).unwrap_or_default().iter().collect()
}
