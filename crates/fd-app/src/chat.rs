//! Live chat (issue 14, item 3): chat channels per team, visitors' messages from the widget,
//! what the widget shows (history, read state), agents' availability, and HubSpot's visitor
//! identification tokens.
//!
//! A visitor is not an [`Actor`]: they hold an unguessable token (only its SHA-256 is stored)
//! that reaches exactly one conversation, the one their first message started. Their messages
//! go through the conversation use cases (`create_conversation_in`, `record_inbound_in`), so
//! HD-06 tickets, INB-11 reopening and every ticket rule hold as for any channel. How an
//! agent's reply reaches the visitor is decided in `conversations.rs` by fd-domain's
//! `chat::hd_15_chat_delivery`.
//!
//! Depends on conversations and CRM rows; must not depend on HTTP or HTML.

use fd_domain::chat::{self as rules, VISITOR_TOKEN_TTL_MS};
use fd_domain::entities::AdminObject;
use std::net::IpAddr;

use fd_domain::*;
use fd_store::{ChatChannel, ChatSession, Contact, Message, Tx};
use rand::Rng;

use crate::conversations::{InboundMessage, NewConversation};
use crate::passwords::sha256_hex;
use crate::{Actor, App, AppError, Event, NewContact};

/// An unguessable token: 32 characters of a 62-letter alphabet (about 190 bits).
fn new_token(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    let body: String = (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

/// At most this many addresses are remembered for new chats.
pub(crate) const CHAT_CLIENTS_MAX: usize = 100_000;

/// What a visitor sends: a message, and optionally who they are.
#[derive(Debug, Clone, Default)]
pub struct VisitorMessage {
    pub text: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// HubSpot's `identificationEmail` and `identificationToken` from the page's settings.
    pub identification: Option<(String, String)>,
}

/// What the widget shows.
#[derive(Debug, Clone)]
pub struct ChatView {
    pub channel: ChatChannel,
    /// Someone of the channel's team is available (else the widget asks for an address).
    pub available: bool,
    /// The visitor's conversation, once their first message started it.
    pub conversation: Option<ConversationId>,
    pub messages: Vec<Message>,
    /// Replies go by email (the visitor left an address while nobody was available).
    pub by_email: bool,
    /// The latest time an agent opened the conversation.
    pub agent_read_at: Option<Millis>,
    pub visitor_seen: Option<MessageId>,
    /// A bot answers (a new visitor on a channel with an enabled bot, or a bot conversation
    /// not handed off yet): the widget does not ask for an address when nobody is available.
    pub bot: bool,
    /// The bot's question waiting for an answer offers these quick replies.
    pub quick_replies: Vec<String>,
}

/// The answer to a visitor's message.
#[derive(Debug, Clone)]
pub struct VisitorSent {
    /// The visitor's token: new when this message started the conversation.
    pub token: String,
    pub conversation: ConversationId,
    pub message: MessageId,
}

async fn live_channel(tx: &mut Tx, id: i64) -> Result<ChatChannel, AppError> {
    tx.chat_channel(id)
        .await?
        .filter(|c| c.archived_at.is_none())
        .ok_or_else(|| AppError::not_found("chat channel", id))
}

/// The session of `token` on `channel`; an unknown token is "not found" (never whose it is).
async fn session(tx: &mut Tx, channel: i64, token: &str) -> Result<ChatSession, AppError> {
    tx.chat_session_by_token(channel, &sha256_hex(token.trim()))
        .await?
        .ok_or_else(|| AppError::not_found("chat visitor", "(token)"))
}

fn clean_email(e: Option<&str>) -> Result<Option<String>, AppError> {
    match e.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Ok(Some(EmailAddress::parse(e)?.as_str().to_string())),
        None => Ok(None),
    }
}

impl App {
    /// Whether `client` may start one more chat now (a first message without a token);
    /// `Err(ms)` says how long until it may. Takes from the client's budget.
    pub fn take_chat_start(&self, client: IpAddr) -> Result<(), i64> {
        self.chat_starts.take(client, self.now())
    }

    /// A chat channel for a team (admins): its conversations open in `workspace`, with a
    /// ticket each in the help desk (HD-06).
    pub async fn create_chat_channel(
        &self,
        actor: &Actor,
        name: &str,
        team: TeamId,
        workspace: Workspace,
    ) -> Result<ChatChannel, AppError> {
        actor.require_admin("creating chat channels")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::invalid_as(
                "name",
                ErrorCode::Required,
                "a chat channel needs a name of at most 200 characters",
            ));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        if tx.team(team).await?.is_none() {
            return Err(AppError::not_found("team", team));
        }
        let id = tx.insert_chat_channel(name, team, workspace, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            team.0,
            "chat_channel_created",
            Some("chat_channel"),
            Some(format!("{id} {name}")),
        )
        .await?;
        let ch = live_channel(&mut tx, id).await?;
        tx.commit().await?;
        Ok(ch)
    }

    /// The team named `team` (or with that id), for the CLI's `--team`.
    pub async fn team_by_name_or_id(&self, team: &str) -> Result<TeamId, AppError> {
        let mut tx = self.db().read().await?;
        let by_name = tx.team_by_name(team.trim()).await?;
        let t = match by_name {
            Some(t) => Some(t),
            None => match text::parse_id(team.trim()) {
                Some(n) => tx.team(TeamId(n)).await?,
                None => None,
            },
        };
        tx.commit().await?;
        t.map(|t| t.id)
            .ok_or_else(|| AppError::not_found("team", team.trim()))
    }

    pub async fn chat_channels(&self) -> Result<Vec<ChatChannel>, AppError> {
        let mut tx = self.db().read().await?;
        let list = tx.chat_channels().await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Archives a chat channel (admins): its widget stops taking messages.
    pub async fn archive_chat_channel(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        actor.require_admin("archiving chat channels")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let ch = live_channel(&mut tx, id).await?;
        tx.archive_chat_channel(id, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "chat_channel_archived",
            Some("chat_channel"),
            Some(id.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What the widget of `token` shows (no token: a new visitor, nothing yet).
    pub async fn chat_view(&self, channel: i64, token: Option<&str>) -> Result<ChatView, AppError> {
        let mut tx = self.db().read().await?;
        let ch = live_channel(&mut tx, channel).await?;
        let available = rules::chat_answered_live(tx.available_team_members(ch.team_id).await?);
        let mut view = ChatView {
            channel: ch,
            available,
            conversation: None,
            messages: Vec::new(),
            by_email: false,
            agent_read_at: None,
            visitor_seen: None,
            bot: false,
            quick_replies: Vec::new(),
        };
        view.bot = tx.enabled_bot(channel).await?.is_some();
        if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
            let s = session(&mut tx, channel, token).await?;
            view.by_email = s.by_email;
            view.visitor_seen = s.visitor_seen_message_id;
            if let Some(c) = s.conversation_id {
                view.conversation = Some(c);
                // The visitor's own conversation: the token is their access to it.
                view.messages = tx.messages(&ViewerScope::All, c).await?.unwrap_or_default();
                view.agent_read_at = tx.conversation_last_read_by_agents(c).await?;
                view.bot = tx
                    .conversation(&ViewerScope::All, c)
                    .await?
                    .is_some_and(|c| c.channel == Channel::Bot);
                if view.bot {
                    view.quick_replies = self.bot_quick_replies(&mut tx, c).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(view)
    }

    /// The conversation a visitor's token reaches (for the widget's live stream).
    pub async fn chat_conversation_of(
        &self,
        channel: i64,
        token: &str,
    ) -> Result<Option<ConversationId>, AppError> {
        let mut tx = self.db().read().await?;
        live_channel(&mut tx, channel).await?;
        let s = session(&mut tx, channel, token).await?;
        tx.commit().await?;
        Ok(s.conversation_id)
    }

    /// A visitor's message. Without a token it starts a CHAT conversation on the channel's
    /// team (with its ticket when the channel is connected to the help desk, HD-06) and
    /// returns the visitor's new token; with one it joins their conversation (INB-11 reopens
    /// it when closed). With nobody available the visitor must leave an email address, and
    /// the conversation continues by email. An identification token from the page makes the
    /// conversation its contact's; a name or address given is kept for HD-18.
    pub async fn chat_visitor_message(
        &self,
        channel: i64,
        token: Option<&str>,
        input: VisitorMessage,
    ) -> Result<VisitorSent, AppError> {
        let text = rules::visitor_text(&input.text)?;
        let name = rules::visitor_name(input.name.as_deref())?;
        let email = clean_email(input.email.as_deref())?;
        let now = self.now();
        let system = Actor::system();
        let mut tx = self.db().write().await?;
        let ch = live_channel(&mut tx, channel).await?;
        // HD-08: with a bot enabled, new chats talk to the bot (`bots.rs`).
        let bot = tx.enabled_bot(ch.id).await?;
        let contact = match &input.identification {
            Some((e, t)) => Some(identified_contact(&mut tx, e, t, now).await?),
            None => None,
        };
        let message = |name: Option<String>, email: Option<String>| InboundMessage {
            sender_name: name,
            sender_address: email,
            text: text.clone(),
            ..InboundMessage::default()
        };
        let existing = match token.filter(|t| !t.trim().is_empty()) {
            Some(t) => Some((t.trim().to_string(), session(&mut tx, channel, t).await?)),
            None => None,
        };
        let (token, conversation, mid, mut events) = match existing {
            Some((token, s)) => {
                let Some(cid) = s.conversation_id else {
                    return Err(AppError::Internal(
                        "a chat session without conversation".into(),
                    ));
                };
                if name.is_some() || email.is_some() {
                    self.set_visitor_details(&mut tx, cid, &name, &email, now)
                        .await?;
                }
                let c = tx
                    .conversation(&ViewerScope::All, cid)
                    .await?
                    .ok_or_else(|| AppError::not_found("conversation", cid))?;
                let (mid, c, mut events) = self
                    .record_inbound_in(
                        &mut tx,
                        &system,
                        cid,
                        message(c.visitor_name.clone(), c.visitor_email.clone()),
                        true,
                        now,
                    )
                    .await?;
                // Not handed off yet: the bot answers, in this transaction.
                if c.channel == Channel::Bot {
                    events.extend(self.run_bot_in(&mut tx, &ch, bot, c.id, &text, now).await?);
                }
                (token, c.id, mid, events)
            }
            None => {
                let live = rules::chat_answered_live(tx.available_team_members(ch.team_id).await?);
                let known_email = email
                    .clone()
                    .or(contact.as_ref().and_then(|k| k.email.clone()));
                // A bot answers whoever is available; it asks for an address itself if its
                // steps want one.
                if bot.is_none() && !live && known_email.is_none() {
                    return Err(AppError::invalid_as(
                        "email",
                        ErrorCode::Required,
                        "nobody is available right now: leave your email address and we will answer by email",
                    ));
                }
                let (c, _ticket, mid) = self
                    .create_conversation_in(
                        &mut tx,
                        &system,
                        NewConversation {
                            // HD-08: a bot conversation is a BOT conversation, which
                            // `hd_06_08_creates_ticket` never gives a ticket; without a
                            // ticket it lives in the inbox (its `create_ticket` step moves
                            // it to the help desk as a ticket made by hand does), and it has
                            // no team until the bot hands it to one.
                            channel: if bot.is_some() {
                                Channel::Bot
                            } else {
                                Channel::Chat
                            },
                            channel_account: Some(ch.id.to_string()),
                            workspace: if bot.is_some() {
                                Workspace::Inbox
                            } else {
                                ch.workspace
                            },
                            team: if bot.is_some() {
                                None
                            } else {
                                Some(ch.team_id)
                            },
                            owner: None,
                            contact: contact.as_ref().map(|k| k.id),
                            visitor_name: name.clone(),
                            visitor_email: known_email.clone(),
                            subject: Some(subject_of(&text)),
                            ticket: match ch.workspace {
                                Workspace::HelpDesk => fd_domain::rules::TicketCreation::Automatic,
                                Workspace::Inbox => fd_domain::rules::TicketCreation::None,
                            },
                        },
                        Some(message(name.clone(), known_email.clone())),
                        now,
                    )
                    .await?;
                let mid =
                    mid.ok_or_else(|| AppError::Internal("the first message vanished".into()))?;
                let token = new_token("fdv_");
                let by_email = bot.is_none() && !live;
                tx.insert_chat_session(ch.id, &sha256_hex(&token), c.id, by_email, now)
                    .await?;
                let mut events = vec![Event::ConversationChanged(c.id)];
                if let Some(t) = c.ticket_id {
                    events.push(Event::TicketChanged(t));
                }
                if c.channel == Channel::Bot {
                    events.extend(self.run_bot_in(&mut tx, &ch, bot, c.id, &text, now).await?);
                }
                (token, c.id, mid, events)
            }
        };
        tx.commit().await?;
        let ticket = self
            .conversation(&system, conversation)
            .await
            .ok()
            .and_then(|c| c.ticket_id);
        events.push(Event::MessageAdded {
            conversation,
            ticket,
        });
        self.publish(events);
        Ok(VisitorSent {
            token,
            conversation,
            message: mid,
        })
    }

    /// HD-18: an unknown visitor gives a name or an email address in the chat; the agent then
    /// associates them with a contact (`associate_visitor_with_contact`). With nobody
    /// available, an address also moves the conversation to email.
    pub async fn chat_visitor_details(
        &self,
        channel: i64,
        token: &str,
        name: Option<&str>,
        email: Option<&str>,
    ) -> Result<(), AppError> {
        let name = rules::visitor_name(name)?;
        let email = clean_email(email)?;
        if name.is_none() && email.is_none() {
            return Err(AppError::invalid_as(
                "email",
                ErrorCode::Required,
                "give a name or an email address",
            ));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let ch = live_channel(&mut tx, channel).await?;
        let s = session(&mut tx, channel, token).await?;
        let cid = s
            .conversation_id
            .ok_or_else(|| AppError::Internal("a chat session without conversation".into()))?;
        self.set_visitor_details(&mut tx, cid, &name, &email, now)
            .await?;
        if email.is_some()
            && !s.by_email
            && !rules::chat_answered_live(tx.available_team_members(ch.team_id).await?)
        {
            tx.set_chat_session_by_email(s.id, true).await?;
        }
        tx.commit().await?;
        self.publish(vec![Event::ConversationChanged(cid)]);
        Ok(())
    }

    pub(crate) async fn set_visitor_details(
        &self,
        tx: &mut Tx,
        cid: ConversationId,
        name: &Option<String>,
        email: &Option<String>,
        now: i64,
    ) -> Result<bool, AppError> {
        let system = Actor::system();
        tx.lock_ticket_of_conversation(cid).await?;
        let Some(mut c) = tx.conversation_for_update(&system.scope(), cid).await? else {
            return Err(AppError::not_found("conversation", cid));
        };
        let mut changed = false;
        if let Some(n) = name
            && c.visitor_name.as_ref() != Some(n)
        {
            c.visitor_name = Some(n.clone());
            changed = true;
        }
        if let Some(e) = email
            && c.visitor_email.as_ref() != Some(e)
        {
            c.visitor_email = Some(e.clone());
            changed = true;
        }
        if changed {
            c.updated_at = now;
            if !tx.save_conversation(&c).await? {
                return Err(AppError::Conflict(format!(
                    "conversation {cid} was changed by someone else; try again"
                )));
            }
        }
        Ok(changed)
    }

    /// The visitor's widget has shown messages up to `message` (the agent's "seen").
    pub async fn chat_visitor_seen(
        &self,
        channel: i64,
        token: &str,
        message: MessageId,
    ) -> Result<(), AppError> {
        let mut tx = self.db().write().await?;
        live_channel(&mut tx, channel).await?;
        let s = session(&mut tx, channel, token).await?;
        let Some(cid) = s.conversation_id else {
            return Ok(());
        };
        let belongs = tx
            .message(&ViewerScope::All, message)
            .await?
            .is_some_and(|m| m.conversation_id == cid);
        if !belongs {
            return Err(AppError::not_found("message", message));
        }
        let moved = tx.set_chat_visitor_seen(s.id, message).await?;
        tx.commit().await?;
        if moved {
            self.publish(vec![Event::ConversationChanged(cid)]);
        }
        Ok(())
    }

    /// The chat session of a conversation, for the agent's screen (the visitor's read state).
    pub async fn chat_session_of(
        &self,
        actor: &Actor,
        conversation: ConversationId,
    ) -> Result<Option<ChatSession>, AppError> {
        // Readable only with the conversation itself (HD-09).
        self.conversation(actor, conversation).await?;
        let mut tx = self.db().read().await?;
        let s = tx.chat_session_of_conversation(conversation).await?;
        tx.commit().await?;
        Ok(s)
    }

    /// An agent sets themselves available or away (HubSpot's `hs_availability_status`).
    pub async fn set_availability(&self, actor: &Actor, available: bool) -> Result<(), AppError> {
        let user = actor.require_user()?;
        self.set_user_availability(actor, user, available).await
    }

    /// Sets a user available or away: the one road of the top bar's toggle, the users
    /// object's PATCH and `admin set-availability`. Whether a chat finds anyone available
    /// reads what this writes.
    pub async fn set_user_availability(
        &self,
        actor: &Actor,
        user: UserId,
        available: bool,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        set_user_availability_in(&mut tx, actor, user, available, now).await?;
        // Someone else's availability is an administrator's change, recorded as such.
        if actor.user_id() != Some(user) {
            self.audit(
                &mut tx,
                actor,
                AdminObject::User,
                user.0,
                "user_property_changed",
                Some(fd_domain::users::AVAILABILITY),
                Some(fd_domain::users::availability_text(available).to_string()),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether a user is available (no choice made yet: away).
    pub async fn availability(&self, user: UserId) -> Result<bool, AppError> {
        let mut tx = self.db().read().await?;
        let a = tx.user_available(user).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// HubSpot's `POST /visitor-identification/v3/tokens/create`: a token (12 hours) for a
    /// page to pass to the widget; the contact is found by email or created (names only fill
    /// a new contact).
    pub async fn create_visitor_token(
        &self,
        actor: &Actor,
        email: &str,
        first_name: Option<&str>,
        last_name: Option<&str>,
    ) -> Result<String, AppError> {
        actor.require_user()?;
        let email = EmailAddress::parse(email.trim())?.as_str().to_string();
        let now = self.now();
        let mut tx = self.db().write().await?;
        let contact = match tx.contact_by_email(&email).await? {
            Some(k) => k,
            None => {
                let mut k = crate::crm::contact_row(
                    NewContact {
                        email: Some(email.clone()),
                        firstname: first_name.map(str::to_string),
                        lastname: last_name.map(str::to_string),
                        ..NewContact::default()
                    },
                    now,
                )?;
                crate::crm::insert_contact_in(&mut tx, actor, &mut k, now).await?;
                k
            }
        };
        let token = new_token("fdi_");
        tx.insert_visitor_token(
            &sha256_hex(&token),
            contact.id,
            &email,
            now,
            now + VISITOR_TOKEN_TTL_MS,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}

/// The contact an identification token names; refused when it is unknown, expired or made
/// for another address.
async fn identified_contact(
    tx: &mut Tx,
    email: &str,
    token: &str,
    now: i64,
) -> Result<Contact, AppError> {
    let refused = || {
        AppError::invalid(
            "identificationToken",
            "the visitor identification token is unknown, expired or for another address",
        )
    };
    let t = tx
        .visitor_token(&sha256_hex(token.trim()))
        .await?
        .ok_or_else(refused)?;
    if !rules::visitor_token_holds(&t.email, t.expires_at, email, now) {
        return Err(refused());
    }
    tx.contact(t.contact_id)
        .await?
        .filter(|k| k.archived_at.is_none())
        .ok_or_else(refused)
}

/// A conversation's subject from the visitor's first words.
fn subject_of(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or("").trim();
    let mut s: String = first_line.chars().take(80).collect();
    if first_line.chars().count() > 80 {
        s.push('…');
    }
    if s.is_empty() { "Chat".into() } else { s }
}

/// [`App::set_user_availability`] inside a larger transaction (a users-object PATCH that
/// changes other properties too): yourself, or anyone as an administrator; active users only.
pub(crate) async fn set_user_availability_in(
    tx: &mut Tx,
    actor: &Actor,
    user: UserId,
    available: bool,
    now: Millis,
) -> Result<(), AppError> {
    actor.require_self_or_admin(user, "setting the availability")?;
    match tx.user(user).await? {
        Some(u) if u.active => {}
        _ => return Err(AppError::not_found("user", user)),
    }
    tx.set_user_availability(user, available, now).await?;
    Ok(())
}
