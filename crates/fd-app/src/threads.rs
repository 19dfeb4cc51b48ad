//! Reads behind HubSpot's Conversations v3 API: inboxes (the two workspaces), channels,
//! channel accounts (the teams' connected addresses and one account per other channel),
//! threads with their filters, a thread's messages and comments, and actors. Writes go
//! through the conversation use cases (close/reopen, trash/restore, replies, comments).

use fd_domain::*;
use fd_store::{Comment, Contact, Conversation, Message, ThreadQuery, User};

use crate::{Actor, App, AppError};

/// A channel account: where conversations of a channel arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAccount {
    /// Digit string: a team address's id, or for non-email channels the channel's id.
    pub id: String,
    pub channel: Channel,
    pub workspace: Workspace,
    pub name: String,
    /// The email address of an email account.
    pub address: Option<String>,
    pub created_at: Millis,
}

/// Calling channels' account ids start here, so they never meet an email account's id (the
/// teams' addresses are numbered from 1 in their own table).
pub const CALLING_ACCOUNT_BASE: i64 = 1_000_000_000;
/// Chat channels' account ids start here (a chat channel's id added), past the calling ones.
pub const CHAT_ACCOUNT_BASE: i64 = 2_000_000_000;

/// HubSpot's channel ids. Live chat is 1000 in real traffic; Frontdesk numbers the others.
pub fn channel_id(c: Channel) -> i64 {
    match c {
        Channel::Chat => 1000,
        Channel::Messenger => 1001,
        Channel::Email => 1002,
        Channel::Form => 1003,
        Channel::Bot => 1004,
        Channel::Call => 1005,
        Channel::Whatsapp => 1007,
    }
}

pub fn channel_by_id(id: i64) -> Option<Channel> {
    Channel::ALL.iter().copied().find(|c| channel_id(*c) == id)
}

pub fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Chat => "Live chat",
        Channel::Messenger => "Facebook Messenger",
        Channel::Email => "Email",
        Channel::Form => "Forms",
        Channel::Bot => "Chatbot",
        Channel::Call => "Calling",
        Channel::Whatsapp => "WhatsApp",
    }
}

/// The inboxes are the two workspaces: 1 the conversations inbox, 2 the help desk.
pub fn inbox_id(w: Workspace) -> i64 {
    match w {
        Workspace::Inbox => 1,
        Workspace::HelpDesk => 2,
    }
}

pub fn inbox_by_id(id: i64) -> Option<Workspace> {
    match id {
        1 => Some(Workspace::Inbox),
        2 => Some(Workspace::HelpDesk),
        _ => None,
    }
}

/// Everything shown about one thread's messages: messages and comments, oldest first.
#[derive(Debug, Clone)]
pub enum ThreadItem {
    Message(Box<Message>),
    Comment(Comment),
}

impl ThreadItem {
    pub fn created_at(&self) -> Millis {
        match self {
            ThreadItem::Message(m) => m.created_at,
            ThreadItem::Comment(c) => c.created_at,
        }
    }
}

impl App {
    /// When the installation began (its first user): the inboxes' creation time.
    pub async fn installed_at(&self) -> Result<Millis, AppError> {
        Ok(self
            .users()
            .await?
            .iter()
            .map(|u| u.created_at)
            .min()
            .unwrap_or(0))
    }

    /// Channel accounts that exist: every connected team address and every calling channel
    /// (numbered from [`CALLING_ACCOUNT_BASE`]). Channels nothing is connected to have none.
    pub async fn channel_accounts(&self) -> Result<Vec<ChannelAccount>, AppError> {
        let mut tx = self.db().read().await?;
        let addresses = tx.all_team_addresses().await?;
        let phones = tx.calling_channels().await?;
        let chats = tx.chat_channels().await?;
        tx.commit().await?;
        let mut out: Vec<ChannelAccount> = addresses
            .into_iter()
            .map(|a| ChannelAccount {
                id: a.id.to_string(),
                channel: Channel::Email,
                workspace: a.workspace,
                name: a.address.clone(),
                address: Some(a.address),
                created_at: a.created_at,
            })
            .collect();
        out.extend(phones.into_iter().map(|p| ChannelAccount {
            id: (CALLING_ACCOUNT_BASE + p.id).to_string(),
            channel: Channel::Call,
            workspace: p.workspace,
            name: p.number.clone(),
            address: Some(p.number),
            created_at: p.created_at,
        }));
        out.extend(
            chats
                .into_iter()
                .filter(|ch| ch.archived_at.is_none())
                .map(|ch| ChannelAccount {
                    id: (CHAT_ACCOUNT_BASE + ch.id).to_string(),
                    channel: Channel::Chat,
                    workspace: ch.workspace,
                    name: ch.name,
                    address: None,
                    created_at: ch.created_at,
                }),
        );
        Ok(out)
    }

    /// The channels that have at least one account, in HubSpot's id order.
    pub async fn channels_in_use(&self) -> Result<Vec<Channel>, AppError> {
        let accounts = self.channel_accounts().await?;
        let mut out: Vec<Channel> = Channel::ALL
            .iter()
            .copied()
            .filter(|c| accounts.iter().any(|a| a.channel == *c))
            .collect();
        out.sort_by_key(|c| channel_id(*c));
        Ok(out)
    }

    /// The channel account a conversation arrived on: its email address's or calling
    /// number's account (`"0"` when that is no longer connected), else the channel's id.
    pub fn channel_account_of(accounts: &[ChannelAccount], c: &Conversation) -> String {
        if matches!(c.channel, Channel::Email | Channel::Call) {
            c.channel_account
                .as_deref()
                .and_then(|addr| {
                    accounts.iter().find(|a| {
                        a.channel == c.channel
                            && a.address
                                .as_deref()
                                .is_some_and(|x| x.eq_ignore_ascii_case(addr))
                    })
                })
                .map(|a| a.id.clone())
                .unwrap_or_else(|| "0".into())
        } else if c.channel == Channel::Chat {
            // A chat conversation's `channel_account` is its chat channel's id.
            c.channel_account
                .as_deref()
                .and_then(|id| id.parse::<i64>().ok())
                .map(|id| (CHAT_ACCOUNT_BASE + id).to_string())
                .filter(|id| accounts.iter().any(|a| a.id == *id))
                .unwrap_or_else(|| "0".into())
        } else {
            channel_id(c.channel).to_string()
        }
    }

    /// Threads as the conversations API lists them, scoped by the actor's access (HD-09).
    pub async fn threads(
        &self,
        actor: &Actor,
        q: &ThreadQuery,
    ) -> Result<Vec<Conversation>, AppError> {
        let mut tx = self.db().read().await?;
        let out = tx.list_threads(&actor.scope(), q).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A thread the actor may see; trashed ones only with `archived`.
    pub async fn thread(
        &self,
        actor: &Actor,
        id: ConversationId,
        archived: bool,
    ) -> Result<Conversation, AppError> {
        let c = self.conversation(actor, id).await?;
        if c.trashed_at.is_some() != archived {
            return Err(AppError::not_found("thread", id));
        }
        Ok(c)
    }

    /// A thread's messages and comments, oldest first.
    pub async fn thread_items(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Vec<ThreadItem>, AppError> {
        let mut tx = self.db().read().await?;
        let scope = actor.scope();
        let mut items: Vec<ThreadItem> = tx
            .messages(&scope, id)
            .await?
            .ok_or_else(|| AppError::not_found("thread", id))?
            .into_iter()
            .map(|m| ThreadItem::Message(Box::new(m)))
            .collect();
        items.extend(
            tx.comments_of_conversation(&scope, id)
                .await?
                .into_iter()
                .map(ThreadItem::Comment),
        );
        tx.commit().await?;
        items.sort_by_key(|i| i.created_at());
        Ok(items)
    }

    /// A user as an actor of the conversations API (`A-<id>`).
    pub async fn user_actor(&self, id: UserId) -> Result<User, AppError> {
        let mut tx = self.db().read().await?;
        let u = tx.user(id).await?;
        tx.commit().await?;
        u.ok_or_else(|| AppError::not_found("actor", format!("A-{id}")))
    }

    /// A contact as a visitor actor (`V-<id>`), archived ones included: old threads name them.
    pub async fn contact_actor(&self, id: ContactId) -> Result<Contact, AppError> {
        let mut tx = self.db().read().await?;
        let c = tx.contact(id).await?;
        tx.commit().await?;
        c.ok_or_else(|| AppError::not_found("actor", format!("V-{id}")))
    }
}
