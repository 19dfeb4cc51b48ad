-- Frontdesk schema, version 16: rule-based chat bots (issue 14, item 4; HD-08).
--
-- A bot belongs to a chat channel; its definition is the JSON of fd-domain's
-- `bots::BotDefinition` (validated before it is stored). At most one bot per channel is
-- enabled: it answers the channel's new visitors. A bot conversation's progress (the step
-- waiting for the visitor, the values collected, whether it was handed off) is kept per
-- conversation; it goes with the bot or the conversation.
CREATE TABLE bots (
    id INTEGER PRIMARY KEY,
    chat_channel_id BIGINT NOT NULL REFERENCES chat_channels (id),
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bots_by_channel ON bots (chat_channel_id);
CREATE UNIQUE INDEX bots_one_enabled_per_channel ON bots (chat_channel_id) WHERE enabled;

CREATE TABLE bot_sessions (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    bot_id BIGINT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bot_sessions_by_bot ON bot_sessions (bot_id);
