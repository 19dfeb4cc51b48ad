//! Pipelines, stages, property definitions and the create-ticket form.

use fd_domain::property::PropertyDefinition;
use fd_domain::*;

use crate::records::property_from_row;
use crate::records::stage_from_row;
use crate::{Pipeline, PropertyGroup, Stage, StoreError, Tx, args};

const STAGE_COLUMNS: &str =
    "id, pipeline_id, label, display_order, state, archived, created_at, updated_at";
const PROPERTY_COLUMNS: &str = "name, label, type, field_type, group_name, description, options, \
    hubspot_defined, read_only, display_order, form_field, archived";

impl Tx {
    /// The configuration version (see `account_settings.config_version`).
    /// Read once per transaction: a transaction works with one configuration throughout.
    pub async fn config_version(&mut self) -> Result<i64, StoreError> {
        if let Some(v) = self.config_version_seen {
            return Ok(v);
        }
        let v = self
            .one(
                "SELECT config_version FROM account_settings WHERE id = 1",
                args![],
            )
            .await?
            .i64("config_version")?;
        self.config_version_seen = Some(v);
        Ok(v)
    }

    /// Marks pipelines/properties as changed; call in the transaction that changes them.
    /// The new version is random rather than incremented: a node may have cached what a
    /// transaction read after bumping, and if that transaction rolled back, a counter would
    /// hand the same number to the next real change and the stale entry would look current.
    pub async fn bump_config_version(&mut self) -> Result<(), StoreError> {
        let sql = match self.backend() {
            crate::Backend::Sqlite => {
                "UPDATE account_settings SET config_version = random() WHERE id = 1"
            }
            crate::Backend::Postgres => {
                "UPDATE account_settings SET config_version = \
                 (floor(random() * 9.0e18) - 4.5e18)::bigint WHERE id = 1"
            }
        };
        self.exec(sql, args![]).await?;
        self.config_version_seen = None;
        Ok(())
    }

    /// Every ticket pipeline (archived ones too) with all stages and their requirements, in
    /// three queries.
    pub async fn all_pipelines(&mut self) -> Result<Vec<Pipeline>, StoreError> {
        let rows = self
            .all(
                "SELECT id, label, display_order, archived, created_at, updated_at FROM pipelines \
                 WHERE object_type = 'tickets' ORDER BY display_order, id",
                args![],
            )
            .await?;
        let mut pipelines = Vec::with_capacity(rows.len());
        for r in rows {
            pipelines.push(Pipeline {
                id: PipelineId(r.i64("id")?),
                label: r.string("label")?,
                display_order: r.i64("display_order")?,
                archived: r.bool("archived")?,
                created_at: r.i64("created_at")?,
                updated_at: r.i64("updated_at")?,
                stages: Vec::new(),
            });
        }
        let sql = format!(
            "SELECT {STAGE_COLUMNS} FROM pipeline_stages ORDER BY pipeline_id, display_order, id"
        );
        let mut stages = self
            .all(&sql, args![])
            .await?
            .iter()
            .map(stage_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        for r in self
            .all(
                "SELECT stage_id, property_name FROM stage_required_properties ORDER BY stage_id, property_name",
                args![],
            )
            .await?
        {
            let sid = StageId(r.i64("stage_id")?);
            if let Some(s) = stages.iter_mut().find(|s| s.id == sid) {
                s.required_properties.push(r.string("property_name")?);
            }
        }
        for s in stages {
            if let Some(p) = pipelines.iter_mut().find(|p| p.id == s.pipeline_id) {
                p.stages.push(s);
            }
        }
        Ok(pipelines)
    }

    async fn stage_requirements(&mut self, stages: &mut [Stage]) -> Result<(), StoreError> {
        for s in stages.iter_mut() {
            let rows = self
                .all(
                    "SELECT property_name FROM stage_required_properties WHERE stage_id = $1 ORDER BY property_name",
                    args![s.id],
                )
                .await?;
            s.required_properties = rows
                .iter()
                .map(|r| r.string("property_name"))
                .collect::<Result<_, _>>()?;
        }
        Ok(())
    }

    /// Ticket pipelines with their stages (archived ones only when asked).
    pub async fn pipelines(&mut self, include_archived: bool) -> Result<Vec<Pipeline>, StoreError> {
        let sql = if include_archived {
            "SELECT id, label, display_order, archived, created_at, updated_at FROM pipelines \
             WHERE object_type = 'tickets' ORDER BY display_order, id"
        } else {
            "SELECT id, label, display_order, archived, created_at, updated_at FROM pipelines \
             WHERE object_type = 'tickets' AND archived = FALSE ORDER BY display_order, id"
        };
        let rows = self.all(sql, args![]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id = PipelineId(r.i64("id")?);
            out.push(Pipeline {
                id,
                label: r.string("label")?,
                display_order: r.i64("display_order")?,
                archived: r.bool("archived")?,
                created_at: r.i64("created_at")?,
                updated_at: r.i64("updated_at")?,
                stages: self.stages(id, include_archived).await?,
            });
        }
        Ok(out)
    }

    pub async fn pipeline(&mut self, id: PipelineId) -> Result<Option<Pipeline>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT id, label, display_order, archived, created_at, updated_at FROM pipelines \
                 WHERE id = $1 AND object_type = 'tickets'",
                args![id],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(Pipeline {
            id,
            label: r.string("label")?,
            display_order: r.i64("display_order")?,
            archived: r.bool("archived")?,
            created_at: r.i64("created_at")?,
            updated_at: r.i64("updated_at")?,
            stages: self.stages(id, true).await?,
        }))
    }

    pub async fn stages(
        &mut self,
        pipeline: PipelineId,
        include_archived: bool,
    ) -> Result<Vec<Stage>, StoreError> {
        let filter = if include_archived {
            ""
        } else {
            " AND archived = FALSE"
        };
        let sql = format!(
            "SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE pipeline_id = $1{filter} ORDER BY display_order, id"
        );
        let rows = self.all(&sql, args![pipeline]).await?;
        let mut stages = rows
            .iter()
            .map(stage_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.stage_requirements(&mut stages).await?;
        Ok(stages)
    }

    pub async fn stage(&mut self, id: StageId) -> Result<Option<Stage>, StoreError> {
        let sql = format!("SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE id = $1");
        let Some(r) = self.opt(&sql, args![id]).await? else {
            return Ok(None);
        };
        let mut stages = vec![stage_from_row(&r)?];
        self.stage_requirements(&mut stages).await?;
        Ok(stages.pop())
    }

    pub async fn insert_pipeline(
        &mut self,
        label: &str,
        display_order: i64,
        now: Millis,
    ) -> Result<PipelineId, StoreError> {
        self.bump_config_version().await?;
        let r = self
            .one(
                "INSERT INTO pipelines (object_type, label, display_order, archived, created_at, updated_at) \
                 VALUES ('tickets', $1, $2, FALSE, $3, $3) RETURNING id",
                args![label, display_order, now],
            )
            .await?;
        Ok(PipelineId(r.i64("id")?))
    }

    pub async fn update_pipeline(
        &mut self,
        id: PipelineId,
        label: &str,
        display_order: i64,
        archived: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        self.bump_config_version().await?;
        let n = self
            .exec(
                "UPDATE pipelines SET label = $2, display_order = $3, archived = $4, updated_at = $5 WHERE id = $1",
                args![id, label, display_order, archived, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn insert_stage(
        &mut self,
        pipeline: PipelineId,
        label: &str,
        display_order: i64,
        state: StageState,
        now: Millis,
    ) -> Result<StageId, StoreError> {
        self.bump_config_version().await?;
        let r = self
            .one(
                "INSERT INTO pipeline_stages (pipeline_id, label, display_order, state, archived, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, FALSE, $5, $5) RETURNING id",
                args![pipeline, label, display_order, state.as_str(), now],
            )
            .await?;
        Ok(StageId(r.i64("id")?))
    }

    pub async fn update_stage(
        &mut self,
        id: StageId,
        label: &str,
        display_order: i64,
        state: StageState,
        archived: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        self.bump_config_version().await?;
        let n = self
            .exec(
                "UPDATE pipeline_stages SET label = $2, display_order = $3, state = $4, archived = $5, updated_at = $6 WHERE id = $1",
                args![id, label, display_order, state.as_str(), archived, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn set_stage_required_properties(
        &mut self,
        id: StageId,
        names: &[String],
    ) -> Result<(), StoreError> {
        self.bump_config_version().await?;
        self.exec(
            "DELETE FROM stage_required_properties WHERE stage_id = $1",
            args![id],
        )
        .await?;
        for name in names {
            self.exec(
                "INSERT INTO stage_required_properties (stage_id, property_name) VALUES ($1, $2)",
                args![id, name.as_str()],
            )
            .await?;
        }
        Ok(())
    }

    /// Live (not trashed) tickets in a stage: a stage that still has some cannot be removed.
    pub async fn tickets_in_stage(&mut self, id: StageId) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) AS n FROM tickets WHERE stage_id = $1",
            args![id],
        )
        .await?
        .i64("n")
    }

    pub async fn properties(
        &mut self,
        object_type: &str,
        include_archived: bool,
    ) -> Result<Vec<PropertyDefinition>, StoreError> {
        let filter = if include_archived {
            ""
        } else {
            " AND archived = FALSE"
        };
        let sql = format!(
            "SELECT {PROPERTY_COLUMNS} FROM property_definitions WHERE object_type = $1{filter} ORDER BY display_order, name"
        );
        let rows = self.all(&sql, args![object_type]).await?;
        rows.iter().map(property_from_row).collect()
    }

    pub async fn property(
        &mut self,
        object_type: &str,
        name: &str,
    ) -> Result<Option<PropertyDefinition>, StoreError> {
        let sql = format!(
            "SELECT {PROPERTY_COLUMNS} FROM property_definitions WHERE object_type = $1 AND name = $2"
        );
        match self.opt(&sql, args![object_type, name]).await? {
            Some(r) => Ok(Some(property_from_row(&r)?)),
            None => Ok(None),
        }
    }

    pub async fn upsert_property(
        &mut self,
        object_type: &str,
        p: &PropertyDefinition,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.bump_config_version().await?;
        let options =
            serde_json::to_string(&p.options).map_err(|e| StoreError::Internal(e.to_string()))?;
        self.exec(
            "INSERT INTO property_definitions (object_type, name, label, type, field_type, group_name, description, \
             options, hubspot_defined, read_only, display_order, form_field, archived, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             ON CONFLICT (object_type, name) DO UPDATE SET label = $3, type = $4, field_type = $5, \
             group_name = $6, description = $7, options = $8, display_order = $11, form_field = $12, \
             archived = $13, updated_at = $14",
            args![
                object_type,
                p.name.as_str(),
                p.label.as_str(),
                p.kind.as_str(),
                p.field_type.as_str(),
                p.group_name.as_str(),
                p.description.as_str(),
                options,
                p.hubspot_defined,
                p.read_only,
                i64::from(p.display_order),
                p.form_field,
                p.archived,
                now
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn property_groups(
        &mut self,
        object_type: &str,
    ) -> Result<Vec<PropertyGroup>, StoreError> {
        let rows = self
            .all(
                "SELECT name, label, display_order, archived FROM property_groups WHERE object_type = $1 \
                 AND archived = FALSE ORDER BY display_order, name",
                args![object_type],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PropertyGroup {
                    name: r.string("name")?,
                    label: r.string("label")?,
                    display_order: r.i64("display_order")?,
                    archived: r.bool("archived")?,
                })
            })
            .collect()
    }

    pub async fn upsert_property_group(
        &mut self,
        object_type: &str,
        g: &PropertyGroup,
    ) -> Result<(), StoreError> {
        self.bump_config_version().await?;
        self.exec(
            "INSERT INTO property_groups (object_type, name, label, display_order, archived) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (object_type, name) DO UPDATE SET label = $3, display_order = $4, archived = $5",
            args![object_type, g.name.as_str(), g.label.as_str(), g.display_order, g.archived],
        )
        .await?;
        Ok(())
    }

    /// HD-10: (property name, required) of the create-ticket form, in display order.
    pub async fn ticket_form_fields(&mut self) -> Result<Vec<(String, bool)>, StoreError> {
        let rows = self
            .all(
                "SELECT property_name, required FROM ticket_form_fields ORDER BY display_order, property_name",
                args![],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.string("property_name")?, r.bool("required")?)))
            .collect()
    }

    pub async fn set_ticket_form_fields(
        &mut self,
        fields: &[(String, bool)],
    ) -> Result<(), StoreError> {
        self.bump_config_version().await?;
        self.exec("DELETE FROM ticket_form_fields", args![]).await?;
        for (i, (name, required)) in fields.iter().enumerate() {
            self.exec(
                "INSERT INTO ticket_form_fields (property_name, required, display_order) VALUES ($1, $2, $3)",
                args![name.as_str(), *required, i as i64],
            )
            .await?;
        }
        Ok(())
    }

    /// INB-07: the properties a user chose for their Ticket details panel.
    pub async fn user_ticket_panel(&mut self, user: UserId) -> Result<Vec<String>, StoreError> {
        let rows = self
            .all(
                "SELECT property_name FROM user_ticket_panel WHERE user_id = $1 ORDER BY display_order",
                args![user],
            )
            .await?;
        rows.iter().map(|r| r.string("property_name")).collect()
    }

    pub async fn set_user_ticket_panel(
        &mut self,
        user: UserId,
        names: &[String],
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM user_ticket_panel WHERE user_id = $1",
            args![user],
        )
        .await?;
        for (i, name) in names.iter().enumerate() {
            self.exec(
                "INSERT INTO user_ticket_panel (user_id, property_name, display_order) VALUES ($1, $2, $3)",
                args![user, name.as_str(), i as i64],
            )
            .await?;
        }
        Ok(())
    }
}
