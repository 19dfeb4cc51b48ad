//! Unmerge and split of tickets (issue 15 items 2 and 3): what can be undone, which values
//! each ticket gets back, and which messages a split may take. Pure: fd-app's
//! `unmerge_ticket` and `split_ticket` load the rows, ask these functions and save what they
//! return. Must not depend on I/O or a clock.
//!
//! Values after an unmerge: the survivor keeps its current values (an edit made after the
//! merge is the newest word on it), except what the merge itself changed: the merged id
//! (and the ids it had absorbed) leave `hs_merged_object_ids`, and the create date goes back
//! to the survivor's own unless a ticket still merged into it is older. The restored ticket
//! gets its values from before the merge (its row was kept untouched, in the trash).

use std::collections::{BTreeMap, BTreeSet};

use crate::entities::Ticket;
use crate::ticket_merge::{MERGED_IDS_PROPERTY, merged_ids};
use crate::{MessageId, TicketId};

/// Why an unmerge (or the undo of a split) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnmergeRefusal {
    /// `other` was neither merged into nor split from `ticket`.
    NotMergedInto { ticket: TicketId, other: TicketId },
    /// `ticket` is in the trash (restore it first).
    Trashed(TicketId),
    /// `ticket` was itself merged into `into` since: that merge must be undone first.
    MergedAway { ticket: TicketId, into: TicketId },
}

impl std::fmt::Display for UnmergeRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotMergedInto { ticket, other } => write!(
                f,
                "ticket {other} was not merged into (or split from) ticket {ticket}"
            ),
            Self::Trashed(t) => write!(f, "ticket {t} is in the trash; restore it first"),
            Self::MergedAway { ticket, into } => write!(
                f,
                "ticket {ticket} was merged into ticket {into} since; undo that merge first"
            ),
        }
    }
}

/// The state of one ticket taking part in an undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UndoSide {
    pub id: TicketId,
    pub trashed: bool,
    /// The ticket it was merged into, when it was merged away.
    pub merged_into: Option<TicketId>,
}

/// Checks that `other` can be taken back out of `survivor`. `recorded_survivor` is the ticket
/// the merge (or split) record names for `other`; `other_is_kept_for_unmerge` says `other`
/// is a merged-away ticket (trashed by the merge) rather than a split-off live one. Later
/// merges into the survivor do not matter (their rows are not the ones moved back); a
/// survivor that was merged away itself must be unmerged first.
pub fn check_unmerge(
    survivor: UndoSide,
    other: UndoSide,
    recorded_survivor: Option<TicketId>,
    other_is_kept_for_unmerge: bool,
) -> Result<(), UnmergeRefusal> {
    if recorded_survivor != Some(survivor.id) || survivor.id == other.id {
        return Err(UnmergeRefusal::NotMergedInto {
            ticket: survivor.id,
            other: other.id,
        });
    }
    if let Some(into) = survivor.merged_into {
        return Err(UnmergeRefusal::MergedAway {
            ticket: survivor.id,
            into,
        });
    }
    if survivor.trashed {
        return Err(UnmergeRefusal::Trashed(survivor.id));
    }
    if !other_is_kept_for_unmerge {
        if let Some(into) = other.merged_into {
            return Err(UnmergeRefusal::MergedAway {
                ticket: other.id,
                into,
            });
        }
        if other.trashed {
            return Err(UnmergeRefusal::Trashed(other.id));
        }
    }
    Ok(())
}

/// The survivor after `merged` (as it was before the merge) is taken back out of it.
/// `primary_created_at` is the survivor's own create date before that merge; `still_merged`
/// are the create dates of the tickets still merged into it. `now` is the update time.
pub fn unmerge_survivor(
    current: &Ticket,
    merged_before: &Ticket,
    primary_created_at: i64,
    still_merged: &[i64],
    now: i64,
) -> Ticket {
    let mut s = current.clone();
    s.created_at = still_merged
        .iter()
        .copied()
        .fold(primary_created_at, i64::min);
    s.updated_at = now;
    let mut ids = merged_ids(current.custom.get(MERGED_IDS_PROPERTY).map(String::as_str));
    ids.remove(&merged_before.id.0);
    for gone in merged_ids(
        merged_before
            .custom
            .get(MERGED_IDS_PROPERTY)
            .map(String::as_str),
    ) {
        ids.remove(&gone);
    }
    if ids.is_empty() {
        s.custom.remove(MERGED_IDS_PROPERTY);
    } else {
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(";");
        s.custom.insert(MERGED_IDS_PROPERTY.to_string(), joined);
    }
    s
}

/// The merged ticket given back: its values from before the merge, out of the trash.
pub fn unmerge_restored(merged_before: &Ticket, current_version: i64, now: i64) -> Ticket {
    let mut t = merged_before.clone();
    t.trashed_at = None;
    t.updated_at = now;
    t.version = current_version;
    t
}

/// Why a split is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitRefusal {
    /// No message was chosen.
    NoMessages,
    /// These ids are not messages of the conversation.
    NotInConversation(Vec<MessageId>),
    /// Every message of the conversation was chosen: nothing would be left behind.
    AllMessages,
    /// The messages come from more than one conversation.
    SeveralConversations,
}

impl std::fmt::Display for SplitRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoMessages => write!(f, "choose at least one message to split off"),
            Self::NotInConversation(ids) => write!(
                f,
                "{} not a message of this ticket's conversations: {}",
                if ids.len() == 1 { "is" } else { "are" },
                ids.iter()
                    .map(|i| i.0.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::AllMessages => write!(
                f,
                "a split must leave at least one message in the conversation; to move the whole conversation, create a ticket from it instead"
            ),
            Self::SeveralConversations => {
                write!(f, "the messages of a split must come from one conversation")
            }
        }
    }
}

/// Checks the chosen messages of a split. `owner_of` gives, for each chosen id, the
/// conversation of the ticket it belongs to (`None` when it is no message of the ticket);
/// `conversation_size` is how many messages that conversation has. Returns the chosen ids,
/// without repeats, ascending.
pub fn check_split(
    chosen: &[MessageId],
    owner_of: &BTreeMap<MessageId, Option<i64>>,
    conversation_size: impl Fn(i64) -> usize,
) -> Result<(i64, Vec<MessageId>), SplitRefusal> {
    let ids: BTreeSet<MessageId> = chosen.iter().copied().collect();
    if ids.is_empty() {
        return Err(SplitRefusal::NoMessages);
    }
    let strangers: Vec<MessageId> = ids
        .iter()
        .filter(|i| owner_of.get(i).copied().flatten().is_none())
        .copied()
        .collect();
    if !strangers.is_empty() {
        return Err(SplitRefusal::NotInConversation(strangers));
    }
    let convs: BTreeSet<i64> = ids.iter().filter_map(|i| owner_of[i]).collect();
    let conv = match convs.iter().next() {
        Some(c) if convs.len() == 1 => *c,
        _ => return Err(SplitRefusal::SeveralConversations),
    };
    if ids.len() >= conversation_size(conv) {
        return Err(SplitRefusal::AllMessages);
    }
    Ok((conv, ids.into_iter().collect()))
}

/// The properties of the ticket a split opens: what the request gives, and for what it does
/// not, the source ticket's pipeline, status, priority, category, owner and team, and the
/// subject of the conversation the messages came from (else the source ticket's).
pub fn split_properties(
    source: &Ticket,
    conversation_subject: Option<&str>,
    requested: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut p = requested.clone();
    let subject = conversation_subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&source.subject)
        .to_string();
    p.entry("subject".into()).or_insert(subject);
    p.entry("hs_pipeline".into())
        .or_insert_with(|| source.pipeline_id.0.to_string());
    if !requested.contains_key("hs_pipeline") || requested.contains_key("hs_pipeline_stage") {
        p.entry("hs_pipeline_stage".into())
            .or_insert_with(|| source.stage_id.0.to_string());
    }
    for (name, value) in [
        ("hs_ticket_priority", &source.priority),
        ("hs_ticket_category", &source.category),
    ] {
        if let Some(v) = value {
            p.entry(name.into()).or_insert_with(|| v.clone());
        }
    }
    // The same owner and team, so the people who handle the source see the new ticket.
    for (name, value) in [
        ("hubspot_owner_id", source.owner_id.map(|u| u.0)),
        ("hubspot_team_id", source.team_id.map(|t| t.0)),
    ] {
        if let Some(v) = value {
            p.entry(name.into()).or_insert_with(|| v.to_string());
        }
    }
    p.remove(MERGED_IDS_PROPERTY);
    p
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::{PipelineId, StageId, Workspace};

    fn ticket(id: i64, created: i64) -> Ticket {
        Ticket {
            id: TicketId(id),
            subject: format!("ticket {id}"),
            content: None,
            pipeline_id: PipelineId(0),
            stage_id: StageId(1),
            priority: Some("LOW".into()),
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

    fn side(id: i64) -> UndoSide {
        UndoSide {
            id: TicketId(id),
            trashed: false,
            merged_into: None,
        }
    }

    #[test]
    fn unmerge_survivor_keeps_its_values_and_drops_the_merged_ids() {
        let mut current = ticket(1, 50);
        current.priority = Some("HIGH".into()); // edited after the merge
        current
            .custom
            .insert(MERGED_IDS_PROPERTY.into(), "2;3;4".into());
        let mut merged = ticket(2, 50);
        merged.custom.insert(MERGED_IDS_PROPERTY.into(), "3".into());
        let s = unmerge_survivor(&current, &merged, 100, &[], 900);
        assert_eq!(s.priority.as_deref(), Some("HIGH"));
        assert_eq!(s.custom[MERGED_IDS_PROPERTY], "4");
        assert_eq!(s.created_at, 100, "the survivor's own create date");
        assert_eq!(s.updated_at, 900);
        let s = unmerge_survivor(&current, &merged, 100, &[70, 80], 900);
        assert_eq!(s.created_at, 70, "a ticket still merged in is older");
        current
            .custom
            .insert(MERGED_IDS_PROPERTY.into(), "2".into());
        let s = unmerge_survivor(&current, &merged, 100, &[], 900);
        assert!(!s.custom.contains_key(MERGED_IDS_PROPERTY));
    }

    #[test]
    fn unmerge_restored_ticket_gets_its_values_from_before() {
        let mut m = ticket(2, 10);
        m.trashed_at = Some(5);
        let r = unmerge_restored(&m, 7, 900);
        assert_eq!(r.trashed_at, None);
        assert_eq!(r.version, 7);
        assert_eq!(r.priority.as_deref(), Some("LOW"));
    }

    #[test]
    fn unmerge_refusals_name_the_problem() {
        let s = side(1);
        let mut m = side(2);
        m.trashed = true;
        m.merged_into = Some(TicketId(1));
        assert_eq!(check_unmerge(s, m, Some(TicketId(1)), true), Ok(()));
        assert_eq!(
            check_unmerge(s, m, Some(TicketId(9)), true),
            Err(UnmergeRefusal::NotMergedInto {
                ticket: TicketId(1),
                other: TicketId(2)
            })
        );
        assert!(matches!(
            check_unmerge(s, m, None, true),
            Err(UnmergeRefusal::NotMergedInto { .. })
        ));
        let away = UndoSide {
            merged_into: Some(TicketId(5)),
            trashed: true,
            ..s
        };
        let e = check_unmerge(away, m, Some(TicketId(1)), true).unwrap_err();
        assert!(e.to_string().contains("merged into ticket 5"), "{e}");
        let trashed = UndoSide { trashed: true, ..s };
        assert_eq!(
            check_unmerge(trashed, m, Some(TicketId(1)), true),
            Err(UnmergeRefusal::Trashed(TicketId(1)))
        );
        // A split-off ticket must be live to be taken back.
        let mut split = side(3);
        assert_eq!(check_unmerge(s, split, Some(TicketId(1)), false), Ok(()));
        split.trashed = true;
        assert_eq!(
            check_unmerge(s, split, Some(TicketId(1)), false),
            Err(UnmergeRefusal::Trashed(TicketId(3)))
        );
    }

    #[test]
    fn split_takes_some_messages_of_one_conversation() {
        let owner: BTreeMap<MessageId, Option<i64>> = [
            (MessageId(1), Some(10)),
            (MessageId(2), Some(10)),
            (MessageId(3), Some(10)),
            (MessageId(4), Some(11)),
            (MessageId(9), None),
        ]
        .into_iter()
        .collect();
        let size = |c: i64| if c == 10 { 3 } else { 1 };
        assert_eq!(
            check_split(&[MessageId(3), MessageId(2), MessageId(3)], &owner, size),
            Ok((10, vec![MessageId(2), MessageId(3)]))
        );
        assert_eq!(
            check_split(&[], &owner, size),
            Err(SplitRefusal::NoMessages)
        );
        assert_eq!(
            check_split(&[MessageId(1), MessageId(9), MessageId(8)], &owner, size),
            Err(SplitRefusal::NotInConversation(vec![
                MessageId(8),
                MessageId(9)
            ]))
        );
        assert_eq!(
            check_split(&[MessageId(1), MessageId(4)], &owner, size),
            Err(SplitRefusal::SeveralConversations)
        );
        assert_eq!(
            check_split(&[MessageId(1), MessageId(2), MessageId(3)], &owner, size),
            Err(SplitRefusal::AllMessages)
        );
    }

    #[test]
    fn split_properties_default_to_the_source() {
        let mut src = ticket(1, 1);
        src.custom.insert(MERGED_IDS_PROPERTY.into(), "7".into());
        src.owner_id = Some(crate::UserId(4));
        let p = split_properties(&src, Some("Re: printer"), &BTreeMap::new());
        assert_eq!(p["hubspot_owner_id"], "4");
        assert!(!p.contains_key("hubspot_team_id"));
        assert_eq!(p["subject"], "Re: printer");
        assert_eq!(p["hs_pipeline"], "0");
        assert_eq!(p["hs_pipeline_stage"], "1");
        assert_eq!(p["hs_ticket_priority"], "LOW");
        let asked: BTreeMap<String, String> =
            [("subject".to_string(), "Scanner".to_string())].into();
        let p = split_properties(&src, None, &asked);
        assert_eq!(p["subject"], "Scanner");
        assert!(!p.contains_key(MERGED_IDS_PROPERTY));
    }
}
