//! Contacts, companies, deals and the typed associations between records.

use fd_domain::*;

use crate::error::decode;
use crate::{Association, Company, Contact, Deal, Sql, StoreError, Tx, args};

pub(crate) const CONTACT_COLUMNS: &str =
    "id, email, firstname, lastname, phone, company, created_at, updated_at, archived_at";
pub(crate) const COMPANY_COLUMNS: &str =
    "id, name, domain, phone, created_at, updated_at, archived_at";
const DEAL_COLUMNS: &str = "id, name, amount, dealstage, created_at, updated_at, archived_at";

pub(crate) fn contact_from_row(r: &crate::Row) -> Result<Contact, StoreError> {
    Ok(Contact {
        id: ContactId(r.i64("id")?),
        email: r.opt_string("email")?,
        firstname: r.opt_string("firstname")?,
        lastname: r.opt_string("lastname")?,
        phone: r.opt_string("phone")?,
        company: r.opt_string("company")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        archived_at: r.opt_i64("archived_at")?,
    })
}

pub(crate) fn company_from_row(r: &crate::Row) -> Result<Company, StoreError> {
    Ok(Company {
        id: CompanyId(r.i64("id")?),
        name: r.opt_string("name")?,
        domain: r.opt_string("domain")?,
        phone: r.opt_string("phone")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        archived_at: r.opt_i64("archived_at")?,
    })
}

fn deal_from_row(r: &crate::Row) -> Result<Deal, StoreError> {
    Ok(Deal {
        id: DealId(r.i64("id")?),
        name: r.opt_string("name")?,
        amount: r.opt_string("amount")?,
        dealstage: r.opt_string("dealstage")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        archived_at: r.opt_i64("archived_at")?,
    })
}

fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Tx {
    pub async fn insert_contact(&mut self, c: &Contact) -> Result<ContactId, StoreError> {
        let r = self
            .one(
                "INSERT INTO contacts (email, firstname, lastname, phone, company, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                args![
                    c.email.clone(),
                    c.firstname.clone(),
                    c.lastname.clone(),
                    c.phone.clone(),
                    c.company.clone(),
                    c.created_at
                ],
            )
            .await?;
        Ok(ContactId(r.i64("id")?))
    }

    pub async fn save_contact(&mut self, c: &Contact) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE contacts SET email = $2, firstname = $3, lastname = $4, phone = $5, company = $6, \
                 updated_at = $7, archived_at = $8 WHERE id = $1",
                args![
                    c.id,
                    c.email.clone(),
                    c.firstname.clone(),
                    c.lastname.clone(),
                    c.phone.clone(),
                    c.company.clone(),
                    c.updated_at,
                    c.archived_at
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn contact(&mut self, id: ContactId) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1");
        self.opt(&sql, args![id])
            .await?
            .as_ref()
            .map(contact_from_row)
            .transpose()
    }

    pub async fn contact_by_email(&mut self, email: &str) -> Result<Option<Contact>, StoreError> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE email = $1 AND archived_at IS NULL"
        );
        self.opt(&sql, args![email.to_lowercase()])
            .await?
            .as_ref()
            .map(contact_from_row)
            .transpose()
    }

    /// HD-11: contacts whose name or email contains `text`.
    pub async fn search_contacts(
        &mut self,
        text: &str,
        limit: i64,
    ) -> Result<Vec<Contact>, StoreError> {
        let p = like_pattern(text.trim());
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE archived_at IS NULL AND (LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(firstname, '') || ' ' || COALESCE(lastname, '')) LIKE $1 ESCAPE '\\') ORDER BY id LIMIT $2"
        );
        let rows = self.all(&sql, args![p, limit]).await?;
        rows.iter().map(contact_from_row).collect()
    }

    pub async fn insert_company(&mut self, c: &Company) -> Result<CompanyId, StoreError> {
        let r = self
            .one(
                "INSERT INTO companies (name, domain, phone, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                args![c.name.clone(), c.domain.clone(), c.phone.clone(), c.created_at],
            )
            .await?;
        Ok(CompanyId(r.i64("id")?))
    }

    pub async fn save_company(&mut self, c: &Company) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE companies SET name = $2, domain = $3, phone = $4, updated_at = $5, archived_at = $6 WHERE id = $1",
                args![c.id, c.name.clone(), c.domain.clone(), c.phone.clone(), c.updated_at, c.archived_at],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn company(&mut self, id: CompanyId) -> Result<Option<Company>, StoreError> {
        let sql = format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE id = $1");
        self.opt(&sql, args![id])
            .await?
            .as_ref()
            .map(company_from_row)
            .transpose()
    }

    pub async fn search_companies(
        &mut self,
        text: &str,
        limit: i64,
    ) -> Result<Vec<Company>, StoreError> {
        let p = like_pattern(text.trim());
        let sql = format!(
            "SELECT {COMPANY_COLUMNS} FROM companies WHERE archived_at IS NULL AND (LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(domain, '')) LIKE $1 ESCAPE '\\') ORDER BY id LIMIT $2"
        );
        let rows = self.all(&sql, args![p, limit]).await?;
        rows.iter().map(company_from_row).collect()
    }

    pub async fn insert_deal(&mut self, d: &Deal) -> Result<DealId, StoreError> {
        let r = self
            .one(
                "INSERT INTO deals (name, amount, dealstage, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                args![d.name.clone(), d.amount.clone(), d.dealstage.clone(), d.created_at],
            )
            .await?;
        Ok(DealId(r.i64("id")?))
    }

    pub async fn deal(&mut self, id: DealId) -> Result<Option<Deal>, StoreError> {
        let sql = format!("SELECT {DEAL_COLUMNS} FROM deals WHERE id = $1");
        self.opt(&sql, args![id])
            .await?
            .as_ref()
            .map(deal_from_row)
            .transpose()
    }

    /// Is there a live record of this type with this id?
    pub async fn record_exists(&mut self, kind: ObjectType, id: i64) -> Result<bool, StoreError> {
        let sql = match kind {
            ObjectType::Ticket => {
                "SELECT 1 AS one FROM tickets WHERE id = $1 AND trashed_at IS NULL"
            }
            ObjectType::Contact => {
                "SELECT 1 AS one FROM contacts WHERE id = $1 AND archived_at IS NULL"
            }
            ObjectType::Company => {
                "SELECT 1 AS one FROM companies WHERE id = $1 AND archived_at IS NULL"
            }
            ObjectType::Deal => "SELECT 1 AS one FROM deals WHERE id = $1 AND archived_at IS NULL",
            ObjectType::Conversation => {
                "SELECT 1 AS one FROM conversations WHERE id = $1 AND trashed_at IS NULL"
            }
            ObjectType::Call => {
                "SELECT 1 AS one FROM engagements WHERE id = $1 AND kind = 'call' AND archived_at IS NULL"
            }
            ObjectType::Note => {
                "SELECT 1 AS one FROM engagements WHERE id = $1 AND kind = 'note' AND archived_at IS NULL"
            }
            ObjectType::Email => {
                "SELECT 1 AS one FROM engagements WHERE id = $1 AND kind = 'email' AND archived_at IS NULL"
            }
        };
        Ok(self.opt(sql, args![id]).await?.is_some())
    }

    /// Inserts one directed association row; returns false if it already existed.
    pub async fn insert_association(
        &mut self,
        a: &Association,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO associations (from_type, from_id, to_type, to_id, type_id, category, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                args![
                    a.from_type.as_str(),
                    a.from_id,
                    a.to_type.as_str(),
                    a.to_id,
                    a.type_id,
                    a.category.as_str(),
                    now
                ],
            )
            .await?;
        if n == 1 {
            self.note_association(a, false, now);
        }
        Ok(n == 1)
    }

    /// Deletes every association row between the two records, both directions; returns how many.
    pub async fn delete_associations_between(
        &mut self,
        a_type: ObjectType,
        a_id: i64,
        b_type: ObjectType,
        b_id: i64,
        now: Millis,
    ) -> Result<u64, StoreError> {
        let rows = self
            .all(
                "DELETE FROM associations WHERE (from_type = $1 AND from_id = $2 AND to_type = $3 AND to_id = $4) \
                 OR (from_type = $3 AND from_id = $4 AND to_type = $1 AND to_id = $2) \
                 RETURNING from_type, from_id, to_type, to_id, type_id, category",
                args![a_type.as_str(), a_id, b_type.as_str(), b_id],
            )
            .await?;
        for r in &rows {
            let a = Association {
                from_type: decode(r.string("from_type")?.parse())?,
                from_id: r.i64("from_id")?,
                to_type: decode(r.string("to_type")?.parse())?,
                to_id: r.i64("to_id")?,
                type_id: r.i64("type_id")?,
                category: r.string("category")?,
            };
            self.note_association(&a, true, now);
        }
        Ok(rows.len() as u64)
    }

    /// Associations from one record to records of `to_type` (all types when `None`).
    pub async fn associations_from(
        &mut self,
        from_type: ObjectType,
        from_id: i64,
        to_type: Option<ObjectType>,
    ) -> Result<Vec<Association>, StoreError> {
        let mut sql = Sql::new(
            "SELECT from_type, from_id, to_type, to_id, type_id, category FROM associations WHERE from_type = ",
        );
        sql.bind(from_type.as_str())
            .push(" AND from_id = ")
            .bind(from_id);
        if let Some(t) = to_type {
            sql.push(" AND to_type = ").bind(t.as_str());
        }
        sql.push(" ORDER BY to_type, to_id, type_id");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| {
                Ok(Association {
                    from_type: decode(r.string("from_type")?.parse())?,
                    from_id: r.i64("from_id")?,
                    to_type: decode(r.string("to_type")?.parse())?,
                    to_id: r.i64("to_id")?,
                    type_id: r.i64("type_id")?,
                    category: r.string("category")?,
                })
            })
            .collect()
    }
}

/// The contact and company pages of the web UI: paged lists, the company a sender's domain
/// names, and the moves a merge makes.
impl Tx {
    /// Live contacts whose name, email or email domain contains `text` (all when empty),
    /// newest first, `limit` from `offset`.
    pub async fn contacts_page(
        &mut self,
        text: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Contact>, StoreError> {
        let p = like_pattern(text.trim());
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE archived_at IS NULL AND (LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(firstname, '') || ' ' || COALESCE(lastname, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(company, '')) LIKE $1 ESCAPE '\\') ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let rows = self.all(&sql, args![p, limit, offset]).await?;
        rows.iter().map(contact_from_row).collect()
    }

    /// Live companies whose name or domain contains `text` (all when empty), newest first.
    pub async fn companies_page(
        &mut self,
        text: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Company>, StoreError> {
        let p = like_pattern(text.trim());
        let sql = format!(
            "SELECT {COMPANY_COLUMNS} FROM companies WHERE archived_at IS NULL AND (LOWER(COALESCE(name, '')) LIKE $1 ESCAPE '\\' \
             OR LOWER(COALESCE(domain, '')) LIKE $1 ESCAPE '\\') ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let rows = self.all(&sql, args![p, limit, offset]).await?;
        rows.iter().map(company_from_row).collect()
    }

    /// The oldest live company with this domain (compared in lower case).
    pub async fn company_by_domain(&mut self, domain: &str) -> Result<Option<Company>, StoreError> {
        let sql = format!(
            "SELECT {COMPANY_COLUMNS} FROM companies WHERE LOWER(domain) = $1 AND archived_at IS NULL ORDER BY id LIMIT 1"
        );
        self.opt(&sql, args![domain.trim().to_lowercase()])
            .await?
            .as_ref()
            .map(company_from_row)
            .transpose()
    }

    /// Re-points every association of record `from` (both directions) to record `to` of the
    /// same kind; rows `to` already has are not doubled. Returns how many rows `from` had.
    pub async fn move_associations(
        &mut self,
        kind: ObjectType,
        from: i64,
        to: i64,
    ) -> Result<u64, StoreError> {
        self.exec(
            "INSERT INTO associations (from_type, from_id, to_type, to_id, type_id, category, created_at) \
             SELECT from_type, $3, to_type, to_id, type_id, category, created_at FROM associations \
             WHERE from_type = $1 AND from_id = $2 AND NOT (to_type = $1 AND to_id = $3) ON CONFLICT DO NOTHING",
            args![kind.as_str(), from, to],
        )
        .await?;
        self.exec(
            "INSERT INTO associations (from_type, from_id, to_type, to_id, type_id, category, created_at) \
             SELECT from_type, from_id, to_type, $3, type_id, category, created_at FROM associations \
             WHERE to_type = $1 AND to_id = $2 AND NOT (from_type = $1 AND from_id = $3) ON CONFLICT DO NOTHING",
            args![kind.as_str(), from, to],
        )
        .await?;
        self.exec(
            "DELETE FROM associations WHERE (from_type = $1 AND from_id = $2) OR (to_type = $1 AND to_id = $2)",
            args![kind.as_str(), from],
        )
        .await
    }

    /// Conversations of contact `from` become conversations of contact `to`.
    pub async fn move_conversations_to_contact(
        &mut self,
        from: ContactId,
        to: ContactId,
    ) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE conversations SET contact_id = $2 WHERE contact_id = $1",
            args![from, to],
        )
        .await
    }
}
