use fd_domain::{ActorRef, UserId, Viewer, ViewerScope};

use crate::{App, AppError};

/// Who performs a use case, with their permissions resolved once per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub viewer: Viewer,
    /// Set when an automation rule acts: the chain of rules that led here (loop protection,
    /// fd-domain's `automation::Chain`). `None` for people, tokens and the system itself.
    pub automation: Option<fd_domain::automation::Chain>,
}

impl Actor {
    /// The system itself: mail ingestion, jobs, the admin CLI.
    pub fn system() -> Actor {
        Actor {
            viewer: Viewer::System,
            automation: None,
        }
    }

    pub fn actor_ref(&self) -> ActorRef {
        match self.viewer.user_id() {
            Some(id) => ActorRef::User(id),
            None => ActorRef::System,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        self.viewer.user_id()
    }

    pub fn scope(&self) -> ViewerScope {
        self.viewer.ticket_scope()
    }

    /// HD-05: refuses users without Service or Sales access.
    pub(crate) fn require_ticket_access(&self) -> Result<(), AppError> {
        if self.viewer.can_use_tickets() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "viewing, editing and replying to tickets requires Service or Sales access (HD-05)"
                    .into(),
            ))
        }
    }

    pub(crate) fn require_admin(&self, what: &str) -> Result<(), AppError> {
        if self.viewer.is_account_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "{what} requires Super Admin or Account Access"
            )))
        }
    }

    /// A user may change their own availability and profile; changing another user's is an
    /// administrator's (HubSpot's "Availability Management" is an admin permission).
    pub(crate) fn require_self_or_admin(&self, user: UserId, what: &str) -> Result<(), AppError> {
        if self.user_id() == Some(user) {
            Ok(())
        } else {
            self.require_admin(&format!("{what} of another user"))
        }
    }

    pub(crate) fn require_user(&self) -> Result<UserId, AppError> {
        self.user_id()
            .ok_or_else(|| AppError::Forbidden("this action needs a signed-in user".into()))
    }
}

impl App {
    /// Resolves an active user into an actor (their role, teams and access).
    pub async fn actor_for(&self, id: UserId) -> Result<Actor, AppError> {
        let mut tx = self.db().read().await?;
        let user = tx.user(id).await?;
        tx.commit().await?;
        match user {
            Some(u) if u.active => Ok(Actor {
                viewer: u.viewer(),
                automation: None,
            }),
            _ => Err(AppError::Unauthenticated),
        }
    }
}
