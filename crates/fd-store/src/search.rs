//! HubSpot-style CRM search and the API's paged reads: filter groups (OR of ANDs) over
//! standard columns, custom properties (`property_values`) and `associations.<type>`
//! pseudo-properties; free-text `query`; one sort; offset paging with a total. Everything is
//! built from fixed fragments and bound values ([`Sql`]), and tickets are always scoped by the
//! viewer (HD-09) through [`push_ticket_scope`]. Trashed and archived records never match.

use std::collections::BTreeMap;

use fd_domain::*;

use crate::crm::{COMPANY_COLUMNS, CONTACT_COLUMNS, company_from_row, contact_from_row};
use crate::records::CONVERSATION_COLUMNS;
use crate::records::conversation_from_row;
use crate::scope::push_conversation_scope;
use crate::scope::push_ticket_scope;
use crate::{Backend, Company, Contact, Conversation, Sql, StoreError, Tx};

/// HubSpot's filter operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOperator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

impl SearchOperator {
    pub fn parse(s: &str) -> Option<SearchOperator> {
        use SearchOperator::*;
        Some(match s {
            "EQ" => Eq,
            "NEQ" => Neq,
            "LT" => Lt,
            "LTE" => Lte,
            "GT" => Gt,
            "GTE" => Gte,
            "BETWEEN" => Between,
            "IN" => In,
            "NOT_IN" => NotIn,
            "HAS_PROPERTY" => HasProperty,
            "NOT_HAS_PROPERTY" => NotHasProperty,
            "CONTAINS_TOKEN" => ContainsToken,
            "NOT_CONTAINS_TOKEN" => NotContainsToken,
            _ => return None,
        })
    }
}

/// How a property's values compare (decided by the caller from the property definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text: case-insensitive.
    Text,
    /// One enumeration option: exact.
    Enum,
    /// Several `;`-separated options (checkbox): a value matches when it is one of them.
    MultiEnum,
    /// Numbers, dates and datetimes (stored as epoch milliseconds): numeric.
    Number,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchField {
    Property {
        name: String,
        kind: ValueKind,
    },
    /// `associations.<type>`: the ids of associated records of that type.
    Association(ObjectType),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchFilter {
    pub field: SearchField,
    pub op: SearchOperator,
    pub value: Option<String>,
    pub high_value: Option<String>,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchSort {
    pub name: String,
    pub kind: ValueKind,
    pub descending: bool,
}

/// One search: `groups` are ORed, the filters of a group ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Ticket, Contact or Company.
    pub object: ObjectType,
    pub groups: Vec<Vec<SearchFilter>>,
    pub text: Option<String>,
    pub sort: Option<SearchSort>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    pub total: i64,
    pub ids: Vec<i64>,
}

/// How the conversations API lists threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadSort {
    IdAsc,
    LatestAsc,
    LatestDesc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadQuery {
    pub workspaces: Vec<Workspace>,
    pub contact: Option<ContactId>,
    pub status: Option<ConversationStatus>,
    /// Trashed threads instead of live ones.
    pub archived: bool,
    pub latest_message_after: Option<Millis>,
    pub sort: ThreadSort,
    pub offset: i64,
    pub limit: i64,
}

struct Table {
    table: &'static str,
    /// The `object_type` of its rows in `property_values` and `property_definitions`.
    values_type: &'static str,
    live: &'static str,
    archived: &'static str,
    /// The searchable text fields (HubSpot's "default searchable properties" we store), as
    /// indexed by migration 0005 and scanned for terms the index cannot hold.
    text_columns: &'static [&'static str],
    /// The SQLite FTS5 table indexing `text_columns` (PostgreSQL: `t.search_vector`); empty
    /// for engagements, whose few text properties are matched as substrings instead.
    fts: &'static str,
}

fn table(object: ObjectType) -> Result<Table, StoreError> {
    Ok(match object {
        ObjectType::Ticket => Table {
            table: "tickets",
            values_type: "tickets",
            live: "t.trashed_at IS NULL",
            archived: "t.trashed_at IS NOT NULL AND t.id NOT IN (SELECT merged_id FROM ticket_merges)",
            text_columns: &["t.subject", "t.content"],
            fts: "tickets_fts",
        },
        ObjectType::Contact => Table {
            table: "contacts",
            values_type: "contacts",
            live: "t.archived_at IS NULL",
            archived: "t.archived_at IS NOT NULL",
            text_columns: &[
                "t.firstname",
                "t.lastname",
                "t.email",
                "t.phone",
                "t.company",
            ],
            fts: "contacts_fts",
        },
        ObjectType::Company => Table {
            table: "companies",
            values_type: "companies",
            live: "t.archived_at IS NULL",
            archived: "t.archived_at IS NOT NULL",
            text_columns: &["t.name", "t.domain", "t.phone"],
            fts: "companies_fts",
        },
        ObjectType::Call => Table {
            table: "engagements",
            values_type: "calls",
            live: "t.kind = 'call' AND t.archived_at IS NULL",
            archived: "t.kind = 'call' AND t.archived_at IS NOT NULL",
            text_columns: &[
                "(SELECT pv.value FROM property_values pv WHERE pv.object_type = 'calls' AND pv.object_id = t.id AND pv.name = 'hs_call_title')",
                "(SELECT pv.value FROM property_values pv WHERE pv.object_type = 'calls' AND pv.object_id = t.id AND pv.name = 'hs_call_body')",
                "(SELECT pv.value FROM property_values pv WHERE pv.object_type = 'calls' AND pv.object_id = t.id AND pv.name = 'hs_call_from_number')",
            ],
            fts: "",
        },
        ObjectType::Note => Table {
            table: "engagements",
            values_type: "notes",
            live: "t.kind = 'note' AND t.archived_at IS NULL",
            archived: "t.kind = 'note' AND t.archived_at IS NOT NULL",
            text_columns: &[
                "(SELECT pv.value FROM property_values pv WHERE pv.object_type = 'notes' AND pv.object_id = t.id AND pv.name = 'hs_note_body')",
            ],
            fts: "",
        },
        ObjectType::Email => Table {
            table: "engagements",
            values_type: "emails",
            live: "t.kind = 'email' AND t.archived_at IS NULL",
            archived: "t.kind = 'email' AND t.archived_at IS NOT NULL",
            text_columns: &[
                "(SELECT pv.value FROM property_values pv WHERE pv.object_type = 'emails' AND pv.object_id = t.id AND pv.name = 'hs_email_subject')",
                "(SELECT pv.value FROM property_values pv WHERE pv.object_type = 'emails' AND pv.object_id = t.id AND pv.name = 'hs_email_text')",
            ],
            fts: "",
        },
        other => {
            return Err(StoreError::Internal(format!(
                "{other} records cannot be searched"
            )));
        }
    })
}

/// A standard property's column: (expression, numeric?). `None`: a custom property.
fn column(object: ObjectType, name: &str) -> Option<(&'static str, bool)> {
    Some(match (object, name) {
        (_, "hs_object_id") => ("t.id", true),
        (_, "createdate") => ("t.created_at", true),
        (ObjectType::Contact, "lastmodifieddate") => ("t.updated_at", true),
        (ObjectType::Ticket | ObjectType::Company, "hs_lastmodifieddate") => ("t.updated_at", true),
        (ObjectType::Call | ObjectType::Note | ObjectType::Email, "hs_createdate") => {
            ("t.created_at", true)
        }
        (ObjectType::Call | ObjectType::Note | ObjectType::Email, "hs_lastmodifieddate") => {
            ("t.updated_at", true)
        }
        (ObjectType::Ticket, "subject") => ("t.subject", false),
        (ObjectType::Ticket, "content") => ("t.content", false),
        (ObjectType::Ticket, "hs_pipeline") => ("t.pipeline_id", true),
        (ObjectType::Ticket, "hs_pipeline_stage") => ("t.stage_id", true),
        (ObjectType::Ticket, "hs_ticket_priority") => ("t.priority", false),
        (ObjectType::Ticket, "hs_ticket_category") => ("t.category", false),
        (ObjectType::Ticket, "hubspot_owner_id") => ("t.owner_id", true),
        (ObjectType::Ticket, "hubspot_team_id") => ("t.team_id", true),
        (ObjectType::Ticket, "source_type") => ("t.source_type", false),
        (ObjectType::Ticket, "closed_date") => ("t.closed_at", true),
        (ObjectType::Ticket, "hs_last_activity_date") => ("t.last_activity_at", true),
        (ObjectType::Contact, "email") => ("t.email", false),
        (ObjectType::Contact, "firstname") => ("t.firstname", false),
        (ObjectType::Contact, "lastname") => ("t.lastname", false),
        (ObjectType::Contact, "phone") => ("t.phone", false),
        (ObjectType::Contact, "company") => ("t.company", false),
        (ObjectType::Company, "name") => ("t.name", false),
        (ObjectType::Company, "domain") => ("t.domain", false),
        (ObjectType::Company, "phone") => ("t.phone", false),
        _ => return None,
    })
}

/// Whether a column of [`column`] is declared NOT NULL in every table that has it
/// (migrations 0001 and 0013).
fn never_null(column: &str) -> bool {
    matches!(
        column,
        "t.id"
            | "t.created_at"
            | "t.updated_at"
            | "t.pipeline_id"
            | "t.stage_id"
            | "t.last_activity_at"
    )
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `CONTAINS_TOKEN`'s pattern: the token anywhere in the value, `*` matching any run.
fn token_pattern(token: &str) -> String {
    let parts: Vec<String> = token.to_lowercase().split('*').map(escape_like).collect();
    format!("%{}%", parts.join("%"))
}

fn is_number(v: &str) -> bool {
    v.trim().parse::<f64>().is_ok_and(f64::is_finite)
}

/// An operand of a comparison: the property's expression in SQL (a column or a subquery on
/// `property_values`), appended to the statement each time it is used.
struct Operand<'a> {
    column: Option<&'static str>,
    custom: Option<&'a str>,
    values_type: &'static str,
    numeric: bool,
    kind: ValueKind,
}

impl Operand<'_> {
    fn push(&self, sql: &mut Sql) {
        if let Some(c) = self.column {
            sql.push(c);
            return;
        }
        if self.numeric {
            sql.push("CAST(");
        }
        sql.push("(SELECT pv.value FROM property_values pv WHERE pv.object_type = '");
        // values_type is one of three fixed table names, never user input.
        sql.push(self.values_type);
        sql.push("' AND pv.object_id = t.id AND pv.name = ")
            .bind(self.custom.unwrap_or_default())
            .push(")");
        if self.numeric {
            sql.push(" AS NUMERIC)");
        }
    }

    /// The value side: a bound number for numeric operands (`false` when it is no number),
    /// otherwise bound text, lower-cased for case-insensitive kinds.
    fn push_value(&self, sql: &mut Sql, v: &str) -> bool {
        if self.numeric {
            let v = v.trim();
            if let Ok(i) = v.parse::<i64>() {
                sql.bind(i);
            } else if v.parse::<f64>().is_ok_and(f64::is_finite) {
                sql.push("CAST(").bind(v).push(" AS NUMERIC)");
            } else {
                return false;
            }
        } else if self.kind == ValueKind::Text {
            sql.bind(v.to_lowercase());
        } else {
            sql.bind(v);
        }
        true
    }

    /// The operand as compared: lower-cased for case-insensitive text.
    fn push_compared(&self, sql: &mut Sql) {
        if !self.numeric && self.kind == ValueKind::Text {
            sql.push("LOWER(");
            self.push(sql);
            sql.push(")");
        } else {
            self.push(sql);
        }
    }

    fn push_as_text(&self, sql: &mut Sql) {
        sql.push("LOWER(COALESCE(CAST(");
        self.push(sql);
        sql.push(" AS TEXT), ''))");
    }
}

fn push_comparison(sql: &mut Sql, o: &Operand<'_>, cmp: &str, v: &str) {
    // MultiEnum equality means "is one of the options".
    if o.kind == ValueKind::MultiEnum && !o.numeric && cmp == " = " {
        sql.push("(';' || ");
        o.push(sql);
        sql.push(" || ';') LIKE ")
            .bind(format!("%;{};%", escape_like(v)))
            .push(" ESCAPE '\\'");
        return;
    }
    if o.numeric && !is_number(v) {
        // Not a number: a numeric property can never equal or order against it.
        sql.push("1 = 0");
        return;
    }
    o.push_compared(sql);
    sql.push(cmp);
    o.push_value(sql, v);
}

fn push_filter(
    sql: &mut Sql,
    scope: &ViewerScope,
    object: ObjectType,
    values_type: &'static str,
    f: &SearchFilter,
) -> Result<(), StoreError> {
    use SearchOperator::*;
    let (name, kind) = match &f.field {
        SearchField::Association(other) => {
            let subquery = |sql: &mut Sql| {
                sql.push("(SELECT a.from_id FROM associations a WHERE a.from_type = ")
                    .bind(object.as_str())
                    .push(" AND a.to_type = ")
                    .bind(other.as_str());
                // HD-09: a contact or company found through its tickets must not reveal
                // tickets the viewer cannot read, so only live tickets in the viewer's scope
                // count as associated (as in the association reads); "has no ticket" then
                // means "has none the viewer may see".
                if *other == ObjectType::Ticket {
                    sql.push(
                        " AND a.to_id IN (SELECT tk.id FROM tickets tk WHERE tk.trashed_at IS NULL",
                    );
                    push_ticket_scope(sql, scope, "tk");
                    sql.push(")");
                }
            };
            let ids: Vec<i64> = f
                .value
                .iter()
                .chain(f.values.iter())
                .filter_map(|v| v.trim().parse::<i64>().ok())
                .collect();
            match f.op {
                Eq | In => {
                    sql.push("t.id IN ");
                    subquery(sql);
                    sql.push(" AND a.to_id IN (").bind_list(ids).push("))");
                }
                Neq | NotIn => {
                    sql.push("t.id NOT IN ");
                    subquery(sql);
                    sql.push(" AND a.to_id IN (").bind_list(ids).push("))");
                }
                HasProperty => {
                    sql.push("t.id IN ");
                    subquery(sql);
                    sql.push(")");
                }
                NotHasProperty => {
                    sql.push("t.id NOT IN ");
                    subquery(sql);
                    sql.push(")");
                }
                other => {
                    return Err(StoreError::Internal(format!(
                        "operator {other:?} does not apply to associations"
                    )));
                }
            }
            return Ok(());
        }
        SearchField::Property { name, kind } => (name.as_str(), *kind),
    };
    let (col, numeric) = match column(object, name) {
        Some((c, n)) => (Some(c), n),
        None => (None, kind == ValueKind::Number),
    };
    let o = Operand {
        column: col,
        custom: if col.is_none() { Some(name) } else { None },
        values_type,
        numeric,
        kind,
    };
    push_operation(sql, &o, f);
    Ok(())
}

/// The operator of `f` applied to the operand `o`: the same SQL whether `o` is a ticket's
/// column or the tally's stand-in for it ([`tally_column`]).
fn push_operation(sql: &mut Sql, o: &Operand<'_>, f: &SearchFilter) {
    use SearchOperator::*;
    let value = f.value.as_deref().unwrap_or_default();
    match f.op {
        Eq => push_comparison(sql, o, " = ", value),
        Neq => {
            sql.push("(");
            o.push(sql);
            sql.push(" IS NULL OR NOT (");
            push_comparison(sql, o, " = ", value);
            sql.push("))");
        }
        Lt => push_comparison(sql, o, " < ", value),
        Lte => push_comparison(sql, o, " <= ", value),
        Gt => push_comparison(sql, o, " > ", value),
        Gte => push_comparison(sql, o, " >= ", value),
        Between => {
            let high = f.high_value.as_deref().unwrap_or_default();
            sql.push("(");
            push_comparison(sql, o, " >= ", value);
            sql.push(" AND ");
            push_comparison(sql, o, " <= ", high);
            sql.push(")");
        }
        In | NotIn => {
            if f.op == NotIn {
                sql.push("(");
                o.push(sql);
                sql.push(" IS NULL OR NOT ");
            }
            sql.push("(1 = 0");
            for v in &f.values {
                sql.push(" OR ");
                push_comparison(sql, o, " = ", v);
            }
            sql.push(")");
            if f.op == NotIn {
                sql.push(")");
            }
        }
        HasProperty => {
            o.push(sql);
            sql.push(" IS NOT NULL");
        }
        NotHasProperty => {
            o.push(sql);
            sql.push(" IS NULL");
        }
        ContainsToken | NotContainsToken => {
            if f.op == NotContainsToken {
                sql.push("NOT ");
            }
            o.push_as_text(sql);
            sql.push(" LIKE ")
                .bind(token_pattern(value))
                .push(" ESCAPE '\\'");
        }
    }
}

/// One filter on tickets (`t`), as the search applies it: the help desk list's view filters
/// (shared views) go through the same SQL as the API's search.
pub(crate) fn push_ticket_filter(
    sql: &mut Sql,
    scope: &ViewerScope,
    f: &SearchFilter,
) -> Result<(), StoreError> {
    push_filter(sql, scope, ObjectType::Ticket, "tickets", f)
}

fn push_where(
    sql: &mut Sql,
    backend: Backend,
    scope: &ViewerScope,
    q: &SearchQuery,
) -> Result<(), StoreError> {
    let t = table(q.object)?;
    sql.push(" WHERE ").push(t.live);
    if q.object == ObjectType::Ticket {
        push_ticket_scope(sql, scope, "t");
    }
    push_groups(sql, &q.groups, |sql, f| {
        push_filter(sql, scope, q.object, t.values_type, f)
    })?;
    if let Some(text) = q.text.as_deref() {
        push_text_terms(sql, backend, &t, text, MatchUse::Drive);
    }
    Ok(())
}

/// A ticket property's stand-in on `ticket_tallies` (migration 0011): (expression on the
/// tally row `t`, numeric?). The tallies keep an absent owner or team as 0 and an absent
/// priority as '' (their key must be unique); `NULLIF` turns those back into NULL, so every
/// operator reads a tally row exactly as it reads each of the row's tickets. `None`: not a
/// dimension of the tallies.
fn tally_column(name: &str) -> Option<(&'static str, bool)> {
    Some(match name {
        "hs_pipeline" => ("t.pipeline_id", true),
        "hs_pipeline_stage" => ("t.stage_id", true),
        "hs_ticket_priority" => ("NULLIF(t.priority, '')", false),
        "hubspot_owner_id" => ("NULLIF(t.owner_id, 0)", true),
        "hubspot_team_id" => ("NULLIF(t.team_id, 0)", true),
        _ => return None,
    })
}

/// Whether the total of `q` can be summed from `ticket_tallies`: tickets, no free text, and
/// every filter of every group compares a tally dimension (token matching stays on the
/// tickets, which are scanned for the page anyway).
fn tallied(q: &SearchQuery) -> bool {
    q.object == ObjectType::Ticket
        && q.text.is_none()
        && q.groups.iter().flatten().all(|f| {
            matches!(&f.field, SearchField::Property { name, .. } if tally_column(name).is_some())
                && !matches!(
                    f.op,
                    SearchOperator::ContainsToken | SearchOperator::NotContainsToken
                )
        })
}

/// The total of a [`tallied`] search: the sum of the live tally rows in the viewer's scope
/// whose dimensions pass the same filters, a few rows per combination of owner, team,
/// pipeline, stage and priority however many tickets there are.
fn tally_total_sql(scope: &ViewerScope, q: &SearchQuery) -> Result<Sql, StoreError> {
    // The sum is NUMERIC on PostgreSQL: cast back to the count's type.
    let mut sql = Sql::new(
        "SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) AS n FROM ticket_tallies t WHERE t.trashed = FALSE",
    );
    // Absent owners and teams are 0 here, which no scope names: the scope reads the same.
    push_ticket_scope(&mut sql, scope, "t");
    push_groups(&mut sql, &q.groups, |sql, f| {
        let SearchField::Property { name, kind } = &f.field else {
            return Err(StoreError::Internal("associations are not tallied".into()));
        };
        let Some((col, numeric)) = tally_column(name) else {
            return Err(StoreError::Internal(format!("{name} is not tallied")));
        };
        let o = Operand {
            column: Some(col),
            custom: None,
            values_type: "tickets",
            numeric,
            kind: *kind,
        };
        push_operation(sql, &o, f);
        Ok(())
    })?;
    Ok(sql)
}

/// ` AND ((f AND f…) OR (…))` for HubSpot's filter groups (OR of ANDs), each filter written
/// by `each`; nothing when there are no groups. The search's page and count and the tallied
/// total share it, so both read the groups the same way.
fn push_groups(
    sql: &mut Sql,
    groups: &[Vec<SearchFilter>],
    mut each: impl FnMut(&mut Sql, &SearchFilter) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    if groups.is_empty() {
        return Ok(());
    }
    sql.push(" AND (");
    for (i, group) in groups.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(1 = 1");
        for f in group {
            sql.push(" AND ");
            each(sql, f)?;
        }
        sql.push(")");
    }
    sql.push(")");
    Ok(())
}

/// One whitespace-separated term of a free-text query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TextTerm {
    /// The term's words: its runs of letters and digits, folded. Everything else
    /// separates words, in the index (SQLite's unicode61 tokenizer; PostgreSQL's
    /// `fd_search_vector`) as here, so no user input reaches the query syntax of either.
    words: Vec<String>,
    /// The term read as a record id (a number also finds the record with that id).
    id: Option<i64>,
    /// The term as typed, for terms without words (only punctuation or symbols).
    raw: String,
    /// Whether its last word also matches longer words that start with it: only the query's
    /// last term, which may be unfinished. Whole words before it match as they are, as in
    /// search engines built for typing (Meilisearch: "prefix search is only performed on
    /// the last word in a search query"): a common word read as a prefix made the index
    /// merge the entries of every word that starts with it, 40 ms at a million tickets.
    prefix: bool,
}

/// Terms beyond this many are ignored: each one is a clause of the statement.
const MAX_TEXT_TERMS: usize = 20;
/// Longer words are cut to this many characters (and still match as prefixes):
/// PostgreSQL refuses over-long words in a `tsquery`.
const MAX_WORD_CHARS: usize = 100;

fn text_terms(text: &str) -> Vec<TextTerm> {
    let mut terms: Vec<TextTerm> = text
        .split_whitespace()
        .take(MAX_TEXT_TERMS)
        .map(|term| TextTerm {
            // Folded as the index is (`fd_domain::search::fold`): `probleme` finds `problème`.
            words: fd_domain::search::words(&fd_domain::search::fold(term))
                .map(|w| w.chars().take(MAX_WORD_CHARS).collect::<String>())
                .collect(),
            id: term.parse::<i64>().ok(),
            // PostgreSQL text cannot hold NUL.
            raw: term.replace('\0', "").to_lowercase(),
            prefix: false,
        })
        .filter(|term| !term.raw.is_empty())
        .collect();
    if let Some(last) = terms.iter_mut().rev().find(|t| !t.words.is_empty()) {
        last.prefix = true;
    }
    // A word cut to the longest a word may be can only match as a prefix.
    for term in &mut terms {
        if term
            .words
            .last()
            .is_some_and(|w| w.chars().count() >= MAX_WORD_CHARS)
        {
            term.prefix = true;
        }
    }
    terms
}

/// A full-text query in the backend's syntax that matches when every term's words appear,
/// adjacent and in order, the last word of the query's last term also as a prefix (SQLite
/// FTS5: `"ann example com"*`; PostgreSQL: `'ann' <-> 'example' <-> 'com':*`). Words hold
/// only letters and digits, so quoting them is enough to keep operators (`AND`, `-`, `*`,
/// `(`, `"`…) literal.
fn fts_query(backend: Backend, terms: &[&TextTerm]) -> String {
    let phrases: Vec<String> = terms
        .iter()
        .map(|term| {
            let star = if term.prefix { "*" } else { "" };
            match backend {
                Backend::Sqlite => format!("\"{}\"{star}", term.words.join(" ")),
                Backend::Postgres => {
                    let quoted: Vec<String> = term.words.iter().map(|w| format!("'{w}'")).collect();
                    let star = if term.prefix { ":*" } else { "" };
                    format!("{}{star}", quoted.join(" <-> "))
                }
            }
        })
        .collect();
    match backend {
        Backend::Sqlite => phrases.join(" AND "),
        Backend::Postgres => phrases.join(" & "),
    }
}

/// How a statement should use the full-text matches (SQLite; PostgreSQL's planner chooses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MatchUse {
    /// Look each match up by id and order them: best when there are few.
    Drive,
    /// Walk the statement's ordering index and keep the rows that are among the matches
    /// (`+t.id` keeps SQLite from driving by id): best when there are many, as a page is
    /// found after a few index entries instead of sorting every match.
    Filter,
}

/// `t` matches the full-text query of `terms`; `only_id` narrows to one record, so SQLite
/// looks that row up instead of collecting every match.
fn push_fts_match(
    sql: &mut Sql,
    backend: Backend,
    t: &Table,
    terms: &[&TextTerm],
    only_id: Option<i64>,
    how: MatchUse,
) {
    let query = fts_query(backend, terms);
    match backend {
        Backend::Sqlite => {
            // `fts` is one of three fixed table names, never user input.
            sql.push(match how {
                MatchUse::Drive => "t.id IN (SELECT rowid FROM ",
                MatchUse::Filter => "+t.id IN (SELECT rowid FROM ",
            })
            .push(t.fts)
            .push(" WHERE ")
            .push(t.fts)
            .push(" MATCH ")
            .bind(query);
            if let Some(id) = only_id {
                sql.push(" AND rowid = ").bind(id);
            }
            sql.push(")");
        }
        Backend::Postgres => {
            sql.push("t.search_vector @@ to_tsquery('simple', ")
                .bind(query)
                .push(")");
        }
    }
}

/// Free text: HubSpot's `query` matches whole words and word prefixes in the default
/// searchable properties ("Search default searchable properties" in HubSpot's CRM search
/// guide; HUBSPOT-API.md, search), not arbitrary substrings, so a word index with prefix
/// queries (FTS5 on SQLite, `tsvector` with GIN on PostgreSQL, migration 0005) gives its
/// results without scanning every row; pg_trgm's substring matching is not needed. Every
/// term must match, in any of the fields; a number also matches the record's id. A term
/// without letters or digits (`%`, `\\`) has nothing in the index and is found as a
/// literal substring instead.
pub(crate) fn push_text_search(
    sql: &mut Sql,
    backend: Backend,
    object: ObjectType,
    text: &str,
    how: MatchUse,
) {
    match table(object) {
        Ok(t) => push_text_terms(sql, backend, &t, text, how),
        // Not a searchable object: nothing can match.
        Err(_) => {
            sql.push(" AND 1 = 0");
        }
    }
}

/// SQLite: how many tickets the indexed words of `text` match, counted up to `cap` (the index
/// stops after `cap` matches, so this costs little however common the words are); `None`
/// when the text has no indexed word.
pub(crate) fn ticket_matches_capped(text: &str, cap: i64) -> Option<Sql> {
    let terms = text_terms(text);
    let indexed: Vec<&TextTerm> = terms.iter().filter(|x| !x.words.is_empty()).collect();
    if indexed.is_empty() {
        return None;
    }
    let mut sql = Sql::new(
        "SELECT COUNT(*) AS n FROM (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ",
    );
    sql.bind(fts_query(Backend::Sqlite, &indexed))
        .push(" LIMIT ")
        .bind(cap)
        .push(")");
    Some(sql)
}

fn push_text_terms(sql: &mut Sql, backend: Backend, t: &Table, text: &str, how: MatchUse) {
    let mut terms = text_terms(text);
    if t.fts.is_empty() {
        // No word index: every term is a literal substring of one of the text fields.
        for term in &mut terms {
            term.words.clear();
        }
    }
    let indexed: Vec<&TextTerm> = terms.iter().filter(|x| !x.words.is_empty()).collect();
    if !indexed.is_empty() {
        sql.push(" AND (");
        push_fts_match(sql, backend, t, &indexed, None, how);
        // The id can stand for the terms equal to it; the others must still be in the text.
        let mut ids: Vec<i64> = indexed.iter().filter_map(|x| x.id).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let rest: Vec<&TextTerm> = indexed
                .iter()
                .copied()
                .filter(|x| x.id != Some(id))
                .collect();
            sql.push(" OR (t.id = ").bind(id);
            if !rest.is_empty() {
                sql.push(" AND ");
                push_fts_match(sql, backend, t, &rest, Some(id), MatchUse::Drive);
            }
            sql.push(")");
        }
        sql.push(")");
    }
    for term in terms.iter().filter(|x| x.words.is_empty()) {
        let pattern = format!("%{}%", escape_like(&term.raw));
        sql.push(" AND (1 = 0");
        for c in t.text_columns {
            sql.push(" OR LOWER(COALESCE(")
                .push(c)
                .push(", '')) LIKE ")
                .bind(pattern.clone())
                .push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

impl Tx {
    /// One page of a search: the total of matches and the page's ids in order.
    pub async fn search(
        &mut self,
        scope: &ViewerScope,
        q: &SearchQuery,
    ) -> Result<SearchPage, StoreError> {
        let t = table(q.object)?;
        let backend = self.backend();
        // Token filters mean LIKE over every row, and free text collects every match from
        // the full-text index: one pass that also counts (a window aggregate) beats a count
        // plus a page. Otherwise the count and the page are separate, so the page can stop
        // early on an index.
        let one_scan = q.text.is_some()
            || q.groups.iter().flatten().any(|f| {
                matches!(
                    f.op,
                    SearchOperator::ContainsToken | SearchOperator::NotContainsToken
                )
            });
        let mut total = self.search_total_tallied(scope, q).await?;
        if total.is_none() && !one_scan {
            total = Some(self.count_search_counted(scope, q).await?);
        }
        let mut page = Sql::new(if one_scan {
            "SELECT t.id, COUNT(*) OVER () AS total FROM "
        } else {
            "SELECT t.id FROM "
        });
        page.push(t.table).push(" t");
        push_where(&mut page, backend, scope, q)?;
        match &q.sort {
            Some(s) => {
                let (col, numeric) = match column(q.object, &s.name) {
                    Some((c, n)) => (Some(c), n),
                    None => (None, s.kind == ValueKind::Number),
                };
                let o = Operand {
                    column: col,
                    custom: if col.is_none() { Some(&s.name) } else { None },
                    values_type: t.values_type,
                    numeric,
                    kind: s.kind,
                };
                let dir = if s.descending { " DESC" } else { " ASC" };
                // Records without a value come last in either direction, on both backends.
                // A column that is never NULL needs no such key, and without it the order is
                // an index's order: SQLite and PostgreSQL walk it and stop after the page
                // instead of sorting every match.
                page.push(" ORDER BY ");
                if !col.is_some_and(never_null) {
                    page.push("(");
                    o.push(&mut page);
                    page.push(" IS NULL), ");
                }
                o.push_compared(&mut page);
                page.push(dir).push(", t.id").push(dir);
            }
            None => {
                page.push(" ORDER BY t.id ASC");
            }
        }
        page.push(" LIMIT ")
            .bind(q.limit.clamp(0, 10_000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = self.all_sql(page).await?;
        let ids = rows
            .iter()
            .map(|r| r.i64("id"))
            .collect::<Result<Vec<_>, _>>()?;
        let total = match (total, rows.first()) {
            (Some(n), _) => n,
            (None, Some(r)) => r.i64("total")?,
            // An empty page says nothing about the total (the offset may be past the end).
            (None, None) => self.count_search_counted(scope, q).await?,
        };
        Ok(SearchPage { total, ids })
    }

    /// The total of a search summed from `ticket_tallies` when every filter is on one of its
    /// dimensions (`None` otherwise): a COUNT(*) walked every matching ticket, 150–350 ms for
    /// a common stage at a million tickets.
    pub async fn search_total_tallied(
        &mut self,
        scope: &ViewerScope,
        q: &SearchQuery,
    ) -> Result<Option<i64>, StoreError> {
        if !tallied(q) {
            return Ok(None);
        }
        Ok(Some(self.count_sql(tally_total_sql(scope, q)?).await?))
    }

    /// The total of a search by counting the matching records (what the tallies' sum must
    /// always agree with).
    pub async fn count_search_counted(
        &mut self,
        scope: &ViewerScope,
        q: &SearchQuery,
    ) -> Result<i64, StoreError> {
        let t = table(q.object)?;
        let mut count = Sql::new("SELECT COUNT(*) AS n FROM ");
        count.push(t.table).push(" t");
        push_where(&mut count, self.backend(), scope, q)?;
        self.count_sql(count).await
    }

    /// The searchable text of tickets in parts, by ticket, in the order a search result names
    /// where it matched (subject, description, contact, company, messages, comments). The
    /// caller passes ids it already found through a scoped search (HD-09).
    pub async fn ticket_search_parts(
        &mut self,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, Vec<(fd_domain::search::MatchSource, String)>>, StoreError> {
        use fd_domain::search::MatchSource;
        let mut out: BTreeMap<i64, Vec<(MatchSource, String)>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let sql = crate::search_index::ticket_parts_sql(ids);
        for r in self.all_sql(sql).await? {
            let Some(part) = r.opt_string("part")? else {
                continue;
            };
            let who = r.opt_string("who")?.unwrap_or_default();
            let source = match r.string("src")?.as_str() {
                "subject" => MatchSource::Subject,
                "description" => MatchSource::Description,
                "contact_name" => MatchSource::ContactName,
                "contact_email" => MatchSource::ContactEmail,
                "company_name" => MatchSource::CompanyName,
                "message" => MatchSource::Message { from: who },
                _ => MatchSource::Comment { author: who },
            };
            out.entry(r.i64("id")?).or_default().push((source, part));
        }
        Ok(out)
    }

    /// A page of record ids in id order after `after` (the list endpoints' cursor): live
    /// records, or archived (trashed) ones only.
    pub async fn object_ids_after(
        &mut self,
        scope: &ViewerScope,
        object: ObjectType,
        after: i64,
        limit: i64,
        archived: bool,
    ) -> Result<Vec<i64>, StoreError> {
        let t = table(object)?;
        let mut sql = Sql::new("SELECT t.id FROM ");
        sql.push(t.table)
            .push(" t WHERE ")
            .push(if archived { t.archived } else { t.live })
            .push(" AND t.id > ")
            .bind(after);
        if object == ObjectType::Ticket {
            push_ticket_scope(&mut sql, scope, "t");
        }
        sql.push(" ORDER BY t.id LIMIT ").bind(limit.clamp(0, 1000));
        self.all_sql(sql)
            .await?
            .iter()
            .map(|r| r.i64("id"))
            .collect()
    }

    /// Custom property values of several records: id → name → value.
    pub async fn property_values_of(
        &mut self,
        object_type: &str,
        ids: &[i64],
    ) -> Result<BTreeMap<i64, BTreeMap<String, String>>, StoreError> {
        let mut out: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut sql =
            Sql::new("SELECT object_id, name, value FROM property_values WHERE object_type = ");
        sql.bind(object_type)
            .push(" AND object_id IN (")
            .bind_list(ids.iter().copied())
            .push(")");
        for r in self.all_sql(sql).await? {
            out.entry(r.i64("object_id")?)
                .or_default()
                .insert(r.string("name")?, r.string("value")?);
        }
        Ok(out)
    }

    /// Contacts by id (archived ones included; callers check `archived_at`), in id order.
    pub async fn contacts_by_ids(&mut self, ids: &[i64]) -> Result<Vec<Contact>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts WHERE id IN ("
        ));
        sql.bind_list(ids.iter().copied()).push(") ORDER BY id");
        self.all_sql(sql)
            .await?
            .iter()
            .map(contact_from_row)
            .collect()
    }

    pub async fn companies_by_ids(&mut self, ids: &[i64]) -> Result<Vec<Company>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {COMPANY_COLUMNS} FROM companies WHERE id IN ("
        ));
        sql.bind_list(ids.iter().copied()).push(") ORDER BY id");
        self.all_sql(sql)
            .await?
            .iter()
            .map(company_from_row)
            .collect()
    }

    /// The conversations API's thread list, scoped like every conversation read (HD-09).
    pub async fn list_threads(
        &mut self,
        scope: &ViewerScope,
        q: &ThreadQuery,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE "
        ));
        sql.push(if q.archived {
            "c.trashed_at IS NOT NULL"
        } else {
            "c.trashed_at IS NULL"
        });
        if !q.workspaces.is_empty() {
            sql.push(" AND c.workspace IN (")
                .bind_list(q.workspaces.iter().map(|w| w.as_str()))
                .push(")");
        }
        if let Some(contact) = q.contact {
            sql.push(" AND c.contact_id = ").bind(contact);
        }
        if let Some(s) = q.status {
            sql.push(" AND c.status = ").bind(s.as_str());
        }
        if let Some(after) = q.latest_message_after {
            sql.push(" AND c.last_message_at > ").bind(after);
        }
        push_conversation_scope(&mut sql, scope);
        sql.push(match q.sort {
            ThreadSort::IdAsc => " ORDER BY c.id ASC",
            ThreadSort::LatestAsc => " ORDER BY c.last_message_at ASC, c.id ASC",
            ThreadSort::LatestDesc => " ORDER BY c.last_message_at DESC, c.id DESC",
        });
        sql.push(" LIMIT ")
            .bind(q.limit.clamp(0, 1000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        self.all_sql(sql)
            .await?
            .iter()
            .map(conversation_from_row)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_patterns_escape_like_and_expand_wildcards() {
        assert_eq!(token_pattern("print*"), "%print%%");
        assert_eq!(token_pattern("*@hubspot.com"), "%%@hubspot.com%");
        assert_eq!(token_pattern("50%_off"), "%50\\%\\_off%");
    }

    #[test]
    fn free_text_queries_hold_only_quoted_words() {
        let terms = text_terms("\"Foo AND ( ann@x.com -5 * \0");
        let words: Vec<&[String]> = terms.iter().map(|t| t.words.as_slice()).collect();
        assert_eq!(
            words,
            [
                &["foo".to_string()][..],
                &["and".to_string()],
                &[],
                &["ann".into(), "x".into(), "com".into()],
                &["5".to_string()],
                &[],
            ]
        );
        assert_eq!(terms[4].id, Some(-5));
        let indexed: Vec<&TextTerm> = terms.iter().filter(|t| !t.words.is_empty()).collect();
        assert_eq!(
            fts_query(Backend::Sqlite, &indexed),
            "\"foo\" AND \"and\" AND \"ann x com\" AND \"5\"*"
        );
        assert_eq!(
            fts_query(Backend::Postgres, &indexed),
            "'foo' & 'and' & 'ann' <-> 'x' <-> 'com' & '5':*"
        );
    }
}
