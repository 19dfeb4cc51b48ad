//! Administration: the per-user ticket panel (INB-07), pipelines and conditional stages,
//! properties, the create form, teams' From addresses (HD-03) and who may change them.

use fd_app::domain::property::PropertyType;
use fd_app::domain::*;
use fd_app::{AppError, NewProperty, NewStage, StagePatch};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    inb_07_each_user_chooses_their_ticket_panel => inb_07;
    admin_settings_are_refused_to_agents => admin_only;
    admin_stage_changes_keep_tickets_consistent => stages;
    admin_custom_property_is_usable_at_once => custom_property;
    hd_03_team_default_from_is_one_of_its_addresses => hd_03;
    admin_trash_retention_is_bounded_and_drives_purge => retention;
    admin_changes_are_recorded_with_actor_and_time => audit;
}

async fn inb_07(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, b) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let default = t.app.ticket_panel(&a).await.unwrap();
    assert!(default.contains(&"hs_pipeline_stage".to_string()));

    let mine = vec!["hs_ticket_priority".to_string(), "closed_date".to_string()];
    t.app.set_ticket_panel(&a, mine.clone()).await.unwrap();
    assert_eq!(t.app.ticket_panel(&a).await.unwrap(), mine);
    assert_eq!(
        t.app.ticket_panel(&b).await.unwrap(),
        default,
        "bob keeps the default"
    );

    let bobs = vec!["hubspot_owner_id".to_string()];
    t.app.set_ticket_panel(&b, bobs.clone()).await.unwrap();
    assert_eq!(t.app.ticket_panel(&b).await.unwrap(), bobs);
    assert_eq!(
        t.app.ticket_panel(&a).await.unwrap(),
        mine,
        "ann's choice stays"
    );

    // Unknown properties are refused and the previous choice is kept.
    assert_invalid(
        t.app
            .set_ticket_panel(&a, vec!["hs_ticket_priority".into(), "nope".into()])
            .await,
        "properties",
    );
    assert_eq!(t.app.ticket_panel(&a).await.unwrap(), mine);
    // The system actor has no panel.
    assert_forbidden(t.app.ticket_panel(&fd_app::Actor::system()).await);
}

async fn admin_only(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let team = t.team("Support").await;
    assert_forbidden(
        t.app
            .create_stage(
                &a,
                PipelineId(0),
                NewStage {
                    label: "Sneaky".into(),
                    display_order: 9,
                    state: StageState::Open,
                    required_properties: vec![],
                },
            )
            .await,
    );
    assert_eq!(t.app.pipeline(PipelineId(0)).await.unwrap().stages.len(), 4);
    assert_forbidden(
        t.app
            .set_ticket_form_fields(&a, vec![("hs_ticket_priority".into(), true)])
            .await,
    );
    assert!(t.app.ticket_form_fields().await.unwrap().is_empty());
    assert_forbidden(t.app.create_team(&a, "Rogue").await);
    assert_forbidden(t.app.set_trash_retention_days(&a, 1).await);
    assert_forbidden(
        t.app
            .set_team_default_from(&a, team, "help@example.com")
            .await,
    );
    assert_forbidden(
        t.app
            .create_property(
                &a,
                "tickets",
                NewProperty {
                    name: "sneaky".into(),
                    label: "Sneaky".into(),
                    kind: PropertyType::String,
                    field_type: None,
                    group_name: "ticketinformation".into(),
                    description: String::new(),
                    options: vec![],
                    display_order: 1,
                    form_field: false,
                },
            )
            .await,
    );
    assert_eq!(t.app.teams().await.unwrap().len(), 1);
}

async fn stages(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    // A conditional stage may only require real properties.
    assert_invalid(
        t.app
            .create_stage(
                &admin,
                PipelineId(0),
                NewStage {
                    label: "Broken".into(),
                    display_order: 9,
                    state: StageState::Open,
                    required_properties: vec!["no_such_property".into()],
                },
            )
            .await,
        "required_properties",
    );
    assert_eq!(t.app.pipeline(PipelineId(0)).await.unwrap().stages.len(), 4);

    let created = ticket(&t, &admin, "Stays put").await;
    // A stage holding tickets cannot be archived nor flip OPEN/CLOSED.
    assert!(matches!(
        t.app.delete_stage(&admin, PipelineId(0), StageId(1)).await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        t.app
            .update_stage(
                &admin,
                PipelineId(0),
                StageId(1),
                StagePatch {
                    state: Some(StageState::Closed),
                    ..StagePatch::default()
                },
            )
            .await,
        Err(AppError::Conflict(_))
    ));
    assert!(matches!(
        t.app.delete_pipeline(&admin, PipelineId(0)).await,
        Err(AppError::Conflict(_))
    ));
    let stored = tk(&t, created.id).await;
    assert!(stored.is_open);
    assert_eq!(stored.stage_id, StageId(1));

    // An empty stage can be archived; tickets may no longer enter it.
    t.app
        .delete_stage(&admin, PipelineId(0), StageId(2))
        .await
        .unwrap();
    let r = t
        .app
        .update_ticket(
            &admin,
            created.id,
            fd_app::TicketChanges {
                properties: props(&[("hs_pipeline_stage", STAGE_WAITING)]),
                expected_version: None,
            },
        )
        .await;
    assert_invalid(r, "hs_pipeline_stage");

    // Making an existing stage conditional applies to later moves.
    t.app
        .update_stage(
            &admin,
            PipelineId(0),
            StageId(4),
            StagePatch {
                required_properties: Some(vec!["hs_ticket_category".into()]),
                ..StagePatch::default()
            },
        )
        .await
        .unwrap();
    let r = t
        .app
        .update_ticket(
            &admin,
            created.id,
            fd_app::TicketChanges {
                properties: props(&[("hs_pipeline_stage", STAGE_CLOSED)]),
                expected_version: None,
            },
        )
        .await;
    match r {
        Err(AppError::Domain(DomainError::MissingRequiredProperties { missing, .. })) => {
            assert_eq!(missing, vec!["hs_ticket_category".to_string()])
        }
        other => panic!("expected MissingRequiredProperties, got {other:?}"),
    }
    let closed = update(
        &t,
        &admin,
        created.id,
        &[
            ("hs_pipeline_stage", STAGE_CLOSED),
            ("hs_ticket_category", "BILLING_ISSUE"),
        ],
    )
    .await;
    assert!(!closed.is_open);
}

async fn custom_property(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let new =
        |name: &str, kind: PropertyType, options: Vec<property::PropertyOption>| NewProperty {
            name: name.into(),
            label: name.into(),
            kind,
            field_type: None,
            group_name: "ticketinformation".into(),
            description: String::new(),
            options,
            display_order: 1,
            form_field: true,
        };
    // Names are checked; HubSpot's prefixes are reserved; duplicates conflict.
    for bad in [
        "",
        "Upper",
        "9lives",
        "has space",
        "hs_mine",
        "hubspot_mine",
    ] {
        assert_invalid(
            t.app
                .create_property(&admin, "tickets", new(bad, PropertyType::String, vec![]))
                .await,
            "name",
        );
    }
    assert_invalid(
        t.app
            .create_property(
                &admin,
                "tickets",
                new("tier", PropertyType::Enumeration, vec![]),
            )
            .await,
        "options",
    );
    let option = |v: &str| property::PropertyOption {
        value: v.into(),
        label: v.into(),
        display_order: 0,
        hidden: false,
    };
    t.app
        .create_property(
            &admin,
            "tickets",
            new(
                "tier",
                PropertyType::Enumeration,
                vec![option("gold"), option("silver")],
            ),
        )
        .await
        .unwrap();
    assert!(matches!(
        t.app
            .create_property(&admin, "tickets", new("tier", PropertyType::String, vec![]))
            .await,
        Err(AppError::Conflict(_))
    ));
    t.app
        .create_property(
            &admin,
            "tickets",
            new("renewal", PropertyType::Date, vec![]),
        )
        .await
        .unwrap();

    let created = ticket_with(&t, &admin, &[("tier", "gold"), ("renewal", "2026-03-04")]).await;
    let stored = tk(&t, created.id).await;
    assert_eq!(stored.property("tier").as_deref(), Some("gold"));
    assert_eq!(stored.property("renewal").as_deref(), Some("1772582400000"));
    assert_invalid(
        t.app
            .update_ticket(
                &admin,
                created.id,
                fd_app::TicketChanges {
                    properties: props(&[("tier", "bronze")]),
                    expected_version: None,
                },
            )
            .await,
        "tier",
    );
    // Clearing a value removes it.
    let cleared = update(&t, &admin, created.id, &[("tier", "")]).await;
    assert_eq!(cleared.property("tier"), None);
    assert_eq!(tk(&t, created.id).await.property("tier"), None);
    assert_eq!(
        tk(&t, created.id).await.property("renewal").as_deref(),
        Some("1772582400000")
    );

    // An archived property can no longer be set.
    t.app
        .archive_property(&admin, "tickets", "renewal")
        .await
        .unwrap();
    assert_invalid(
        t.app
            .update_ticket(
                &admin,
                created.id,
                fd_app::TicketChanges {
                    properties: props(&[("renewal", "2027-01-01")]),
                    expected_version: None,
                },
            )
            .await,
        "renewal",
    );
    assert_invalid(
        t.app.archive_property(&admin, "tickets", "subject").await,
        "subject",
    );
}

async fn hd_03(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let team = t.team("Support").await;
    t.app
        .connect_team_address(&admin, team, "Help@Example.com", Workspace::HelpDesk)
        .await
        .unwrap();
    t.app
        .connect_team_address(&admin, team, "billing@example.com", Workspace::HelpDesk)
        .await
        .unwrap();
    let teams = t.app.teams().await.unwrap();
    assert_eq!(
        teams[0].default_from_address.as_deref(),
        Some("help@example.com"),
        "the first connected address is the default"
    );
    let changed = t
        .app
        .set_team_default_from(&admin, team, "billing@example.com")
        .await
        .unwrap();
    assert_eq!(
        changed.default_from_address.as_deref(),
        Some("billing@example.com")
    );
    assert_invalid(
        t.app
            .set_team_default_from(&admin, team, "other@example.com")
            .await,
        "default_from_address",
    );
    assert_eq!(
        t.app.teams().await.unwrap()[0]
            .default_from_address
            .as_deref(),
        Some("billing@example.com")
    );
}

async fn retention(t: TestApp) {
    const DAY: i64 = 86_400_000;
    let (_, admin) = t.admin("boss@example.com").await;
    for bad in [0, -5, 3651] {
        assert_invalid(
            t.app.set_trash_retention_days(&admin, bad).await,
            "trash_retention_days",
        );
    }
    t.app.set_trash_retention_days(&admin, 7).await.unwrap();
    let created = ticket(&t, &admin, "Short-lived").await;
    t.app.trash_ticket(&admin, created.id).await.unwrap();
    t.clock.advance_ms(6 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap(), (0, 0));
    t.clock.advance_ms(2 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap(), (1, 0));
    assert_not_found(t.app.ticket(&admin, created.id).await);
}

/// Users, teams, pipelines, properties and settings: every administrative change leaves a
/// row with who made it and when; a refused change leaves none; agents cannot read them.
async fn audit(t: TestApp) {
    use fd_app::domain::entities::AdminObject;
    let (root, admin) = t.admin("root@example.com").await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    t.clock.advance_ms(1_000);
    let at = fd_app::Clock::now_ms(t.clock.as_ref());
    let team = t.app.create_team(&admin, "Billing").await.unwrap();
    t.app
        .set_account_mode(&admin, AccountMode::Inbox)
        .await
        .unwrap();
    t.app
        .update_stage(
            &admin,
            PipelineId(0),
            StageId(2),
            StagePatch {
                label: Some("Waiting on customer".into()),
                ..StagePatch::default()
            },
        )
        .await
        .unwrap();
    // Refused (HD-06): nothing is recorded for it.
    assert!(
        t.app
            .delete_stage(&admin, PipelineId(0), StageId(1))
            .await
            .is_err()
    );
    let teams = t
        .app
        .admin_changes(&admin, AdminObject::Team)
        .await
        .unwrap();
    let last = teams.last().unwrap();
    assert_eq!(
        (
            last.object_id,
            last.action.as_str(),
            last.new_value.as_deref()
        ),
        (team.id.0, "created", Some("Billing"))
    );
    assert_eq!(last.actor_user_id, Some(root.id));
    // The manual clock moves a millisecond per reading: the row has the time of the change.
    assert!((at..at + 100).contains(&last.at), "{} vs {at}", last.at);
    let settings = t
        .app
        .admin_changes(&admin, AdminObject::Settings)
        .await
        .unwrap();
    assert_eq!(settings.len(), 1);
    assert_eq!(settings[0].field.as_deref(), Some("mode"));
    assert_eq!(settings[0].new_value.as_deref(), Some("inbox"));
    let stages = t
        .app
        .admin_changes(&admin, AdminObject::Stage)
        .await
        .unwrap();
    assert_eq!(stages.len(), 1, "{stages:?}");
    assert_eq!(stages[0].object_id, 2);
    assert_eq!(stages[0].new_value.as_deref(), Some("Waiting on customer"));
    // The test's own users were created by the system actor: no user id, still recorded.
    let users = t
        .app
        .admin_changes(&admin, AdminObject::User)
        .await
        .unwrap();
    assert!(
        users
            .iter()
            .any(|u| u.object_id == root.id.0 && u.actor_user_id.is_none())
    );
    assert!(matches!(
        t.app.admin_changes(&agent, AdminObject::Team).await,
        Err(AppError::Forbidden(_))
    ));
}
