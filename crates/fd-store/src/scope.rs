//! HD-09 in SQL: the one translation of a viewer's ticket scope into a WHERE fragment, for
//! tickets, for conversations (through their ticket) and for a conversation's children
//! (messages, comments, mail metadata). Every read on behalf of a viewer goes through these.

use fd_domain::ViewerScope;

use crate::Sql;

/// Appends ` AND (…)` restricting the tickets aliased `alias` to what `scope` allows.
/// Mirrors [`ViewerScope::allows`] exactly; the property tests hold them together.
pub fn push_ticket_scope(sql: &mut Sql, scope: &ViewerScope, alias: &str) {
    match scope {
        ViewerScope::All => {}
        ViewerScope::Nothing => {
            sql.push(" AND 1 = 0");
        }
        ViewerScope::Owned { user } => {
            sql.push(&format!(" AND {alias}.owner_id = ")).bind(*user);
        }
        ViewerScope::Teams { user, teams } => {
            sql.push(&format!(" AND ({alias}.owner_id = ")).bind(*user);
            if !teams.is_empty() {
                sql.push(&format!(" OR {alias}.team_id IN ("))
                    .bind_list(teams.iter().copied())
                    .push(")");
                sql.push(&format!(
                    " OR {alias}.owner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id IN ("
                ))
                .bind_list(teams.iter().copied())
                .push("))");
            }
            sql.push(")");
        }
    }
}

/// Restricts conversations aliased `c`: one without a ticket is visible to every agent of the
/// inbox; one with a ticket is visible when its ticket is (HD-09).
pub(crate) fn push_conversation_scope(sql: &mut Sql, scope: &ViewerScope) {
    if matches!(scope, ViewerScope::All) {
        return;
    }
    // EXISTS with the ticket's primary key: a scoped `IN (SELECT …)` made SQLite list every
    // ticket the viewer may see (a scan of the whole table) for each conversation read.
    sql.push(
        " AND (c.ticket_id IS NULL OR EXISTS (SELECT 1 FROM tickets t WHERE t.id = c.ticket_id",
    );
    push_ticket_scope(sql, scope, "t");
    sql.push("))");
}

/// Restricts rows that belong to a conversation — messages, comments, mail metadata — whose
/// conversation id is the column `conversation_column`, to the conversations `scope` sees.
pub(crate) fn push_conversation_child_scope(
    sql: &mut Sql,
    scope: &ViewerScope,
    conversation_column: &str,
) {
    if matches!(scope, ViewerScope::All) {
        return;
    }
    sql.push(&format!(
        " AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = {conversation_column}"
    ));
    push_conversation_scope(sql, scope);
    sql.push(")");
}
