//! The ticket and conversation rules of SPEC.md that can be decided without storage.
//! The application layer asks these functions what must happen and then does it, in one
//! transaction, so every road (UI, API, mail, automation) gets the same answer.

use crate::entities::{Conversation, Message, Pipeline, Stage, Ticket};
use crate::error::{DomainError, ErrorCode};
use crate::model::{Channel, Direction, MessageId, Millis, StageId, StageState, TicketId, UserId};

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
pub fn inb_10_11_stage_move_effects(
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
pub fn inb_10_initial_stage_effects(state: StageState, now: i64) -> StageMoveEffects {
    inb_10_11_stage_move_effects(StageState::Open, state, 0, now)
}

/// HD-19: the conditional stage's required properties that are still empty.
pub fn hd_19_missing_required_properties(
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
pub fn hd_19_check_conditional_stage(
    stage_label: &str,
    required: &[String],
    has_value: impl Fn(&str) -> bool,
) -> Result<(), DomainError> {
    let missing = hd_19_missing_required_properties(required, has_value);
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
pub fn inb_04_refuse_dissociation() -> DomainError {
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

/// HD-22 (move to another pipeline): the stage a ticket in `current` lands in when moved to
/// `target` without a chosen stage — the live stage of the same name (case and surrounding
/// spaces ignored), else the first live stage, in display order, with the same OPEN/CLOSED
/// state. `None`: no stage fits and the agent must choose one. The screens preselect this
/// and the use case applies it, so both agree.
pub fn hd_22_pipeline_move_stage<'p>(current: &Stage, target: &'p Pipeline) -> Option<&'p Stage> {
    let name = current.label.trim().to_lowercase();
    let mut live: Vec<&Stage> = target.stages.iter().filter(|s| !s.archived).collect();
    live.sort_by_key(|s| (s.display_order, s.id));
    live.iter()
        .find(|s| s.label.trim().to_lowercase() == name)
        .or_else(|| live.iter().find(|s| s.state == current.state))
        .copied()
}

/// HD-22: the refusal when [`hd_22_pipeline_move_stage`] finds no stage: it names the choice
/// the caller must make (a stage of the target pipeline).
pub fn hd_22_stage_choice_needed(current: &Stage, target: &Pipeline) -> DomainError {
    DomainError::field(
        "hs_pipeline_stage",
        ErrorCode::Required,
        format!(
            "moving to pipeline {:?}: it has no stage named {:?} and no live {} stage; \
             choose a stage of that pipeline (hs_pipeline_stage)",
            target.label, current.label, current.state
        ),
    )
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

/// INB-04: a conversation has at most one ticket. `ticket` is the one it is to be attached to
/// (`None`: a ticket about to be created for it). Returns whether anything needs attaching:
/// `false` when it is attached to that very ticket already; refused when it has another.
pub fn inb_04_check_attach(
    c: &Conversation,
    ticket: Option<TicketId>,
) -> Result<bool, DomainError> {
    match (c.ticket_id, ticket) {
        (None, _) => Ok(true),
        (Some(t), Some(new)) if t == new => Ok(false),
        (Some(t), _) => Err(DomainError::RuleViolation {
            rule: "INB-04",
            message: format!(
                "conversation {} already has ticket {t}; a conversation has at most one ticket",
                c.id
            ),
        }),
    }
}

/// INB-06: a conversation's owner becomes its ticket's owner. Returns the ticket's new owner
/// when it must change (`Some(None)`: unassigned). A ticket's owner never flows back.
pub fn inb_06_ticket_owner_after_conversation_owner(
    conversation_owner: Option<UserId>,
    ticket: &Ticket,
) -> Option<Option<UserId>> {
    (ticket.owner_id != conversation_owner).then_some(conversation_owner)
}

/// What trashing a conversation trashes (INB-13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrashCascade {
    /// The conversation's ticket, and with it all the ticket's conversations.
    Ticket(TicketId),
    /// The conversation alone: it has no ticket.
    ConversationOnly,
}

/// INB-13: moving a conversation to the trash also trashes its ticket.
pub fn inb_13_trash_conversation(c: &Conversation) -> TrashCascade {
    match c.ticket_id {
        Some(t) => TrashCascade::Ticket(t),
        None => TrashCascade::ConversationOnly,
    }
}

/// INB-13: deleting a ticket trashes it and every one of its conversations (already loaded,
/// live ones); the caller saves what this marks.
pub fn inb_13_trash_ticket(t: &mut Ticket, conversations: &mut [Conversation], now: Millis) {
    t.trashed_at = Some(now);
    t.updated_at = now;
    for c in conversations
        .iter_mut()
        .filter(|c| c.ticket_id == Some(t.id))
    {
        c.trashed_at = Some(now);
        c.updated_at = now;
    }
}

/// Whether a new conversation asks for a ticket automatically (HD-06/HD-07 vs HD-08).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TicketCreation {
    /// Inbox channels: no ticket.
    #[default]
    None,
    /// Help-desk channels: a ticket in the intake stage ([`hd_06_intake_stage`]).
    Automatic,
}

/// HD-06/HD-07/HD-08: does this new conversation get a ticket? Help-desk channels create one
/// automatically; rule-based chatbots never do (a bot may create one explicitly).
pub fn hd_06_08_creates_ticket(creation: TicketCreation, channel: Channel) -> bool {
    creation == TicketCreation::Automatic && channel != Channel::Bot
}

/// HD-21: whether the Comment tab is open. On a ticket whose conversations are all calls,
/// commenting becomes available once an outgoing email has been drafted or sent.
pub fn hd_21_comments_open(channels: &[Channel], email_drafted_or_sent: bool) -> bool {
    let all_calls = !channels.is_empty() && channels.iter().all(|c| *c == Channel::Call);
    !all_calls || email_drafted_or_sent
}

/// HD-21 as a refusal.
pub fn hd_21_check_comment(
    channels: &[Channel],
    email_drafted_or_sent: bool,
) -> Result<(), DomainError> {
    if hd_21_comments_open(channels, email_drafted_or_sent) {
        Ok(())
    } else {
        Err(DomainError::RuleViolation {
            rule: "HD-21",
            message: "on a call ticket, comments open once an outgoing email has been drafted \
                      or sent"
                .into(),
        })
    }
}

/// HD-14: the message a reply answers — the chosen one when it belongs to the thread, else
/// the newest. `messages` are the thread's, oldest first.
pub fn hd_14_reply_target(messages: &[Message], chosen: Option<MessageId>) -> Option<&Message> {
    chosen
        .and_then(|id| messages.iter().find(|m| m.id == id))
        .or_else(|| messages.last())
}

/// A reply form posted twice (a double click, a resent post after a slow answer): the
/// conversation already holds, after the newest message the agent's page showed (`seen`), an
/// outgoing message by the same agent with the same text and HTML. That message is the
/// answer to the repeated post, so nothing is sent twice. A page only ever posts the reply it
/// showed once: after a send it is reloaded with a newer `seen`, so the same words sent again
/// on purpose are never taken for a repeat. `messages` are the thread's, oldest first.
pub fn repeated_reply<'a>(
    messages: &'a [Message],
    author: UserId,
    seen: MessageId,
    text: &str,
    html: Option<&str>,
) -> Option<&'a Message> {
    messages.iter().rev().take_while(|m| m.id > seen).find(|m| {
        m.direction == Direction::Outbound
            && m.sender_user_id == Some(author)
            && m.text == text
            && m.html.as_deref() == html
    })
}

/// HD-14/HD-15: the default To of an email reply — the sender of the answered message when
/// the customer wrote it, else the sender of the customer's newest message, else the
/// visitor's address, else the contact's.
pub fn hd_14_default_to(
    target: Option<&Message>,
    newest_inbound: Option<&Message>,
    c: &Conversation,
    contact_email: Option<&str>,
) -> Option<String> {
    let from_customer = |m: &Message| {
        (m.direction == Direction::Inbound)
            .then(|| m.sender_address.clone())
            .flatten()
            .filter(|a| !a.trim().is_empty())
    };
    target
        .and_then(from_customer)
        .or_else(|| newest_inbound.and_then(from_customer))
        .or_else(|| c.visitor_email.clone())
        .or_else(|| contact_email.map(str::to_string))
}

/// HD-15: the From of a reply nobody chose one for — the connected address the customer's
/// message was sent to (a customer who wrote to hello@ is answered from hello@, not from
/// the team's support@), else the team's default From address (HD-03; what a conversation
/// the agent starts goes out from), else the team's first connected address, else any
/// connected address.
pub fn hd_15_default_from(
    team_default: Option<&str>,
    team_addresses: &[String],
    arrived_on: Option<&str>,
    any_connected: Option<&str>,
) -> Option<String> {
    arrived_on
        .or(team_default)
        .or_else(|| team_addresses.first().map(String::as_str))
        .or(any_connected)
        .map(str::to_string)
}

/// HD-10: the pipeline a status (stage) belongs to. The screens' status pickers span
/// pipelines, so they send a chosen status with its pipeline; the use cases then check the
/// pair (the API, like HubSpot, refuses a status of another pipeline given alone).
pub fn hd_10_pipeline_of_stage(
    pipelines: &[Pipeline],
    stage: StageId,
) -> Option<crate::model::PipelineId> {
    pipelines
        .iter()
        .find(|p| p.stages.iter().any(|s| s.id == stage))
        .map(|p| p.id)
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
pub fn hd_21_find_mentions(body: &str, users: &[Mentionable]) -> Vec<UserId> {
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
    text.match_indices(&needle).any(|(pos, _)| {
        let mut rest = text.get(pos + needle.len()..).unwrap_or_default().chars();
        let next = rest.next();
        let boundary = match next {
            None => true,
            Some(c) => !(c.is_alphanumeric() || c == '_' || c == '-' || c == '@'),
        };
        // A trailing '.' ends a sentence, not an address, unless more address follows.
        let dot_boundary = next == Some('.') && rest.next().is_none_or(|c| !c.is_alphanumeric());
        boundary || dot_boundary
    })
}

/// Normalises the ticket name: trimmed, non-empty, at most 1,000 characters.
pub fn ticket_subject(raw: &str) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DomainError::field(
            "subject",
            ErrorCode::Required,
            "the ticket name is required",
        ));
    }
    if s.chars().count() > 1000 {
        return Err(DomainError::field(
            "subject",
            ErrorCode::TooLarge,
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

    fn labelled(id: i64, pipeline: i64, order: i64, state: StageState, label: &str) -> Stage {
        Stage {
            label: label.into(),
            ..stage(id, pipeline, order, state)
        }
    }

    #[test]
    fn hd_22_move_maps_to_the_same_named_stage_first() {
        let from = labelled(1, 1, 0, StageState::Open, "Waiting on us");
        let target = pipeline(
            2,
            0,
            vec![
                labelled(20, 2, 0, StageState::Open, "New"),
                labelled(21, 2, 1, StageState::Open, " waiting ON us "),
                labelled(22, 2, 2, StageState::Closed, "Closed"),
            ],
        );
        assert_eq!(
            hd_22_pipeline_move_stage(&from, &target).unwrap().id,
            StageId(21)
        );
    }

    #[test]
    fn hd_22_move_falls_back_to_the_first_live_stage_of_the_same_state() {
        let from = labelled(1, 1, 0, StageState::Closed, "Solved");
        let mut archived = labelled(20, 2, 0, StageState::Closed, "Done");
        archived.archived = true;
        let target = pipeline(
            2,
            0,
            vec![
                labelled(23, 2, 3, StageState::Closed, "Rejected"),
                archived,
                labelled(21, 2, 1, StageState::Open, "New"),
                labelled(22, 2, 2, StageState::Closed, "Closed"),
            ],
        );
        assert_eq!(
            hd_22_pipeline_move_stage(&from, &target).unwrap().id,
            StageId(22)
        );
    }

    #[test]
    fn hd_22_move_without_a_fitting_stage_asks_for_a_choice() {
        let from = labelled(1, 1, 0, StageState::Closed, "Solved");
        let mut same_name = labelled(20, 2, 0, StageState::Closed, "Solved");
        same_name.archived = true;
        let target = pipeline(
            2,
            0,
            vec![same_name, labelled(21, 2, 1, StageState::Open, "New")],
        );
        assert!(hd_22_pipeline_move_stage(&from, &target).is_none());
        let e = hd_22_stage_choice_needed(&from, &target);
        assert_eq!(e.codes(), vec![ErrorCode::Required]);
        assert!(e.to_string().contains("hs_pipeline_stage"), "{e}");
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

    fn conversation(ticket: Option<i64>, channel: Channel) -> Conversation {
        Conversation {
            id: crate::model::ConversationId(3),
            channel,
            channel_account: None,
            workspace: crate::model::Workspace::HelpDesk,
            status: crate::model::ConversationStatus::Open,
            owner_id: None,
            team_id: None,
            contact_id: None,
            visitor_name: None,
            visitor_email: Some("visitor@example.com".into()),
            subject: None,
            ticket_id: ticket.map(TicketId),
            created_at: 0,
            updated_at: 0,
            last_message_at: 0,
            closed_at: None,
            trashed_at: None,
            version: 1,
        }
    }

    fn message(id: i64, direction: Direction, sender: Option<&str>) -> Message {
        Message {
            id: MessageId(id),
            conversation_id: crate::model::ConversationId(3),
            direction,
            channel: Channel::Email,
            sender_user_id: None,
            sender_name: None,
            sender_address: sender.map(str::to_string),
            recipients: Default::default(),
            subject: None,
            text: String::new(),
            html: None,
            attachments: Vec::new(),
            message_id_header: None,
            in_reply_to: None,
            references_header: None,
            reply_to_message_id: None,
            status: crate::model::DeliveryStatus::Received,
            status_detail: None,
            created_at: id,
        }
    }

    #[test]
    fn a_reply_posted_twice_is_found_not_sent_again() {
        let mine = |id: i64, text: &str| Message {
            direction: Direction::Outbound,
            sender_user_id: Some(UserId(7)),
            text: text.into(),
            html: Some(format!("<p>{text}</p>")),
            ..message(id, Direction::Outbound, None)
        };
        let thread = vec![
            message(1, Direction::Inbound, Some("c@example.com")),
            mine(2, "Thanks"),
            message(3, Direction::Inbound, Some("c@example.com")),
        ];
        let html = Some("<p>Thanks</p>");
        // The page showed message 1 and posted "Thanks": message 2 is that post.
        assert_eq!(
            repeated_reply(&thread, UserId(7), MessageId(1), "Thanks", html).map(|m| m.id),
            Some(MessageId(2))
        );
        // A page that already showed message 2 sends the same words again on purpose.
        assert!(repeated_reply(&thread, UserId(7), MessageId(3), "Thanks", html).is_none());
        assert!(repeated_reply(&thread, UserId(7), MessageId(2), "Thanks", html).is_none());
        // Other words, another HTML, another agent, or the customer's own message: no repeat.
        assert!(repeated_reply(&thread, UserId(7), MessageId(1), "Thanks!", html).is_none());
        assert!(repeated_reply(&thread, UserId(7), MessageId(1), "Thanks", None).is_none());
        assert!(repeated_reply(&thread, UserId(8), MessageId(1), "Thanks", html).is_none());
        let inbound = vec![Message {
            sender_user_id: Some(UserId(7)),
            text: "Thanks".into(),
            html: html.map(str::to_string),
            ..message(4, Direction::Inbound, None)
        }];
        assert!(repeated_reply(&inbound, UserId(7), MessageId(0), "Thanks", html).is_none());
    }

    #[test]
    fn inb_04_a_conversation_has_at_most_one_ticket() {
        let free = conversation(None, Channel::Email);
        assert!(inb_04_check_attach(&free, None).unwrap());
        assert!(inb_04_check_attach(&free, Some(TicketId(5))).unwrap());
        let taken = conversation(Some(5), Channel::Email);
        assert!(!inb_04_check_attach(&taken, Some(TicketId(5))).unwrap());
        let err = inb_04_check_attach(&taken, Some(TicketId(6))).unwrap_err();
        assert!(err.to_string().starts_with("INB-04"), "{err}");
        assert!(inb_04_check_attach(&taken, None).is_err());
        assert!(inb_04_refuse_dissociation().to_string().contains("INB-04"));
    }

    #[test]
    fn inb_06_the_ticket_follows_the_conversations_owner() {
        let mut t = closed_ticket(1);
        assert_eq!(
            inb_06_ticket_owner_after_conversation_owner(Some(UserId(4)), &t),
            Some(Some(UserId(4)))
        );
        assert_eq!(inb_06_ticket_owner_after_conversation_owner(None, &t), None);
        t.owner_id = Some(UserId(4));
        assert_eq!(
            inb_06_ticket_owner_after_conversation_owner(Some(UserId(4)), &t),
            None
        );
        assert_eq!(
            inb_06_ticket_owner_after_conversation_owner(None, &t),
            Some(None)
        );
    }

    #[test]
    fn inb_13_trash_cascades_both_ways() {
        assert_eq!(
            inb_13_trash_conversation(&conversation(Some(7), Channel::Chat)),
            TrashCascade::Ticket(TicketId(7))
        );
        assert_eq!(
            inb_13_trash_conversation(&conversation(None, Channel::Chat)),
            TrashCascade::ConversationOnly
        );
        let mut t = closed_ticket(1);
        let mut convs = vec![
            conversation(Some(7), Channel::Email),
            conversation(Some(7), Channel::Chat),
            conversation(Some(8), Channel::Chat),
        ];
        inb_13_trash_ticket(&mut t, &mut convs, 42);
        assert_eq!(t.trashed_at, Some(42));
        assert_eq!(convs[0].trashed_at, Some(42));
        assert_eq!(convs[1].trashed_at, Some(42));
        assert_eq!(
            convs[2].trashed_at, None,
            "another ticket's conversation stays"
        );
    }

    #[test]
    fn hd_06_08_help_desk_channels_create_tickets_bots_do_not() {
        assert!(hd_06_08_creates_ticket(
            TicketCreation::Automatic,
            Channel::Email
        ));
        assert!(hd_06_08_creates_ticket(
            TicketCreation::Automatic,
            Channel::Form
        ));
        assert!(!hd_06_08_creates_ticket(
            TicketCreation::Automatic,
            Channel::Bot
        ));
        assert!(!hd_06_08_creates_ticket(
            TicketCreation::None,
            Channel::Email
        ));
    }

    #[test]
    fn hd_19_names_the_missing_required_properties() {
        let required = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            hd_19_missing_required_properties(&required, |n| n == "a"),
            vec!["b"]
        );
        let err = hd_19_check_conditional_stage("Resolved", &required, |n| n == "a").unwrap_err();
        assert!(err.to_string().ends_with("requires properties: b"), "{err}");
        assert!(hd_19_check_conditional_stage("Resolved", &required, |_| true).is_ok());
    }

    #[test]
    fn hd_21_comments_on_call_tickets_open_once_an_email_is_started() {
        assert!(hd_21_comments_open(&[], false));
        assert!(hd_21_comments_open(&[Channel::Email], false));
        assert!(hd_21_comments_open(&[Channel::Call, Channel::Email], false));
        assert!(!hd_21_comments_open(&[Channel::Call], false));
        assert!(hd_21_comments_open(&[Channel::Call], true));
        let err = hd_21_check_comment(&[Channel::Call, Channel::Call], false).unwrap_err();
        assert!(err.to_string().starts_with("HD-21"), "{err}");
    }

    #[test]
    fn hd_14_replies_answer_the_newest_message_and_go_to_the_customer() {
        let msgs = vec![
            message(1, Direction::Inbound, Some("cora@customer.example")),
            message(2, Direction::Outbound, Some("support@us.example")),
        ];
        let c = conversation(None, Channel::Email);
        assert_eq!(hd_14_reply_target(&msgs, None).unwrap().id, MessageId(2));
        assert_eq!(
            hd_14_reply_target(&msgs, Some(MessageId(1))).unwrap().id,
            MessageId(1)
        );
        assert_eq!(
            hd_14_reply_target(&msgs, Some(MessageId(9))).unwrap().id,
            MessageId(2)
        );
        // Answering our own message still goes to the customer's newest address.
        let to = hd_14_default_to(Some(&msgs[1]), Some(&msgs[0]), &c, Some("k@example.com"));
        assert_eq!(to.as_deref(), Some("cora@customer.example"));
        let to = hd_14_default_to(Some(&msgs[1]), None, &c, Some("k@example.com"));
        assert_eq!(to.as_deref(), Some("visitor@example.com"));
        let anonymous = Conversation {
            visitor_email: None,
            ..c
        };
        let to = hd_14_default_to(None, None, &anonymous, Some("k@example.com"));
        assert_eq!(to.as_deref(), Some("k@example.com"));
    }

    #[test]
    fn hd_15_the_address_written_to_then_the_teams_default_from() {
        let team = vec!["a@us.example".to_string(), "b@us.example".to_string()];
        assert_eq!(
            hd_15_default_from(Some("b@us.example"), &team, Some("a@us.example"), None).as_deref(),
            Some("a@us.example")
        );
        assert_eq!(
            hd_15_default_from(Some("b@us.example"), &team, None, None).as_deref(),
            Some("b@us.example")
        );
        assert_eq!(
            hd_15_default_from(None, &team, None, Some("d@us.example")).as_deref(),
            Some("a@us.example")
        );
        assert_eq!(
            hd_15_default_from(None, &[], Some("c@us.example"), Some("d@us.example")).as_deref(),
            Some("c@us.example")
        );
        assert_eq!(
            hd_15_default_from(None, &[], None, Some("d@us.example")).as_deref(),
            Some("d@us.example")
        );
        assert_eq!(hd_15_default_from(None, &[], None, None), None);
    }

    #[test]
    fn hd_10_a_status_names_its_pipeline() {
        let p = support();
        assert_eq!(
            hd_10_pipeline_of_stage(&p, StageId(21)).map(|p| p.0),
            Some(2)
        );
        assert_eq!(
            hd_10_pipeline_of_stage(&p, StageId(11)).map(|p| p.0),
            Some(1)
        );
        assert_eq!(hd_10_pipeline_of_stage(&p, StageId(99)), None);
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
            hd_21_find_mentions("ping @Ann Lee please", &users),
            vec![UserId(1)]
        );
        assert_eq!(hd_21_find_mentions("@anna look", &users), vec![UserId(2)]);
        assert_eq!(hd_21_find_mentions("cc @ann.", &users), vec![UserId(1)]);
        assert!(hd_21_find_mentions("no mention here: ann@example.com", &users).is_empty());
        // Multi-byte text around a mention never splits a character.
        assert_eq!(hd_21_find_mentions("é@ann🙂 ünd", &users), vec![UserId(1)]);
        assert!(hd_21_find_mentions("@annä", &users).is_empty());
    }

    #[test]
    fn inb_11_reopens_only_a_single_conversation() {
        let one = inb_10_11_stage_move_effects(StageState::Closed, StageState::Open, 1, 5);
        assert!(one.reopen_single_conversation);
        assert_eq!(one.closed_date, Some(None));
        let two = inb_10_11_stage_move_effects(StageState::Closed, StageState::Open, 2, 5);
        assert!(!two.reopen_single_conversation);
    }
}
