//! The ticket and conversation rules of SPEC.md that can be decided without storage.
//! The application layer asks these functions what must happen and then does it, in one
//! transaction, so every road (UI, API, mail, automation) gets the same answer.

use crate::entities::{Pipeline, Stage, Ticket};
use crate::error::DomainError;
use crate::model::{StageId, StageState, UserId};

/// What a ticket's move between stages implies for the ticket and its conversations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMoveEffects {
    /// `Some(Some(t))` sets `closed_date`, `Some(None)` clears it, `None` leaves it.
    pub closed_date: Option<Option<i64>>,
    /// INB-10: entering a CLOSED stage closes every associated conversation.
    pub close_all_conversations: bool,
    /// INB-11: leaving CLOSED reopens the conversation only when there is exactly one.
    pub reopen_single_conversation: bool,
}

/// INB-10 / INB-11 and HubSpot's `closed_date` semantics.
pub fn stage_move_effects(
    from: StageState,
    to: StageState,
    live_conversations: usize,
    now: i64,
) -> StageMoveEffects {
    match (from, to) {
        (StageState::Open, StageState::Closed) => StageMoveEffects {
            closed_date: Some(Some(now)),
            close_all_conversations: true,
            reopen_single_conversation: false,
        },
        (StageState::Closed, StageState::Open) => StageMoveEffects {
            closed_date: Some(None),
            close_all_conversations: false,
            reopen_single_conversation: live_conversations == 1,
        },
        _ => StageMoveEffects {
            closed_date: None,
            close_all_conversations: false,
            reopen_single_conversation: false,
        },
    }
}

/// Effects of a ticket created directly in a stage (a CLOSED one closes its conversations too).
pub fn initial_stage_effects(state: StageState, now: i64) -> StageMoveEffects {
    stage_move_effects(StageState::Open, state, 0, now)
}

/// HD-19: the conditional stage's required properties that are still empty.
pub fn missing_required_properties(
    required: &[String],
    has_value: impl Fn(&str) -> bool,
) -> Vec<&str> {
    required
        .iter()
        .map(String::as_str)
        .filter(|name| !has_value(name))
        .collect()
}

/// HD-19 as a refusal.
pub fn check_conditional_stage(
    stage_label: &str,
    required: &[String],
    has_value: impl Fn(&str) -> bool,
) -> Result<(), DomainError> {
    let missing = missing_required_properties(required, has_value);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::MissingRequiredProperties {
            stage_label: stage_label.to_string(),
            missing: missing.into_iter().map(str::to_string).collect(),
        })
    }
}

/// INB-04: a ticket–conversation association can never be removed.
pub fn refuse_ticket_conversation_dissociation() -> DomainError {
    DomainError::RuleViolation {
        rule: "INB-04",
        message: "a ticket's association with its conversation cannot be removed".into(),
    }
}

impl Stage {
    /// Whether tickets may be put in this stage without anyone choosing it (automatic
    /// creation, reopening): live, OPEN, and not conditional — nobody is there to supply the
    /// properties a conditional stage requires (HD-19).
    pub fn takes_automatic_tickets(&self) -> bool {
        !self.archived && self.state == StageState::Open && self.required_properties.is_empty()
    }
}

impl Pipeline {
    /// The first stage, in display order, that takes automatic tickets.
    pub fn first_automatic_stage(&self) -> Option<&Stage> {
        self.stages
            .iter()
            .filter(|s| s.takes_automatic_tickets())
            .min_by_key(|s| (s.display_order, s.id))
    }
}

/// The default pipeline: the first live one in display order (HubSpot: a missing pipeline
/// means the default).
pub fn default_pipeline(pipelines: &[Pipeline]) -> Option<&Pipeline> {
    pipelines
        .iter()
        .filter(|p| !p.archived)
        .min_by_key(|p| (p.display_order, p.id))
}

/// HD-06/HD-07: where a ticket that a channel creates automatically starts — the default
/// pipeline's first live, OPEN, unconditional stage. The create form preselects it too.
pub fn hd_06_intake_stage(pipelines: &[Pipeline]) -> Result<(&Pipeline, &Stage), DomainError> {
    let pipeline = default_pipeline(pipelines).ok_or_else(|| DomainError::RuleViolation {
        rule: "HD-06",
        message: "there is no live ticket pipeline for automatically created tickets".into(),
    })?;
    let stage = pipeline
        .first_automatic_stage()
        .ok_or_else(|| DomainError::RuleViolation {
            rule: "HD-06",
            message: format!(
                "the default pipeline {:?} has no live OPEN stage without required properties \
                 for automatically created tickets",
                pipeline.label
            ),
        })?;
    Ok((pipeline, stage))
}

/// INB-11: the stage a closed ticket of `pipeline` reopens into — the pipeline's first live,
/// OPEN, unconditional stage (`None` for an archived pipeline or one without such a stage).
pub fn inb_11_reopen_stage(pipeline: &Pipeline) -> Option<&Stage> {
    if pipeline.archived {
        return None;
    }
    pipeline.first_automatic_stage()
}

/// INB-11 from the customer's side: a customer's message on a closed ticket reopens it, on
/// any channel. Returns the stage to move the ticket to, or `None` when nothing reopens (the
/// ticket is open or in the trash, or its pipeline has nowhere to reopen it). Automatic
/// replies and bulk mail are not customer messages; callers do not ask for them.
pub fn inb_11_reopen_on_customer_message(
    ticket: &Ticket,
    pipeline: Option<&Pipeline>,
) -> Option<StageId> {
    if ticket.is_open || ticket.trashed_at.is_some() {
        return None;
    }
    let pipeline = pipeline.filter(|p| p.id == ticket.pipeline_id)?;
    inb_11_reopen_stage(pipeline).map(|s| s.id)
}

/// HD-06 / INB-11 as a guard on pipeline edits, given the pipelines before and after an edit:
/// inbound work must never stop because of one. Refused are edits that
/// - leave automatic creation without an intake stage ([`hd_06_intake_stage`]);
/// - archive, close, make conditional or remove the current intake stage (reorder the stages
///   so another one takes its place first);
/// - leave a pipeline that had a stage to reopen its tickets in without one.
pub fn hd_06_check_pipeline_edit(
    before: &[Pipeline],
    after: &[Pipeline],
) -> Result<(), DomainError> {
    let refuse = |message: String| DomainError::RuleViolation {
        rule: "HD-06",
        message,
    };
    if let Ok((_, intake)) = hd_06_intake_stage(before) {
        let now = after
            .iter()
            .flat_map(|p| p.stages.iter())
            .find(|s| s.id == intake.id);
        match now {
            Some(s) if s.takes_automatic_tickets() => {}
            Some(s) => {
                let why = if s.archived {
                    "archived"
                } else if s.state != StageState::Open {
                    "CLOSED"
                } else {
                    "conditional"
                };
                return Err(refuse(format!(
                    "stage {:?} is where automatically created tickets start and cannot be \
                     made {why}; put another OPEN stage without required properties before \
                     it first",
                    intake.label
                )));
            }
            None => {
                return Err(refuse(format!(
                    "stage {:?} is where automatically created tickets start and cannot be \
                     removed; put another OPEN stage without required properties before it \
                     first",
                    intake.label
                )));
            }
        }
        if let Err(e) = hd_06_intake_stage(after) {
            let why = match e {
                DomainError::RuleViolation { message, .. } => message,
                other => other.to_string(),
            };
            return Err(refuse(format!(
                "the change would stop automatic ticket creation: {why}"
            )));
        }
    }
    for old in before.iter().filter(|p| inb_11_reopen_stage(p).is_some()) {
        if let Some(new) = after.iter().find(|p| p.id == old.id && !p.archived)
            && inb_11_reopen_stage(new).is_none()
        {
            return Err(DomainError::RuleViolation {
                rule: "INB-11",
                message: format!(
                    "pipeline {:?} would have no live OPEN stage without required properties, \
                     so a customer's message could not reopen its closed tickets",
                    new.label
                ),
            });
        }
    }
    Ok(())
}

/// A user that a comment can mention.
#[derive(Debug, Clone)]
pub struct Mentionable {
    pub id: UserId,
    pub name: String,
    pub email: String,
}

/// HD-21: the users an `@mention` in a comment names. A mention is `@` followed by the user's
/// full name, their email address, or the local part of it, compared case-insensitively and
/// ending at a non-word character so `@ann` does not mention `anna`.
pub fn find_mentions(body: &str, users: &[Mentionable]) -> Vec<UserId> {
    let lower = body.to_lowercase();
    let mut found = Vec::new();
    for user in users {
        let email = user.email.to_lowercase();
        let local = email.split('@').next().unwrap_or_default().to_string();
        let candidates = [user.name.to_lowercase(), email.clone(), local];
        let hit = candidates
            .iter()
            .filter(|c| !c.is_empty())
            .any(|c| mention_at(&lower, c));
        if hit && !found.contains(&user.id) {
            found.push(user.id);
        }
    }
    found
}

fn mention_at(text: &str, name: &str) -> bool {
    let needle = format!("@{name}");
    let mut start = 0;
    while let Some(pos) = text[start..].find(&needle) {
        let end = start + pos + needle.len();
        let next = text[end..].chars().next();
        let boundary = match next {
            None => true,
            Some(c) => !(c.is_alphanumeric() || c == '_' || c == '-' || c == '@'),
        };
        // A trailing '.' ends a sentence, not an address, unless more address follows.
        let dot_boundary = next == Some('.')
            && text[end + 1..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric());
        if boundary || dot_boundary {
            return true;
        }
        start = end;
    }
    false
}

/// Normalises the ticket name: trimmed, non-empty, at most 1,000 characters.
pub fn ticket_subject(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DomainError::field("subject", "the ticket name is required"));
    }
    if s.chars().count() > 1000 {
        return Err(DomainError::field(
            "subject",
            "the ticket name is longer than 1000 characters",
        ));
    }
    Ok(s.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stage(id: i64, pipeline: i64, order: i64, state: StageState) -> Stage {
        Stage {
            id: StageId(id),
            pipeline_id: crate::model::PipelineId(pipeline),
            label: format!("s{id}"),
            display_order: order,
            state,
            archived: false,
            created_at: 0,
            updated_at: 0,
            required_properties: Vec::new(),
        }
    }

    fn pipeline(id: i64, order: i64, stages: Vec<Stage>) -> Pipeline {
        Pipeline {
            id: crate::model::PipelineId(id),
            label: format!("p{id}"),
            display_order: order,
            archived: false,
            created_at: 0,
            updated_at: 0,
            stages,
        }
    }

    fn support() -> Vec<Pipeline> {
        vec![
            pipeline(
                1,
                0,
                vec![
                    stage(10, 1, 0, StageState::Open),
                    stage(11, 1, 1, StageState::Open),
                    stage(12, 1, 2, StageState::Closed),
                ],
            ),
            pipeline(
                2,
                1,
                vec![
                    stage(20, 2, 0, StageState::Open),
                    stage(21, 2, 1, StageState::Closed),
                ],
            ),
        ]
    }

    #[test]
    fn hd_06_intake_is_the_default_pipelines_first_live_open_unconditional_stage() {
        let mut p = support();
        assert_eq!(hd_06_intake_stage(&p).unwrap().1.id, StageId(10));
        p[0].stages[0].archived = true;
        assert_eq!(hd_06_intake_stage(&p).unwrap().1.id, StageId(11));
        p[0].stages[1].required_properties = vec!["hs_ticket_priority".into()];
        let err = hd_06_intake_stage(&p).unwrap_err();
        assert!(err.to_string().contains("HD-06"), "{err}");
        // Display order, not list order, decides the default pipeline.
        p[1].display_order = -1;
        assert_eq!(hd_06_intake_stage(&p).unwrap().0.id.0, 2);
        p[1].archived = true;
        p[0].archived = true;
        assert!(hd_06_intake_stage(&p).is_err());
    }

    #[test]
    fn hd_06_refuses_edits_that_take_the_intake_stage_away() {
        let before = support();
        for (what, edit) in [
            (
                "archived",
                Box::new(|s: &mut Stage| s.archived = true) as Box<dyn Fn(&mut Stage)>,
            ),
            (
                "CLOSED",
                Box::new(|s: &mut Stage| s.state = StageState::Closed),
            ),
            (
                "conditional",
                Box::new(|s: &mut Stage| s.required_properties = vec!["x".into()]),
            ),
        ] {
            let mut after = before.clone();
            edit(&mut after[0].stages[0]);
            let err = hd_06_check_pipeline_edit(&before, &after).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        }
        let mut removed = before.clone();
        removed[0].stages.remove(0);
        assert!(hd_06_check_pipeline_edit(&before, &removed).is_err());
        // Reordering so another valid stage comes first is fine; so is editing the others.
        let mut reordered = before.clone();
        reordered[0].stages[1].display_order = -1;
        assert!(hd_06_check_pipeline_edit(&before, &reordered).is_ok());
        let mut other = before.clone();
        other[0].stages[1].archived = true;
        assert!(hd_06_check_pipeline_edit(&before, &other).is_ok());
        // A new first pipeline without an intake stage would stop automatic creation.
        let mut front = before.clone();
        front.push(pipeline(3, -5, vec![stage(30, 3, 0, StageState::Closed)]));
        let err = hd_06_check_pipeline_edit(&before, &front).unwrap_err();
        assert!(
            err.to_string().contains("stop automatic ticket creation"),
            "{err}"
        );
    }

    #[test]
    fn inb_11_refuses_edits_that_leave_a_pipeline_nowhere_to_reopen() {
        let before = support();
        let mut after = before.clone();
        after[1].stages[0].archived = true;
        let err = hd_06_check_pipeline_edit(&before, &after).unwrap_err();
        assert!(err.to_string().contains("INB-11"), "{err}");
        // Archiving the whole (non-default) pipeline leaves nothing to reopen into: allowed.
        let mut archived = before.clone();
        archived[1].archived = true;
        assert!(hd_06_check_pipeline_edit(&before, &archived).is_ok());
    }

    fn closed_ticket(pipeline: i64) -> Ticket {
        Ticket {
            id: crate::model::TicketId(7),
            subject: "s".into(),
            content: None,
            pipeline_id: crate::model::PipelineId(pipeline),
            stage_id: StageId(12),
            priority: None,
            category: None,
            owner_id: None,
            team_id: None,
            source_type: None,
            workspace: crate::model::Workspace::HelpDesk,
            is_open: false,
            created_by: None,
            created_at: 0,
            updated_at: 0,
            closed_at: Some(1),
            last_activity_at: 0,
            version: 1,
            trashed_at: None,
            custom: Default::default(),
        }
    }

    #[test]
    fn inb_11_a_customer_message_reopens_a_closed_ticket_in_its_pipelines_first_open_stage() {
        let mut p = support();
        let t = closed_ticket(1);
        assert_eq!(
            inb_11_reopen_on_customer_message(&t, Some(&p[0])),
            Some(StageId(10))
        );
        p[0].stages[0].archived = true;
        assert_eq!(
            inb_11_reopen_on_customer_message(&t, Some(&p[0])),
            Some(StageId(11))
        );
        // Not for an open or trashed ticket, nor with another pipeline's stages.
        let open = Ticket {
            is_open: true,
            ..t.clone()
        };
        assert_eq!(inb_11_reopen_on_customer_message(&open, Some(&p[0])), None);
        let trashed = Ticket {
            trashed_at: Some(3),
            ..t.clone()
        };
        assert_eq!(
            inb_11_reopen_on_customer_message(&trashed, Some(&p[0])),
            None
        );
        assert_eq!(inb_11_reopen_on_customer_message(&t, Some(&p[1])), None);
        assert_eq!(inb_11_reopen_on_customer_message(&t, None), None);
    }

    #[test]
    fn mentions_match_names_emails_and_word_boundaries() {
        let users = vec![
            Mentionable {
                id: UserId(1),
                name: "Ann Lee".into(),
                email: "ann@example.com".into(),
            },
            Mentionable {
                id: UserId(2),
                name: "Anna".into(),
                email: "anna@example.com".into(),
            },
        ];
        assert_eq!(
            find_mentions("ping @Ann Lee please", &users),
            vec![UserId(1)]
        );
        assert_eq!(find_mentions("@anna look", &users), vec![UserId(2)]);
        assert_eq!(find_mentions("cc @ann.", &users), vec![UserId(1)]);
        assert!(find_mentions("no mention here: ann@example.com", &users).is_empty());
    }

    #[test]
    fn inb_11_reopens_only_a_single_conversation() {
        let one = stage_move_effects(StageState::Closed, StageState::Open, 1, 5);
        assert!(one.reopen_single_conversation);
        assert_eq!(one.closed_date, Some(None));
        let two = stage_move_effects(StageState::Closed, StageState::Open, 2, 5);
        assert!(!two.reopen_single_conversation);
    }
}
