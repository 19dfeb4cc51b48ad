//! Rule-based chat bots' rows (migration 0015): bots per chat channel (name, definition JSON,
//! enabled) and each bot conversation's state JSON.
//!
//! Plain reads and writes: what a definition means and what the bot does next are fd-domain's
//! (`bots`), and fd-app validates before it stores. Never reads the clock.

use fd_domain::*;

use crate::{StoreError, Tx, args};

/// A stored bot; `definition` is the JSON of `fd_domain::bots::BotDefinition`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotRow {
    pub id: i64,
    pub chat_channel_id: i64,
    pub name: String,
    pub definition: String,
    pub enabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A bot conversation's progress; `state` is the JSON of `fd_domain::bots::BotState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotSessionRow {
    pub conversation_id: ConversationId,
    pub bot_id: i64,
    pub state: String,
}

fn bot_from_row(r: &crate::Row) -> Result<BotRow, StoreError> {
    Ok(BotRow {
        id: r.i64("id")?,
        chat_channel_id: r.i64("chat_channel_id")?,
        name: r.string("name")?,
        definition: r.string("definition")?,
        enabled: r.bool("enabled")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
    })
}

const BOT_COLS: &str = "id, chat_channel_id, name, definition, enabled, created_at, updated_at";

impl Tx {
    pub async fn insert_bot(
        &mut self,
        channel: i64,
        name: &str,
        definition: &str,
        now: Millis,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO bots (chat_channel_id, name, definition, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, FALSE, $4, $4) RETURNING id",
            args![channel, name, definition, now],
        )
        .await?
        .i64("id")
    }

    pub async fn bot(&mut self, id: i64) -> Result<Option<BotRow>, StoreError> {
        self.opt(
            &format!("SELECT {BOT_COLS} FROM bots WHERE id = $1"),
            args![id],
        )
        .await?
        .as_ref()
        .map(bot_from_row)
        .transpose()
    }

    pub async fn bots_of_channel(&mut self, channel: i64) -> Result<Vec<BotRow>, StoreError> {
        let rows = self
            .all(
                &format!("SELECT {BOT_COLS} FROM bots WHERE chat_channel_id = $1 ORDER BY id"),
                args![channel],
            )
            .await?;
        rows.iter().map(bot_from_row).collect()
    }

    /// The bot answering a channel's visitors, if one is enabled.
    pub async fn enabled_bot(&mut self, channel: i64) -> Result<Option<BotRow>, StoreError> {
        self.opt(
            &format!("SELECT {BOT_COLS} FROM bots WHERE chat_channel_id = $1 AND enabled"),
            args![channel],
        )
        .await?
        .as_ref()
        .map(bot_from_row)
        .transpose()
    }

    pub async fn update_bot(
        &mut self,
        id: i64,
        name: &str,
        definition: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE bots SET name = $2, definition = $3, updated_at = $4 WHERE id = $1",
                args![id, name, definition, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Enables `id` (disabling the channel's other bots first: one answers a channel) or
    /// disables it.
    pub async fn set_bot_enabled(
        &mut self,
        id: i64,
        channel: i64,
        enabled: bool,
        now: Millis,
    ) -> Result<(), StoreError> {
        if enabled {
            self.exec(
                "UPDATE bots SET enabled = FALSE, updated_at = $2 WHERE chat_channel_id = $1 AND enabled AND id <> $3",
                args![channel, now, id],
            )
            .await?;
        }
        self.exec(
            "UPDATE bots SET enabled = $2, updated_at = $3 WHERE id = $1",
            args![id, enabled, now],
        )
        .await?;
        Ok(())
    }

    /// Deletes a bot and (by cascade) its conversations' progress.
    pub async fn delete_bot(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .exec("DELETE FROM bots WHERE id = $1", args![id])
            .await?;
        Ok(n == 1)
    }

    pub async fn bot_session(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<BotSessionRow>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT conversation_id, bot_id, state FROM bot_sessions WHERE conversation_id = $1",
                args![conversation],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(BotSessionRow {
            conversation_id: ConversationId(r.i64("conversation_id")?),
            bot_id: r.i64("bot_id")?,
            state: r.string("state")?,
        }))
    }

    pub async fn save_bot_session(
        &mut self,
        conversation: ConversationId,
        bot: i64,
        state: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO bot_sessions (conversation_id, bot_id, state, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (conversation_id) DO UPDATE SET bot_id = excluded.bot_id, state = excluded.state, \
             updated_at = excluded.updated_at",
            args![conversation, bot, state, now],
        )
        .await?;
        Ok(())
    }
}
