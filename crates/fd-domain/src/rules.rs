//! The ticket and conversation rules of SPEC.md that can be decided without storage.
//! The application layer asks these functions what must happen and then does it, in one
//! transaction, so every road (UI, API, mail, automation) gets the same answer.

use crate::error::{DomainError, ErrorCode};
use crate::model::{StageState, UserId};

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
mod tests {
    use super::*;

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
