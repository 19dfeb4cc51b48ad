//! Web forms (HD-06): definitions with their fields, accepted submissions, and the
//! installation's `portalId` (migration 0012).
//!
//! SQL only: what a form may hold and what a submission must satisfy are fd-domain's
//! `forms` rules, applied by fd-app before anything here is called.

use fd_domain::forms::{FieldObject, Form, FormField, PostSubmit};
use fd_domain::*;

use crate::error::decode;
use crate::{StoreError, Tx, args};

/// What a stored submission became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFormSubmission<'a> {
    pub form_id: &'a str,
    pub contact: Option<ContactId>,
    pub conversation: Option<ConversationId>,
    pub ticket: Option<TicketId>,
    pub page_uri: Option<&'a str>,
    pub at: Millis,
}

fn form_from_row(r: &crate::Row, fields: Vec<FormField>) -> Result<Form, StoreError> {
    let value = r.string("post_submit_value")?;
    let post_submit = match r.string("post_submit_type")?.as_str() {
        "redirect_url" => PostSubmit::Redirect(value),
        _ => PostSubmit::ThankYou(value),
    };
    Ok(Form {
        id: r.string("id")?,
        name: r.string("name")?,
        fields,
        post_submit,
        team: r.opt_i64("team_id")?.map(TeamId),
        workspace: decode(r.string("workspace")?.parse())?,
        archived: r.bool("archived")?,
        archived_at: r.opt_i64("archived_at")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
    })
}

const FORM_COLUMNS: &str = "id, name, team_id, workspace, post_submit_type, post_submit_value, \
                            archived, archived_at, created_at, updated_at";

impl Tx {
    /// This installation's account id (drawn once by migration 0012).
    pub async fn portal_id(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT portal_id FROM portal WHERE id = 1", args![])
            .await?
            .i64("portal_id")
    }

    async fn form_fields(&mut self, id: &str) -> Result<Vec<FormField>, StoreError> {
        let rows = self
            .all(
                "SELECT object_type, name, label, required FROM form_fields \
                 WHERE form_id = $1 ORDER BY position",
                args![id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let object = r.string("object_type")?;
                Ok(FormField {
                    object: FieldObject::parse(&object).ok_or_else(|| {
                        StoreError::Decode(format!("form field object type {object:?}"))
                    })?,
                    name: r.string("name")?,
                    label: r.string("label")?,
                    required: r.bool("required")?,
                })
            })
            .collect()
    }

    async fn write_form_fields(&mut self, f: &Form) -> Result<(), StoreError> {
        self.exec("DELETE FROM form_fields WHERE form_id = $1", args![&f.id])
            .await?;
        for (i, field) in f.fields.iter().enumerate() {
            self.exec(
                "INSERT INTO form_fields (form_id, position, object_type, name, label, required) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![
                    &f.id,
                    i as i64,
                    field.object.type_id(),
                    &field.name,
                    &field.label,
                    field.required
                ],
            )
            .await?;
        }
        Ok(())
    }

    pub async fn insert_form(&mut self, f: &Form) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO forms (id, name, team_id, workspace, post_submit_type, post_submit_value, \
             archived, archived_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                &f.id,
                &f.name,
                f.team,
                f.workspace.as_str(),
                f.post_submit.type_str(),
                f.post_submit.value(),
                f.archived,
                f.archived_at,
                f.created_at,
                f.updated_at
            ],
        )
        .await?;
        self.write_form_fields(f).await
    }

    /// Writes every column and the fields of an existing form; false when there is none.
    pub async fn update_form(&mut self, f: &Form) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE forms SET name = $2, team_id = $3, workspace = $4, post_submit_type = $5, \
                 post_submit_value = $6, archived = $7, archived_at = $8, updated_at = $9 \
                 WHERE id = $1",
                args![
                    &f.id,
                    &f.name,
                    f.team,
                    f.workspace.as_str(),
                    f.post_submit.type_str(),
                    f.post_submit.value(),
                    f.archived,
                    f.archived_at,
                    f.updated_at
                ],
            )
            .await?;
        if n == 0 {
            return Ok(false);
        }
        self.write_form_fields(f).await?;
        Ok(true)
    }

    /// A form by id, archived or not.
    pub async fn form(&mut self, id: &str) -> Result<Option<Form>, StoreError> {
        let Some(r) = self
            .opt(
                &format!("SELECT {FORM_COLUMNS} FROM forms WHERE id = $1"),
                args![id],
            )
            .await?
        else {
            return Ok(None);
        };
        let fields = self.form_fields(id).await?;
        form_from_row(&r, fields).map(Some)
    }

    /// Locks a form for a change (PostgreSQL; SQLite's writer holds the database).
    pub async fn form_for_update(&mut self, id: &str) -> Result<Option<Form>, StoreError> {
        let Some(r) = self
            .opt(
                &format!(
                    "SELECT {FORM_COLUMNS} FROM forms WHERE id = $1{}",
                    self.lock_rows()
                ),
                args![id],
            )
            .await?
        else {
            return Ok(None);
        };
        let fields = self.form_fields(id).await?;
        form_from_row(&r, fields).map(Some)
    }

    /// One page of forms, oldest first: `limit` of them from `offset`, archived or live.
    pub async fn forms_page(
        &mut self,
        archived: bool,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Form>, StoreError> {
        let rows = self
            .all(
                &format!(
                    "SELECT {FORM_COLUMNS} FROM forms WHERE archived = $1 \
                     ORDER BY created_at, id LIMIT $2 OFFSET $3"
                ),
                args![archived, limit, offset],
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id = r.string("id")?;
            let fields = self.form_fields(&id).await?;
            out.push(form_from_row(&r, fields)?);
        }
        Ok(out)
    }

    pub async fn insert_form_submission(
        &mut self,
        s: &NewFormSubmission<'_>,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO form_submissions (form_id, contact_id, conversation_id, ticket_id, page_uri, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            args![
                s.form_id,
                s.contact,
                s.conversation,
                s.ticket,
                s.page_uri,
                s.at
            ],
        )
        .await?
        .i64("id")
    }

    /// How many submissions a form has accepted.
    pub async fn form_submission_count(&mut self, form_id: &str) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) AS n FROM form_submissions WHERE form_id = $1",
            args![form_id],
        )
        .await?
        .i64("n")
    }
}
