//! Concurrent writers: stale edits are conflicts, concurrent edits lose nothing, and the
//! conversation-first and ticket-first paths do not deadlock each other.

use std::time::Duration;

use fd_app::domain::property::PropertyType;
use fd_app::domain::*;
use fd_app::{Actor, AppError, NewProperty, TicketChanges};
use fd_testkit::TestApp;

use crate::common::*;

const N: usize = 20;
/// Generous: a deadlock would hang (or, on PostgreSQL, fail after deadlock_timeout).
const LIMIT: Duration = Duration::from_secs(120);

fd_testkit::on_both_backends! {
    stale_expected_version_is_a_conflict_and_changes_nothing => stale_version;
    concurrent_custom_property_writes_lose_nothing => concurrent_properties;
    concurrent_edits_of_one_property_form_one_history => concurrent_one_property;
    concurrent_comments_and_priority_changes_lose_nothing => concurrent_comments;
    concurrent_conversation_owner_and_ticket_updates_do_not_deadlock => no_deadlock;
}

async fn stale_version(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let created = ticket(&t, &a, "Versioned").await;
    let v1 = created.version;
    let edited = t
        .app
        .update_ticket(
            &a,
            created.id,
            TicketChanges {
                properties: props(&[("subject", "First edit")]),
                expected_version: Some(v1),
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.version, v1 + 1);
    let stored = tk(&t, created.id).await;
    assert_eq!(stored.version, v1 + 1);

    let stale = t
        .app
        .update_ticket(
            &a,
            created.id,
            TicketChanges {
                properties: props(&[
                    ("subject", "Second edit"),
                    ("hs_pipeline_stage", STAGE_CLOSED),
                ]),
                expected_version: Some(v1),
            },
        )
        .await;
    assert!(matches!(stale, Err(AppError::Conflict(_))), "{stale:?}");
    assert_eq!(
        tk(&t, created.id).await,
        stored,
        "the stored ticket is unchanged"
    );

    // With the current version it goes through.
    let ok = t
        .app
        .update_ticket(
            &a,
            created.id,
            TicketChanges {
                properties: props(&[("subject", "Second edit")]),
                expected_version: Some(stored.version),
            },
        )
        .await
        .unwrap();
    assert_eq!(ok.subject, "Second edit");
}

async fn custom_property(t: &TestApp, admin: &Actor, name: &str) {
    t.app
        .create_property(
            admin,
            "tickets",
            NewProperty {
                name: name.into(),
                label: name.into(),
                kind: PropertyType::String,
                field_type: None,
                group_name: "ticketinformation".into(),
                description: String::new(),
                options: vec![],
                display_order: 100,
                form_field: false,
            },
        )
        .await
        .unwrap();
}

async fn concurrent_properties(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    for i in 0..N {
        custom_property(&t, &admin, &format!("note_{i}")).await;
    }
    let created = ticket(&t, &admin, "Busy").await;
    let mut tasks = Vec::new();
    for i in 0..N {
        let app = t.app.clone();
        let actor = admin.clone();
        tasks.push(tokio::spawn(async move {
            app.update_ticket(
                &actor,
                created.id,
                TicketChanges {
                    properties: props(&[(&format!("note_{i}"), &format!("value {i}"))]),
                    expected_version: None,
                },
            )
            .await
        }));
    }
    for task in tasks {
        tokio::time::timeout(LIMIT, task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    let stored = tk(&t, created.id).await;
    for i in 0..N {
        assert_eq!(
            stored.property(&format!("note_{i}")),
            Some(format!("value {i}")),
            "note_{i} survived"
        );
    }
    assert_eq!(stored.version, created.version + N as i64);
    let d = t.app.ticket_details(&admin, created.id).await.unwrap();
    let changes = d
        .activity
        .iter()
        .filter(|a| a.action == "property_changed")
        .count();
    assert_eq!(changes, N);
}

async fn concurrent_one_property(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    custom_property(&t, &admin, "note").await;
    let created = ticket(&t, &admin, "Contended").await;
    let mut tasks = Vec::new();
    for i in 0..N {
        let app = t.app.clone();
        let actor = admin.clone();
        tasks.push(tokio::spawn(async move {
            app.update_ticket(
                &actor,
                created.id,
                TicketChanges {
                    properties: props(&[("note", &format!("v{i}"))]),
                    expected_version: None,
                },
            )
            .await
        }));
    }
    for task in tasks {
        tokio::time::timeout(LIMIT, task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    // Every write is in the history, each one's old value is the previous one's new value
    // (no write was based on a stale read), and the last one is what is stored.
    let d = t.app.ticket_details(&admin, created.id).await.unwrap();
    let history: Vec<(Option<String>, Option<String>)> = d
        .activity
        .iter()
        .filter(|a| a.field.as_deref() == Some("note"))
        .map(|a| (a.old_value.clone(), a.new_value.clone()))
        .collect();
    assert_eq!(history.len(), N, "{history:?}");
    let mut previous = None;
    for (old, new) in &history {
        assert_eq!(old, &previous, "history {history:?}");
        previous = new.clone();
    }
    let mut written: Vec<String> = history.iter().filter_map(|(_, n)| n.clone()).collect();
    written.sort();
    let mut expected: Vec<String> = (0..N).map(|i| format!("v{i}")).collect();
    expected.sort();
    assert_eq!(written, expected);
    assert_eq!(d.ticket.property("note"), previous);
}

async fn concurrent_comments(t: TestApp) {
    const PRIORITIES: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "URGENT"];
    let (_, admin) = t.admin("boss@example.com").await;
    let mut agents = Vec::new();
    for i in 0..4 {
        agents.push(
            t.agent(
                &format!("agent{i}@example.com"),
                TicketAccessLevel::All,
                &[],
            )
            .await
            .1,
        );
    }
    let created = ticket(&t, &admin, "Hot ticket").await;
    let mut tasks = Vec::new();
    for i in 0..N {
        let app = t.app.clone();
        let actor = agents[i % agents.len()].clone();
        tasks.push(tokio::spawn(async move {
            app.comment(&actor, Some(created.id), None, &format!("comment {i}"))
                .await?;
            app.update_ticket(
                &actor,
                created.id,
                TicketChanges {
                    properties: props(&[
                        ("hs_ticket_priority", PRIORITIES[i % 4]),
                        ("content", &format!("edited by task {i}")),
                    ]),
                    expected_version: None,
                },
            )
            .await
        }));
    }
    for task in tasks {
        tokio::time::timeout(LIMIT, task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    let d = t.app.ticket_details(&admin, created.id).await.unwrap();
    let mut bodies: Vec<String> = d.comments.iter().map(|c| c.body.clone()).collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..N).map(|i| format!("comment {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected, "every comment is there");
    let commented = d
        .activity
        .iter()
        .filter(|a| a.action == "commented")
        .count();
    assert_eq!(commented, N);
    let content_changes: Vec<&fd_store::ActivityEvent> = d
        .activity
        .iter()
        .filter(|a| a.field.as_deref() == Some("content"))
        .collect();
    assert_eq!(content_changes.len(), N, "every edit is in the history");
    let last = content_changes.last().unwrap();
    assert_eq!(d.ticket.content, last.new_value);
    // The priority history is one chain ending at the stored value.
    let mut previous = None;
    for a in d
        .activity
        .iter()
        .filter(|a| a.field.as_deref() == Some("hs_ticket_priority"))
    {
        assert_eq!(a.old_value, previous);
        previous = a.new_value.clone();
    }
    assert_eq!(d.ticket.priority, previous);
}

async fn no_deadlock(t: TestApp) {
    let (ann, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob, b) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let rounds = 10;
    let owner_task = {
        let app = t.app.clone();
        tokio::spawn(async move {
            for i in 0..rounds {
                let owner = if i % 2 == 0 { ann.id } else { bob.id };
                app.assign_conversation_owner(&a, c.id, Some(owner)).await?;
            }
            Ok::<_, AppError>(())
        })
    };
    let ticket_task = {
        let app = t.app.clone();
        tokio::spawn(async move {
            for i in 0..rounds {
                // Stage moves touch the ticket's conversation too (INB-10, INB-11).
                let stage = if i % 2 == 0 { STAGE_CLOSED } else { STAGE_NEW };
                app.update_ticket(
                    &b,
                    ticket.id,
                    TicketChanges {
                        properties: props(&[("hs_pipeline_stage", stage)]),
                        expected_version: None,
                    },
                )
                .await?;
            }
            Ok::<_, AppError>(())
        })
    };
    tokio::time::timeout(LIMIT, owner_task)
        .await
        .expect("assign_conversation_owner finished")
        .unwrap()
        .unwrap();
    tokio::time::timeout(LIMIT, ticket_task)
        .await
        .expect("update_ticket finished")
        .unwrap()
        .unwrap();
    // Last writes: owner bob (round 9) on both; stage New (round 9) with its one
    // conversation reopened.
    let stored = tk(&t, ticket.id).await;
    let c = conv(&t, c.id).await;
    assert_eq!(c.owner_id, Some(bob.id));
    assert_eq!(stored.stage_id, StageId(1));
    assert_eq!(c.status, ConversationStatus::Open);
}
