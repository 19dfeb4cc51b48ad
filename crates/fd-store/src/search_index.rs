//! Keeps SQLite's full-text tables (migration 0005) in step with the records they index.
//!
//! Triggers note each record whose searchable text changed in `search_dirty` (migration
//! 0006); [`sync`] re-indexes them at the end of the write transaction, and before a
//! statement of that transaction reads an index. FTS5 writes a new index segment whenever a
//! later statement of the transaction opens a savepoint, so indexing row by row inside the
//! transaction made one segment per record and then merged them; this makes one per
//! transaction. PostgreSQL's index is a generated column and needs none of this.

use std::collections::BTreeMap;

use crate::sqlite::SqliteTx;
use crate::{Sql, StoreError};

/// Per kind noted by the triggers: the index and the text it holds for a record (the same
/// string PostgreSQL's `search_vector` is built from).
const SOURCES: [(&str, &str, &str); 3] = [
    (
        "ticket",
        "tickets_fts",
        "SELECT id, COALESCE(subject, '') || ' ' || COALESCE(content, '') FROM tickets",
    ),
    (
        "contact",
        "contacts_fts",
        "SELECT id, COALESCE(firstname, '') || ' ' || COALESCE(lastname, '') || ' ' \
         || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company, '') \
         FROM contacts",
    ),
    (
        "company",
        "companies_fts",
        "SELECT id, COALESCE(name, '') || ' ' || COALESCE(domain, '') || ' ' \
         || COALESCE(phone, '') FROM companies",
    ),
];

/// Ids per statement, well under SQLite's 32,766 bound values.
const IDS_PER_STATEMENT: usize = 1000;

/// Before `sql` runs in a transaction (`writing`: a write transaction): a statement that reads
/// a full-text table first gets the transaction's pending changes indexed.
pub(crate) fn before_statement(tx: &SqliteTx, writing: bool, sql: &str) -> Result<(), StoreError> {
    if writing && sql.contains("_fts") {
        sync(tx)?;
    }
    Ok(())
}

/// Indexes the records changed so far in this write transaction.
pub(crate) fn sync(tx: &SqliteTx) -> Result<(), StoreError> {
    let dirty = tx.query(
        "DELETE FROM search_dirty RETURNING kind, id, in_index",
        &[],
        None,
    )?;
    if dirty.is_empty() {
        return Ok(());
    }
    // kind → (ids to drop from the index, ids to index)
    let mut by_kind: BTreeMap<String, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for row in &dirty {
        let entry = by_kind.entry(row.string("kind")?).or_default();
        let id = row.i64("id")?;
        if row.bool("in_index")? {
            entry.0.push(id);
        }
        entry.1.push(id);
    }
    for (kind, (drop, index)) in by_kind {
        let (_, fts, select) = SOURCES
            .iter()
            .find(|(k, _, _)| *k == kind)
            .ok_or_else(|| StoreError::Internal(format!("unknown search kind {kind:?}")))?;
        for chunk in drop.chunks(IDS_PER_STATEMENT) {
            let mut sql = Sql::new(&format!("DELETE FROM {fts} WHERE rowid IN ("));
            sql.bind_list(chunk.iter().copied()).push(")");
            tx.exec(sql.text(), sql.args())?;
        }
        // A deleted record is no longer in its table, so it is not indexed again.
        for chunk in index.chunks(IDS_PER_STATEMENT) {
            let mut sql = Sql::new(&format!(
                "INSERT INTO {fts} (rowid, body) {select} WHERE id IN ("
            ));
            sql.bind_list(chunk.iter().copied()).push(")");
            tx.exec(sql.text(), sql.args())?;
        }
    }
    Ok(())
}
