//! Rule-based chat bots (issue 14 item 4, HD-08): admins build, import, export, enable and
//! delete a chat channel's bots; the runtime answers a bot conversation's visitor messages.
//!
//! What a definition means and what the bot says next is fd-domain's `bots` (validation and
//! the pure runner); this module stores it and performs the runner's actions inside the
//! transaction of the visitor's message (`chat::chat_visitor_message`): the bot's messages
//! become outbound messages of the conversation (sent: the widget reads them live), a
//! collected name or address goes where HD-18's chat path keeps it (`set_visitor_details`),
//! `create_ticket` goes through the hand-made ticket use case
//! (`create_ticket_from_conversation_in`) and `hand_off` turns the conversation into a live
//! chat of the team. A bot conversation is a `Channel::Bot` conversation, so it creates no
//! ticket by itself (HD-08, `rules::hd_06_08_creates_ticket`).
//!
//! Depends on conversations, tickets and chat rows; must not depend on HTTP or HTML.

use std::collections::BTreeMap;

use fd_domain::bots::{self as rules, BotDefinition, BotOutput, BotState};
use fd_domain::entities::{AdminObject, Recipients};
use fd_domain::*;
use fd_store::{BotRow, ChatChannel, NewMessage, Tx};

use crate::activity::conv_change;
use crate::{Actor, App, AppError, Event};

/// A chat channel's bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    pub id: i64,
    pub chat_channel_id: i64,
    pub name: String,
    pub definition: BotDefinition,
    pub enabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

fn bot_of(row: BotRow) -> Result<Bot, AppError> {
    let definition = serde_json::from_str(&row.definition).map_err(|e| {
        AppError::Internal(format!("bot {} has an unreadable definition: {e}", row.id))
    })?;
    Ok(Bot {
        id: row.id,
        chat_channel_id: row.chat_channel_id,
        name: row.name,
        definition,
        enabled: row.enabled,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A bot's JSON (import): the definition, optionally with its `name`. A text that is not
/// such JSON is refused with serde's reason (line and column).
pub fn parse_bot_json(json: &str) -> Result<(Option<String>, BotDefinition), AppError> {
    let refused = |e: serde_json::Error| {
        AppError::invalid_as(
            "definition",
            ErrorCode::InvalidValue,
            format!("the bot's JSON cannot be read: {e}"),
        )
    };
    let mut v: serde_json::Value = serde_json::from_str(json).map_err(refused)?;
    let name = match v.as_object_mut() {
        Some(o) => match o.remove("name") {
            Some(serde_json::Value::String(n)) => Some(n),
            Some(serde_json::Value::Null) | None => None,
            Some(_) => {
                return Err(AppError::invalid(
                    "definition",
                    "the bot's JSON: `name` must be a string",
                ));
            }
        },
        None => {
            return Err(AppError::invalid(
                "definition",
                "the bot's JSON must be an object with `steps`",
            ));
        }
    };
    let def = serde_json::from_value(v).map_err(refused)?;
    Ok((name, def))
}

/// A bot's JSON (export), which [`parse_bot_json`] reads back.
pub fn bot_json(bot: &Bot) -> Result<String, AppError> {
    let mut v = serde_json::to_value(&bot.definition)
        .map_err(|e| AppError::Internal(format!("bot {}: {e}", bot.id)))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("name".into(), serde_json::Value::String(bot.name.clone()));
    }
    serde_json::to_string_pretty(&v).map_err(|e| AppError::Internal(format!("bot {}: {e}", bot.id)))
}

fn definition_json(def: &BotDefinition) -> Result<String, AppError> {
    serde_json::to_string(def).map_err(|e| AppError::Internal(format!("bot definition: {e}")))
}

async fn live_channel(tx: &mut Tx, id: i64) -> Result<ChatChannel, AppError> {
    tx.chat_channel(id)
        .await?
        .filter(|c| c.archived_at.is_none())
        .ok_or_else(|| AppError::not_found("chat channel", id))
}

/// A definition checked against the teams that exist now.
async fn checked(tx: &mut Tx, def: &BotDefinition) -> Result<(), AppError> {
    let teams: Vec<TeamId> = tx.teams().await?.into_iter().map(|t| t.id).collect();
    rules::validate(def, &teams)?;
    Ok(())
}

async fn bot_row(tx: &mut Tx, id: i64) -> Result<BotRow, AppError> {
    tx.bot(id)
        .await?
        .ok_or_else(|| AppError::not_found("bot", id))
}

impl App {
    /// A chat channel's bots (admins).
    pub async fn bots(&self, actor: &Actor, channel: i64) -> Result<Vec<Bot>, AppError> {
        actor.require_admin("managing bots")?;
        let mut tx = self.db().read().await?;
        live_channel(&mut tx, channel).await?;
        let rows = tx.bots_of_channel(channel).await?;
        tx.commit().await?;
        rows.into_iter().map(bot_of).collect()
    }

    pub async fn bot(&self, actor: &Actor, id: i64) -> Result<Bot, AppError> {
        actor.require_admin("managing bots")?;
        let mut tx = self.db().read().await?;
        let row = bot_row(&mut tx, id).await?;
        tx.commit().await?;
        bot_of(row)
    }

    /// A new bot on a chat channel (admins), disabled until enabled. An invalid definition
    /// is refused with every reason and stores nothing.
    pub async fn create_bot(
        &self,
        actor: &Actor,
        channel: i64,
        name: &str,
        definition: &BotDefinition,
    ) -> Result<Bot, AppError> {
        actor.require_admin("managing bots")?;
        let name = rules::bot_name(name)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let ch = live_channel(&mut tx, channel).await?;
        checked(&mut tx, definition).await?;
        let id = tx
            .insert_bot(ch.id, &name, &definition_json(definition)?, now)
            .await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "bot_created",
            Some("bot"),
            Some(format!("{id} {name}")),
        )
        .await?;
        let row = bot_row(&mut tx, id).await?;
        tx.commit().await?;
        bot_of(row)
    }

    /// A bot from its JSON (see `fd_domain::bots`); `name` overrides the JSON's. A text that
    /// is not a valid bot is refused with the reason and stores nothing.
    pub async fn import_bot(
        &self,
        actor: &Actor,
        channel: i64,
        name: Option<&str>,
        json: &str,
    ) -> Result<Bot, AppError> {
        actor.require_admin("managing bots")?;
        let (json_name, def) = parse_bot_json(json)?;
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .or(json_name)
            .unwrap_or_default();
        self.create_bot(actor, channel, &name, &def).await
    }

    /// Replaces a bot's name and steps (admins). Conversations waiting at a step that no
    /// longer exists start again at the visitor's next message.
    pub async fn update_bot(
        &self,
        actor: &Actor,
        id: i64,
        name: &str,
        definition: &BotDefinition,
    ) -> Result<Bot, AppError> {
        actor.require_admin("managing bots")?;
        let name = rules::bot_name(name)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let row = bot_row(&mut tx, id).await?;
        let ch = live_channel(&mut tx, row.chat_channel_id).await?;
        checked(&mut tx, definition).await?;
        tx.update_bot(id, &name, &definition_json(definition)?, now)
            .await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "bot_updated",
            Some("bot"),
            Some(format!("{id} {name}")),
        )
        .await?;
        let row = bot_row(&mut tx, id).await?;
        tx.commit().await?;
        bot_of(row)
    }

    /// The JSON export of a bot (admins).
    pub async fn export_bot(&self, actor: &Actor, id: i64) -> Result<String, AppError> {
        let bot = self.bot(actor, id).await?;
        bot_json(&bot)
    }

    /// Enables a bot (it answers the channel's new visitors; the channel's other bot, if
    /// any, stops answering new ones) or disables it (admins). Its definition is checked
    /// again: a team it hands off to may have gone since.
    pub async fn set_bot_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<(), AppError> {
        actor.require_admin("managing bots")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let row = bot_row(&mut tx, id).await?;
        let ch = live_channel(&mut tx, row.chat_channel_id).await?;
        if enabled {
            checked(&mut tx, &bot_of(row.clone())?.definition).await?;
        }
        tx.set_bot_enabled(id, ch.id, enabled, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            if enabled {
                "bot_enabled"
            } else {
                "bot_disabled"
            },
            Some("bot"),
            Some(id.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a bot (admins); its unfinished conversations go to the channel's team at the
    /// visitor's next message.
    pub async fn delete_bot(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        actor.require_admin("managing bots")?;
        let mut tx = self.db().write().await?;
        let row = bot_row(&mut tx, id).await?;
        let ch = live_channel(&mut tx, row.chat_channel_id).await?;
        tx.delete_bot(id).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            ch.team_id.0,
            "bot_deleted",
            Some("bot"),
            Some(format!("{id} {}", row.name)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The quick replies a bot conversation's widget offers now (none once handed off).
    pub(crate) async fn bot_quick_replies(
        &self,
        tx: &mut Tx,
        conversation: ConversationId,
    ) -> Result<Vec<String>, AppError> {
        let Some(s) = tx.bot_session(conversation).await? else {
            return Ok(Vec::new());
        };
        let Some(row) = tx.bot(s.bot_id).await? else {
            return Ok(Vec::new());
        };
        let state: BotState = serde_json::from_str(&s.state).unwrap_or_default();
        Ok(rules::quick_replies(&bot_of(row)?.definition, &state))
    }

    /// The bot's turn after the visitor's message `text` on bot conversation `cid` (already
    /// recorded): runs the bot of the conversation's session, or `bot` for a conversation's
    /// first message, and performs what it answers. A bot conversation whose bot was deleted
    /// or disabled goes to the channel's team instead, so no visitor is left talking to
    /// nobody. Returns the events to publish after commit.
    pub(crate) async fn run_bot_in(
        &self,
        tx: &mut Tx,
        ch: &ChatChannel,
        bot: Option<BotRow>,
        cid: ConversationId,
        text: &str,
        now: i64,
    ) -> Result<Vec<Event>, AppError> {
        let session = tx.bot_session(cid).await?;
        let bot = match &session {
            Some(s) => tx.bot(s.bot_id).await?.filter(|b| b.enabled),
            None => bot.filter(|b| b.enabled),
        };
        let Some(bot) = bot else {
            return self.hand_off_in(tx, ch, cid, ch.team_id, false, now).await;
        };
        let state: BotState = match &session {
            Some(s) => serde_json::from_str(&s.state)
                .map_err(|e| AppError::Internal(format!("bot state of {cid}: {e}")))?,
            None => BotState::default(),
        };
        let name = bot.name.clone();
        let id = bot.id;
        let def = bot_of(bot)?.definition;
        let turn = rules::advance(&def, &state, text)?;
        let mut events = vec![Event::ConversationChanged(cid)];
        for out in turn.outputs {
            match out {
                BotOutput::Say(t) => {
                    tx.insert_message(&NewMessage {
                        conversation_id: cid,
                        direction: Direction::Outbound,
                        channel: Channel::Bot,
                        sender_user_id: None,
                        sender_name: Some(name.clone()),
                        sender_address: None,
                        recipients: Recipients::default(),
                        subject: None,
                        text: t,
                        html: None,
                        attachments: Vec::new(),
                        message_id_header: None,
                        in_reply_to: None,
                        references_header: None,
                        reply_to_message_id: None,
                        // The widget reads it as it is stored.
                        status: DeliveryStatus::Sent,
                        created_at: now,
                    })
                    .await?;
                }
                BotOutput::Name(n) => {
                    self.set_visitor_details(tx, cid, &Some(n), &None, now)
                        .await?;
                }
                BotOutput::Email(e) => {
                    self.set_visitor_details(tx, cid, &None, &Some(e), now)
                        .await?;
                }
                BotOutput::CreateTicket { subject } => {
                    let mut props = BTreeMap::new();
                    if let Some(s) = subject {
                        props.insert("subject".to_string(), s);
                    }
                    // Before a hand-off the conversation has no team; the chat channel's
                    // team is whose ticket it is.
                    props.insert("hubspot_team_id".to_string(), ch.team_id.to_string());
                    let c = tx
                        .conversation(&ViewerScope::All, cid)
                        .await?
                        .ok_or_else(|| AppError::not_found("conversation", cid))?;
                    if let Some(t) = c.team_id {
                        props.insert("hubspot_team_id".to_string(), t.to_string());
                    }
                    // INB-04: a conversation has one ticket. A visitor who goes down the
                    // ticket path again (the bot starts over after it ended) has theirs.
                    if c.ticket_id.is_some() {
                        continue;
                    }
                    // The system acts for the bot, as it does for mail and chat.
                    let t = self
                        .create_ticket_from_conversation_in(tx, &Actor::system(), cid, props, now)
                        .await?;
                    events.push(Event::TicketChanged(t.id));
                }
                BotOutput::HandOff(team) => {
                    events.extend(self.hand_off_in(tx, ch, cid, team, false, now).await?);
                }
                BotOutput::End => {}
            }
        }
        let state = serde_json::to_string(&turn.state)
            .map_err(|e| AppError::Internal(format!("bot state: {e}")))?;
        tx.save_bot_session(cid, id, &state, now).await?;
        let mut c = crate::conversations::lock_conversation(tx, &Actor::system(), cid).await?;
        c.last_message_at = now;
        c.updated_at = now;
        if !tx.save_conversation(&c).await? {
            return Err(AppError::Conflict(format!(
                "conversation {cid} was changed by someone else; try again"
            )));
        }
        Ok(events)
    }

    /// An agent answers bot conversation `cid` before the bot handed it off: the agent takes
    /// it over (HD-15's rule), so the bot stops and the conversation becomes a live chat of
    /// the team it is with, else the chat channel's team, as at a hand-off. A bot
    /// conversation no chat window holds has nothing to take over; the reply rule refuses it.
    pub(crate) async fn take_over_from_bot_in(
        &self,
        tx: &mut Tx,
        cid: ConversationId,
        now: i64,
    ) -> Result<Vec<Event>, AppError> {
        let Some(s) = tx.chat_session_of_conversation(cid).await? else {
            return Ok(Vec::new());
        };
        let Some(ch) = tx.chat_channel(s.channel_id).await? else {
            return Ok(Vec::new());
        };
        let team = tx
            .conversation(&ViewerScope::All, cid)
            .await?
            .and_then(|c| c.team_id)
            .unwrap_or(ch.team_id);
        self.hand_off_in(tx, &ch, cid, team, true, now).await
    }

    /// A bot hands the conversation to `team`: it becomes a live chat of the team (agents'
    /// replies reach the widget, HD-15's chat rule) in the team's inbox, with the transcript.
    /// With nobody of the team available and an address known, replies go by email, as for
    /// a chat started while nobody was available — unless an agent takes the conversation
    /// over (`by_agent`), who is there to answer in the chat window.
    async fn hand_off_in(
        &self,
        tx: &mut Tx,
        ch: &ChatChannel,
        cid: ConversationId,
        team: TeamId,
        by_agent: bool,
        now: i64,
    ) -> Result<Vec<Event>, AppError> {
        let system = Actor::system();
        let mut c = crate::conversations::lock_conversation(tx, &system, cid).await?;
        if c.channel != Channel::Bot {
            return Ok(Vec::new());
        }
        // A team deleted since the bot was saved: the channel's own team takes it.
        let team = if tx.team_exists(team).await? {
            team
        } else {
            ch.team_id
        };
        let old_team = c.team_id;
        c.channel = Channel::Chat;
        c.team_id = Some(team);
        c.updated_at = now;
        if !tx.save_conversation(&c).await? {
            return Err(AppError::Conflict(format!(
                "conversation {cid} was changed by someone else; try again"
            )));
        }
        tx.record_activity(&conv_change(
            cid,
            &system,
            "channel",
            Some(Channel::Bot.to_string()),
            Some(Channel::Chat.to_string()),
            now,
        ))
        .await?;
        tx.record_activity(&conv_change(
            cid,
            &system,
            "team",
            old_team.map(|t| t.to_string()),
            Some(team.to_string()),
            now,
        ))
        .await?;
        let live = fd_domain::chat::chat_answered_live(tx.available_team_members(team).await?);
        if !live
            && !by_agent
            && c.visitor_email.is_some()
            && let Some(s) = tx.chat_session_of_conversation(cid).await?
            && !s.by_email
        {
            tx.set_chat_session_by_email(s.id, true).await?;
        }
        let mut events = vec![Event::ConversationChanged(cid)];
        if let Some(t) = c.ticket_id {
            events.push(Event::TicketChanged(t));
        }
        Ok(events)
    }
}
