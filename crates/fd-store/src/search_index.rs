//! Keeps the full-text index in step with the records it indexes, on both backends.
//!
//! Triggers note each record whose searchable text changed in `search_dirty` (migrations 0006
//! and 0008); [`sync`] (SQLite) and [`sync_postgres`] re-index them at the end of the write
//! transaction (SQLite also before a statement of that transaction reads an index). A
//! ticket's document is the whole ticket ([`ticket_parts_sql`]): subject, description, every
//! message of its conversations, every comment, its contacts' names and emails and its
//! companies' names. All indexed text goes through `fd_domain::search::fold` here, the same
//! folding the query gets, so accents and case never decide a match on either backend.
//!
//! FTS5 writes a new index segment whenever a later statement of the transaction opens a
//! savepoint, so indexing row by row inside the transaction made one segment per record and
//! then merged them; this makes one per transaction. Must not depend on fd-app.

use std::collections::BTreeMap;

use fd_domain::search::fold;

use crate::sqlite::SqliteTx;
use crate::{Sql, StoreError, Tx};

/// Ids per statement: the ticket document binds its list eight times, well under SQLite's
/// 32,766 and PostgreSQL's 65,535 bound values.
const IDS_PER_STATEMENT: usize = 500;

/// A record's searchable text in parts: `id`, `src` (which field), `who` (the sender or author
/// of a message or comment), `part`; in the order a search result names the match.
pub(crate) fn ticket_parts_sql(ids: &[i64]) -> Sql {
    let mut sql = Sql::new(
        "SELECT t.id AS id, 'subject' AS src, '' AS who, t.subject AS part, 0 AS ord, t.id AS sub FROM tickets t WHERE t.id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT t.id, 'description', '', t.content, 1, t.id FROM tickets t \
         WHERE t.content IS NOT NULL AND t.id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT a.from_id, 'contact_name', '', \
         TRIM(COALESCE(ct.firstname, '') || ' ' || COALESCE(ct.lastname, '')), 2, ct.id \
         FROM associations a JOIN contacts ct ON ct.id = a.to_id \
         WHERE a.from_type = 'ticket' AND a.to_type = 'contact' AND a.from_id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT a.from_id, 'contact_email', '', COALESCE(ct.email, ''), 3, ct.id \
         FROM associations a JOIN contacts ct ON ct.id = a.to_id \
         WHERE a.from_type = 'ticket' AND a.to_type = 'contact' AND a.from_id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT a.from_id, 'company_name', '', COALESCE(co.name, ''), 4, co.id \
         FROM associations a JOIN companies co ON co.id = a.to_id \
         WHERE a.from_type = 'ticket' AND a.to_type = 'company' AND a.from_id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT c.ticket_id, 'message', \
         COALESCE(m.sender_name, m.sender_address, ''), m.text, 5, m.id \
         FROM conversations c JOIN messages m ON m.conversation_id = c.id WHERE c.ticket_id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT cm.ticket_id, 'comment', COALESCE(u.name, ''), cm.body, 6, cm.id \
         FROM comments cm LEFT JOIN users u ON u.id = cm.author_id WHERE cm.ticket_id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(
        ") UNION ALL SELECT c.ticket_id, 'comment', COALESCE(u.name, ''), cm.body, 6, cm.id \
         FROM comments cm JOIN conversations c ON c.id = cm.conversation_id \
         LEFT JOIN users u ON u.id = cm.author_id \
         WHERE cm.ticket_id IS NULL AND c.ticket_id IN (",
    );
    sql.bind_list(ids.iter().copied());
    sql.push(") ORDER BY 1, 5, 6");
    sql
}

/// The parts query of a kind noted by the triggers, and the table it indexes.
fn parts_sql(kind: &str, ids: &[i64]) -> Result<(Sql, &'static str, &'static str), StoreError> {
    Ok(match kind {
        "ticket" => (ticket_parts_sql(ids), "tickets_fts", "tickets"),
        "contact" => {
            let mut sql = Sql::new(
                "SELECT id, COALESCE(firstname, '') || ' ' || COALESCE(lastname, '') || ' ' \
                 || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' \
                 || COALESCE(company, '') AS part FROM contacts WHERE id IN (",
            );
            sql.bind_list(ids.iter().copied()).push(")");
            (sql, "contacts_fts", "contacts")
        }
        "company" => {
            let mut sql = Sql::new(
                "SELECT id, COALESCE(name, '') || ' ' || COALESCE(domain, '') || ' ' \
                 || COALESCE(phone, '') AS part FROM companies WHERE id IN (",
            );
            sql.bind_list(ids.iter().copied()).push(")");
            (sql, "companies_fts", "companies")
        }
        other => {
            return Err(StoreError::Internal(format!(
                "unknown search kind {other:?}"
            )));
        }
    })
}

/// Folded documents by id from `(id, part)` pairs. A ticket's id is part of its document too.
fn documents(
    kind: &str,
    parts: impl Iterator<Item = (i64, Option<String>)>,
) -> BTreeMap<i64, String> {
    let mut docs: BTreeMap<i64, String> = BTreeMap::new();
    for (id, part) in parts {
        let doc = docs.entry(id).or_insert_with(|| {
            if kind == "ticket" {
                id.to_string()
            } else {
                String::new()
            }
        });
        if let Some(p) = part {
            if !doc.is_empty() {
                doc.push(' ');
            }
            doc.push_str(&fold(&p));
        }
    }
    docs
}

/// Noted records grouped by kind: (ids to drop from the index, ids to index).
type Dirty = BTreeMap<String, (Vec<i64>, Vec<i64>)>;

fn group(
    rows: impl Iterator<Item = Result<(String, i64, bool), StoreError>>,
) -> Result<Dirty, StoreError> {
    let mut by_kind: Dirty = BTreeMap::new();
    for row in rows {
        let (kind, id, in_index) = row?;
        let entry = by_kind.entry(kind).or_default();
        if in_index {
            entry.0.push(id);
        }
        entry.1.push(id);
    }
    Ok(by_kind)
}

/// Before `sql` runs in a transaction (`writing`: a write transaction): a statement that reads
/// a full-text table first gets the transaction's pending changes indexed.
pub(crate) fn before_statement(tx: &SqliteTx, writing: bool, sql: &str) -> Result<(), StoreError> {
    if writing && sql.contains("_fts") {
        sync(tx)?;
    }
    Ok(())
}

/// Indexes the records changed so far in this write transaction (SQLite).
pub(crate) fn sync(tx: &SqliteTx) -> Result<(), StoreError> {
    sync_sqlite(tx).map(drop)
}

/// Indexes the noted records; returns how many were taken.
fn sync_sqlite(tx: &SqliteTx) -> Result<usize, StoreError> {
    let dirty = tx.query(
        "DELETE FROM search_dirty RETURNING kind, id, in_index",
        &[],
        None,
    )?;
    if dirty.is_empty() {
        return Ok(0);
    }
    let by_kind = group(
        dirty
            .iter()
            .map(|r| Ok((r.string("kind")?, r.i64("id")?, r.bool("in_index")?))),
    )?;
    for (kind, (drop, index)) in by_kind {
        let (_, fts, _) = parts_sql(&kind, &[])?;
        for chunk in drop.chunks(IDS_PER_STATEMENT) {
            let mut sql = Sql::new(&format!("DELETE FROM {fts} WHERE rowid IN ("));
            sql.bind_list(chunk.iter().copied()).push(")");
            tx.exec(sql.text(), sql.args())?;
        }
        // A deleted record is no longer in its table, so it is not indexed again.
        for chunk in index.chunks(IDS_PER_STATEMENT) {
            let (sql, _, _) = parts_sql(&kind, chunk)?;
            let rows = tx.query(sql.text(), sql.args(), None)?;
            let docs = documents(
                &kind,
                rows.iter()
                    .map(|r| Ok::<_, StoreError>((r.i64("id")?, r.opt_string("part")?)))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter(),
            );
            if docs.is_empty() {
                continue;
            }
            let mut insert = Sql::new(&format!("INSERT INTO {fts} (rowid, body) VALUES "));
            for (i, (id, body)) in docs.into_iter().enumerate() {
                if i > 0 {
                    insert.push(", ");
                }
                insert.push("(").bind(id).push(", ").bind(body).push(")");
            }
            tx.exec(insert.text(), insert.args())?;
        }
    }
    Ok(dirty.len())
}

/// Indexes the records this PostgreSQL transaction noted; returns how many were taken.
pub(crate) async fn sync_postgres(tx: &mut Tx) -> Result<usize, StoreError> {
    // `_if_assigned`: a transaction that wrote nothing has no id and nothing to index.
    let take = Sql::new(
        "DELETE FROM search_dirty WHERE xact = pg_current_xact_id_if_assigned() \
         RETURNING kind, id, in_index",
    );
    let dirty = tx.all_sql(take).await?;
    if dirty.is_empty() {
        return Ok(0);
    }
    let mut by_kind = group(
        dirty
            .iter()
            .map(|r| Ok((r.string("kind")?, r.i64("id")?, r.bool("in_index")?))),
    )?;
    for (kind, (_, index)) in by_kind.iter_mut() {
        index.sort_unstable();
        index.dedup();
        for chunk in index.chunks(IDS_PER_STATEMENT) {
            let (sql, _, table) = parts_sql(kind, chunk)?;
            let rows = tx.all_sql(sql).await?;
            let docs = documents(
                kind,
                rows.iter()
                    .map(|r| Ok::<_, StoreError>((r.i64("id")?, r.opt_string("part")?)))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter(),
            );
            if docs.is_empty() {
                continue;
            }
            // `table` is one of three fixed names, never user input.
            let mut update = Sql::new(&format!(
                "UPDATE {table} AS t SET search_vector = fd_search_vector(v.body) FROM (VALUES "
            ));
            for (i, (id, body)) in docs.into_iter().enumerate() {
                if i > 0 {
                    update.push(", ");
                }
                // PostgreSQL text cannot hold NUL.
                update
                    .push("(")
                    .bind(id)
                    .push("::BIGINT, ")
                    .bind(body.replace('\0', " "))
                    .push("::TEXT)");
            }
            update.push(") AS v (id, body) WHERE t.id = v.id");
            tx.exec_sql(update).await?;
        }
    }
    Ok(dirty.len())
}

/// Indexes the records a migration queued in `search_backfill` (0008 rebuilds the index),
/// `batch` per write transaction: each batch is noted in `search_dirty` and indexed by that
/// transaction's commit like any other change. Returns how many records were indexed.
pub(crate) async fn backfill(db: &crate::Db, batch: i64) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let mut tx = db.write().await?;
        let mut take = Sql::new(
            "DELETE FROM search_backfill WHERE (kind, id) IN \
             (SELECT kind, id FROM search_backfill LIMIT ",
        );
        take.bind(batch).push(") RETURNING kind, id");
        let rows = tx.all_sql(take).await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(total);
        }
        for chunk in rows.chunks(IDS_PER_STATEMENT) {
            let mut note = Sql::new("INSERT INTO search_dirty (kind, id, in_index) VALUES ");
            for (i, r) in chunk.iter().enumerate() {
                if i > 0 {
                    note.push(", ");
                }
                note.push("(")
                    .bind(r.string("kind")?)
                    .push(", ")
                    .bind(r.i64("id")?)
                    .push(", ")
                    .bind(false)
                    .push(")");
            }
            tx.exec_sql(note).await?;
        }
        total += rows.len();
        tx.commit().await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_fold_and_join_parts_and_carry_the_ticket_id() {
        let docs = documents(
            "ticket",
            vec![
                (7, Some("Problème".to_string())),
                (7, None),
                (7, Some("ZOË".to_string())),
                (8, Some("x".to_string())),
            ]
            .into_iter(),
        );
        assert_eq!(docs[&7], "7 probleme zoe");
        assert_eq!(docs[&8], "8 x");
        let docs = documents("contact", vec![(1, Some("Émile".to_string()))].into_iter());
        assert_eq!(docs[&1], "emile");
    }
}
