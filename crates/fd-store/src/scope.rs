//! HD-09 in SQL: the one translation of a viewer's ticket scope into a WHERE fragment.

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
