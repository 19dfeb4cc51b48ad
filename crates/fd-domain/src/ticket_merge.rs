//! Ticket merge (issue 15, HUBSPOT-API-2.md §2): which ticket survives, what its values
//! become and when a merge is refused. Pure: the use case in fd-app loads both tickets,
//! asks these functions and saves what they return. Must not depend on I/O or a clock.
//!
//! Frontdesk keeps the primary's id for the survivor (as its contact and company merges do)
//! rather than minting a third ticket: every link, bookmark and mail thread of the primary
//! stays valid, and unmerge can give both tickets back under the ids they had.

use std::collections::BTreeSet;

use crate::TicketId;
use crate::entities::Ticket;

/// The property listing the ids a ticket has absorbed, `;`-separated (HubSpot's spelling).
pub const MERGED_IDS_PROPERTY: &str = "hs_merged_object_ids";

/// Why a merge is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeRefusal {
    /// A ticket cannot be merged into itself.
    SameTicket,
    /// The ticket is in the trash: a merge sees only live tickets (answered as "not found").
    Trashed(TicketId),
}

/// Refuses a merge of a ticket into itself, or involving a trashed ticket.
pub fn check_ticket_merge(primary: &Ticket, merged: &Ticket) -> Result<(), MergeRefusal> {
    if primary.id == merged.id {
        return Err(MergeRefusal::SameTicket);
    }
    for t in [primary, merged] {
        if t.trashed_at.is_some() {
            return Err(MergeRefusal::Trashed(t.id));
        }
    }
    Ok(())
}

/// The ids in a `hs_merged_object_ids` value (unparsable pieces are dropped).
pub fn merged_ids(value: Option<&str>) -> BTreeSet<i64> {
    value
        .unwrap_or("")
        .split(';')
        .filter_map(|p| crate::text::parse_id(p.trim()))
        .collect()
}

/// The survivor of merging `merged` into `primary`: the primary's id and property values,
/// the older create date of the two, the later last activity, and `hs_merged_object_ids`
/// the union of both lists plus the merged ticket's id (ascending). `now` is the update time.
pub fn merge_survivor(primary: &Ticket, merged: &Ticket, now: i64) -> Ticket {
    let mut s = primary.clone();
    s.created_at = primary.created_at.min(merged.created_at);
    s.last_activity_at = primary.last_activity_at.max(merged.last_activity_at);
    s.updated_at = now;
    let mut ids = merged_ids(primary.custom.get(MERGED_IDS_PROPERTY).map(String::as_str));
    ids.extend(merged_ids(
        merged.custom.get(MERGED_IDS_PROPERTY).map(String::as_str),
    ));
    ids.insert(merged.id.0);
    ids.remove(&primary.id.0);
    let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(";");
    s.custom.insert(MERGED_IDS_PROPERTY.to_string(), joined);
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::{PipelineId, StageId, Workspace};
    use std::collections::BTreeMap;

    fn ticket(id: i64, created: i64) -> Ticket {
        Ticket {
            id: TicketId(id),
            subject: format!("ticket {id}"),
            content: None,
            pipeline_id: PipelineId(0),
            stage_id: StageId(1),
            priority: Some(if id % 2 == 0 { "HIGH" } else { "LOW" }.into()),
            category: None,
            owner_id: None,
            team_id: None,
            source_type: None,
            workspace: Workspace::HelpDesk,
            is_open: true,
            created_by: None,
            created_at: created,
            updated_at: created,
            closed_at: None,
            last_activity_at: created,
            version: 1,
            trashed_at: None,
            custom: BTreeMap::new(),
        }
    }

    #[test]
    fn merge_properties_follow_the_primary_create_date_the_oldest() {
        let p = ticket(2, 500);
        let m = ticket(3, 100);
        let s = merge_survivor(&p, &m, 900);
        assert_eq!(s.id, TicketId(2));
        assert_eq!(s.subject, "ticket 2");
        assert_eq!(s.priority.as_deref(), Some("HIGH"));
        assert_eq!(s.created_at, 100);
        assert_eq!(s.last_activity_at, 500);
        assert_eq!(s.updated_at, 900);
        assert_eq!(s.custom[MERGED_IDS_PROPERTY], "3");
    }

    #[test]
    fn merge_merged_object_ids_are_the_union() {
        let mut p = ticket(10, 1);
        p.custom.insert(MERGED_IDS_PROPERTY.into(), "4;7".into());
        let mut m = ticket(9, 2);
        m.custom
            .insert(MERGED_IDS_PROPERTY.into(), "7;5;junk".into());
        let s = merge_survivor(&p, &m, 3);
        assert_eq!(s.custom[MERGED_IDS_PROPERTY], "4;5;7;9");
        assert_eq!(merged_ids(Some("1; 2;x;;3")).len(), 3);
    }

    #[test]
    fn merge_refuses_itself_and_trashed_tickets() {
        let p = ticket(1, 1);
        assert_eq!(check_ticket_merge(&p, &p), Err(MergeRefusal::SameTicket));
        let mut m = ticket(2, 1);
        assert_eq!(check_ticket_merge(&p, &m), Ok(()));
        m.trashed_at = Some(5);
        assert_eq!(
            check_ticket_merge(&p, &m),
            Err(MergeRefusal::Trashed(TicketId(2)))
        );
        assert_eq!(
            check_ticket_merge(&m, &p),
            Err(MergeRefusal::Trashed(TicketId(2)))
        );
    }
}
