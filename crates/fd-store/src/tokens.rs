//! API bearer tokens (and the counter that lets nodes cache token resolutions), user-defined
//! association labels, and the teams' connected addresses as channel accounts.

use fd_domain::*;

use crate::error::decode;
use crate::{Sql, StoreError, Tx, args};

/// A stored API token (never the token itself: only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

fn token_from_row(r: &crate::Row) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: r.i64("id")?,
        user_id: UserId(r.i64("user_id")?),
        name: r.string("name")?,
        prefix: r.string("prefix")?,
        created_at: r.i64("created_at")?,
        revoked_at: r.opt_i64("revoked_at")?,
    })
}

/// A user-defined association label, one direction of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationLabel {
    pub type_id: i64,
    pub from_type: ObjectType,
    pub to_type: ObjectType,
    pub name: String,
    pub label: String,
    pub inverse_type_id: i64,
}

fn label_from_row(r: &crate::Row) -> Result<AssociationLabel, StoreError> {
    Ok(AssociationLabel {
        type_id: r.i64("type_id")?,
        from_type: decode(r.string("from_type")?.parse())?,
        to_type: decode(r.string("to_type")?.parse())?,
        name: r.string("name")?,
        label: r.string("label")?,
        inverse_type_id: r.i64("inverse_type_id")?,
    })
}

impl Tx {
    /// The counter behind cached token resolutions (bumped by triggers, migration 0002).
    pub async fn auth_version(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT version FROM auth_version WHERE id = 1", args![])
            .await?
            .i64("version")
    }

    pub async fn insert_api_token(
        &mut self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
        now: Millis,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![user, name, token_hash, prefix, now],
        )
        .await?
        .i64("id")
    }

    /// The live (not revoked) token with this hash.
    pub async fn api_token_by_hash(&mut self, hash: &str) -> Result<Option<ApiToken>, StoreError> {
        self.opt(
            "SELECT id, user_id, name, prefix, created_at, revoked_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
            args![hash],
        )
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }

    pub async fn api_tokens(&mut self) -> Result<Vec<ApiToken>, StoreError> {
        let rows = self
            .all(
                "SELECT id, user_id, name, prefix, created_at, revoked_at FROM api_tokens ORDER BY id",
                args![],
            )
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes a live token; false when there is none with this id.
    pub async fn revoke_api_token(&mut self, id: i64, now: Millis) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                args![id, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Labels from `from` records to `to` records.
    pub async fn association_labels(
        &mut self,
        from: ObjectType,
        to: ObjectType,
    ) -> Result<Vec<AssociationLabel>, StoreError> {
        let rows = self
            .all(
                "SELECT type_id, from_type, to_type, name, label, inverse_type_id FROM association_labels \
                 WHERE from_type = $1 AND to_type = $2 ORDER BY type_id",
                args![from.as_str(), to.as_str()],
            )
            .await?;
        rows.iter().map(label_from_row).collect()
    }

    pub async fn association_label(
        &mut self,
        type_id: i64,
    ) -> Result<Option<AssociationLabel>, StoreError> {
        self.opt(
            "SELECT type_id, from_type, to_type, name, label, inverse_type_id FROM association_labels WHERE type_id = $1",
            args![type_id],
        )
        .await?
        .as_ref()
        .map(label_from_row)
        .transpose()
    }

    /// Creates a label in both directions; returns (type id from→to, type id to→from).
    pub async fn insert_association_label(
        &mut self,
        from: ObjectType,
        to: ObjectType,
        name: &str,
        label: &str,
        inverse_label: &str,
        now: Millis,
    ) -> Result<(i64, i64), StoreError> {
        // Inside a write transaction (SQLite's single writer; on PostgreSQL a concurrent
        // creation collides on the primary key and reports a conflict instead).
        let next = self
            .one(
                "SELECT COALESCE(MAX(type_id), 1000) + 1 AS next FROM association_labels",
                args![],
            )
            .await?
            .i64("next")?;
        let (ab, ba) = (next, next + 1);
        self.exec(
            "INSERT INTO association_labels (type_id, from_type, to_type, name, label, inverse_type_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![ab, from.as_str(), to.as_str(), name, label, ba, now],
        )
        .await?;
        self.exec(
            "INSERT INTO association_labels (type_id, from_type, to_type, name, label, inverse_type_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![ba, to.as_str(), from.as_str(), name, inverse_label, ab, now],
        )
        .await?;
        Ok((ab, ba))
    }

    pub async fn rename_association_label(
        &mut self,
        type_id: i64,
        label: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE association_labels SET label = $2 WHERE type_id = $1",
                args![type_id, label],
            )
            .await?;
        Ok(n == 1)
    }

    /// Deletes a label (both directions) and every association row that carried it.
    pub async fn delete_association_label(&mut self, type_id: i64) -> Result<bool, StoreError> {
        let Some(l) = self.association_label(type_id).await? else {
            return Ok(false);
        };
        for t in [l.type_id, l.inverse_type_id] {
            self.exec("DELETE FROM associations WHERE type_id = $1", args![t])
                .await?;
            self.exec(
                "DELETE FROM association_labels WHERE type_id = $1",
                args![t],
            )
            .await?;
        }
        Ok(true)
    }

    /// Deletes the given type rows between two records, in both directions.
    pub async fn delete_association_types(
        &mut self,
        a_type: ObjectType,
        a_id: i64,
        b_type: ObjectType,
        b_id: i64,
        type_ids: &[i64],
    ) -> Result<u64, StoreError> {
        let mut sql = Sql::new("DELETE FROM associations WHERE ((from_type = ");
        sql.bind(a_type.as_str())
            .push(" AND from_id = ")
            .bind(a_id)
            .push(" AND to_type = ")
            .bind(b_type.as_str())
            .push(" AND to_id = ")
            .bind(b_id)
            .push(") OR (from_type = ")
            .bind(b_type.as_str())
            .push(" AND from_id = ")
            .bind(b_id)
            .push(" AND to_type = ")
            .bind(a_type.as_str())
            .push(" AND to_id = ")
            .bind(a_id)
            .push(")) AND type_id IN (")
            .bind_list(type_ids.iter().copied())
            .push(")");
        self.exec_sql(sql).await
    }
}

/// A team's connected email address (a channel account of the conversations API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamAddress {
    pub id: i64,
    pub team_id: TeamId,
    pub address: String,
    pub workspace: Workspace,
    pub created_at: Millis,
}

impl Tx {
    pub async fn all_team_addresses(&mut self) -> Result<Vec<TeamAddress>, StoreError> {
        let rows = self
            .all(
                "SELECT id, team_id, address, workspace, created_at FROM team_addresses ORDER BY id",
                args![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TeamAddress {
                    id: r.i64("id")?,
                    team_id: TeamId(r.i64("team_id")?),
                    address: r.string("address")?,
                    workspace: decode(r.string("workspace")?.parse())?,
                    created_at: r.i64("created_at")?,
                })
            })
            .collect()
    }
}
