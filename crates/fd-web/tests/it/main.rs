//! fd-web's one integration-test binary: each module drives the real router on a fresh
//! database (SQLite always, PostgreSQL when `FRONTDESK_TEST_POSTGRES_URL` is set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api_automation;
mod api_common;
mod api_conversations;
mod api_crm;
mod api_engagements;
mod api_errors;
mod api_files;
mod api_forms;
mod api_rules;
mod api_sla;
mod api_users;
mod api_webhooks;
mod api_wire;
mod chat;
mod cluster;
mod hardening_input;
mod rules_intake;
mod rules_one_action;
mod ui_auth;
mod ui_automation_sla;
mod ui_bots;
mod ui_calls;
mod ui_common;
mod ui_csat;
mod ui_feedback;
mod ui_gaps;
mod ui_helpdesk;
mod ui_inbox;
mod ui_mail_frames;
mod ui_merge;
mod ui_reports;
mod ui_routing;
mod ui_scope;
mod ui_views;
mod ui_webhooks;
