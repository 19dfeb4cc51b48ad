//! Moving tickets to another pipeline (HD-22 with INB-10/11 and HD-19 on the new stage) and
//! bulk actions (issue 15 item 6): each ticket through the single-edit use case, in its own
//! transaction, refusals reported per ticket, a filter selection resolved with HD-09 scope.

use fd_app::domain::*;
use fd_app::{
    Actor, AppError, BulkAction, BulkOutcome, BulkSelection, NewPipeline, NewStage, TicketChanges,
};
use fd_store::*;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_22_move_maps_to_the_same_named_stage => move_same_name;
    hd_22_move_maps_to_the_first_stage_of_the_same_state => move_same_state;
    hd_22_move_without_a_fitting_stage_asks_for_a_choice_and_changes_nothing => move_needs_choice;
    hd_22_move_with_a_stage_of_another_pipeline_is_refused => move_foreign_stage;
    inb_10_move_into_a_closed_stage_of_another_pipeline_closes_conversations => move_closes;
    inb_11_move_from_closed_into_an_open_stage_reopens_the_single_conversation => move_reopens;
    hd_19_move_into_a_conditional_stage_needs_its_properties => move_conditional;
    bulk_hd_19_status_change_changes_some_and_says_why_others_were_refused => bulk_hd_19;
    bulk_hd_09_tickets_outside_access_are_refused_without_their_names => bulk_access;
    bulk_hd_09_all_matching_filter_is_resolved_with_the_viewers_scope => bulk_matching;
    bulk_move_pipeline_maps_each_ticket_and_refuses_those_needing_a_choice => bulk_move;
    bulk_assign_priority_and_custom_property_in_one_action => bulk_properties;
    bulk_follow_and_unfollow => bulk_follow;
    bulk_inb_13_trash_and_restore => bulk_trash_restore;
    bulk_merge_into_one_merges_each_into_the_primary => bulk_merge;
    bulk_empty_update_is_refused_as_a_whole => bulk_empty;
}

fn stage(label: &str, order: i64, state: StageState, required: &[&str]) -> NewStage {
    NewStage {
        label: label.into(),
        display_order: order,
        state,
        required_properties: required.iter().map(|s| s.to_string()).collect(),
    }
}

/// A second pipeline "Billing": Triage (OPEN), Waiting on contact (OPEN), Escalated (OPEN,
/// needs a priority), Done (CLOSED), Rejected (CLOSED).
async fn billing(t: &TestApp) -> Pipeline {
    let (_, admin) = t.admin("boss@example.com").await;
    t.app
        .create_pipeline(
            &admin,
            NewPipeline {
                label: "Billing".into(),
                display_order: 1,
                stages: vec![
                    stage("Triage", 0, StageState::Open, &[]),
                    stage("waiting on CONTACT", 1, StageState::Open, &[]),
                    stage("Escalated", 2, StageState::Open, &["hs_ticket_priority"]),
                    stage("Done", 3, StageState::Closed, &[]),
                    stage("Rejected", 4, StageState::Closed, &[]),
                ],
            },
        )
        .await
        .unwrap()
}

fn stage_id(p: &Pipeline, label: &str) -> StageId {
    p.stages
        .iter()
        .find(|s| s.label == label)
        .unwrap_or_else(|| panic!("no stage {label}"))
        .id
}

async fn agent(t: &TestApp) -> Actor {
    t.agent("ann@example.com", TicketAccessLevel::All, &[])
        .await
        .1
}

async fn move_to(
    t: &TestApp,
    actor: &Actor,
    id: TicketId,
    pairs: &[(&str, &str)],
) -> Result<Ticket, AppError> {
    t.app
        .update_ticket(
            actor,
            id,
            TicketChanges {
                properties: props(pairs),
                expected_version: None,
            },
        )
        .await
}

async fn move_same_name(t: TestApp) {
    let billing = billing(&t).await;
    let agent = agent(&t).await;
    let tk0 = ticket_with(&t, &agent, &[("hs_pipeline_stage", STAGE_WAITING)]).await;
    let p = billing.id.to_string();
    let moved = move_to(&t, &agent, tk0.id, &[("hs_pipeline", &p)])
        .await
        .unwrap();
    assert_eq!(moved.pipeline_id, billing.id);
    assert_eq!(moved.stage_id, stage_id(&billing, "waiting on CONTACT"));
    assert_eq!(tk(&t, tk0.id).await.stage_id, moved.stage_id);
    // The history names both changes.
    let d = t.app.ticket_details(&agent, tk0.id).await.unwrap();
    for field in ["hs_pipeline", "hs_pipeline_stage"] {
        assert!(
            d.activity.iter().any(|a| a.field.as_deref() == Some(field)),
            "{field} in history"
        );
    }
}

async fn move_same_state(t: TestApp) {
    let billing = billing(&t).await;
    let agent = agent(&t).await;
    let p = billing.id.to_string();
    let open = ticket_with(&t, &agent, &[("hs_pipeline_stage", STAGE_NEW)]).await;
    let closed = ticket_with(&t, &agent, &[("hs_pipeline_stage", STAGE_CLOSED)]).await;
    let open = move_to(&t, &agent, open.id, &[("hs_pipeline", &p)])
        .await
        .unwrap();
    assert_eq!(open.stage_id, stage_id(&billing, "Triage"));
    assert!(open.is_open);
    let closed = move_to(&t, &agent, closed.id, &[("hs_pipeline", &p)])
        .await
        .unwrap();
    assert_eq!(closed.stage_id, stage_id(&billing, "Done"));
    assert!(!closed.is_open);
}

async fn move_needs_choice(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let intake = t
        .app
        .create_pipeline(
            &admin,
            NewPipeline {
                label: "Intake".into(),
                display_order: 1,
                stages: vec![stage("Arrived", 0, StageState::Open, &[])],
            },
        )
        .await
        .unwrap();
    let agent = agent(&t).await;
    let closed = ticket_with(&t, &agent, &[("hs_pipeline_stage", STAGE_CLOSED)]).await;
    let p = intake.id.to_string();
    let r = move_to(&t, &agent, closed.id, &[("hs_pipeline", &p)]).await;
    match &r {
        Err(AppError::Domain(DomainError::Invalid(f))) => {
            assert_eq!(f[0].field, "hs_pipeline_stage");
            assert_eq!(f[0].code, ErrorCode::Required);
            assert!(f[0].message.contains("Intake"), "{}", f[0].message);
        }
        other => panic!("expected a choice to be asked for, got {other:?}"),
    }
    let stored = tk(&t, closed.id).await;
    assert_eq!(stored.pipeline_id, PipelineId(0), "pipeline unchanged");
    assert_eq!(stored.version, closed.version);
    // With the stage chosen, the move happens.
    let s = intake.stages[0].id.to_string();
    let moved = move_to(
        &t,
        &agent,
        closed.id,
        &[("hs_pipeline", &p), ("hs_pipeline_stage", &s)],
    )
    .await
    .unwrap();
    assert_eq!(moved.stage_id, intake.stages[0].id);
    assert!(moved.is_open);
}

async fn move_foreign_stage(t: TestApp) {
    let billing = billing(&t).await;
    let agent = agent(&t).await;
    let tk0 = ticket(&t, &agent, "Wrong stage").await;
    let p = billing.id.to_string();
    let r = move_to(
        &t,
        &agent,
        tk0.id,
        &[("hs_pipeline", &p), ("hs_pipeline_stage", STAGE_WAITING)],
    )
    .await;
    assert_invalid(r, "hs_pipeline_stage");
    assert_eq!(tk(&t, tk0.id).await.pipeline_id, PipelineId(0));
}

async fn move_closes(t: TestApp) {
    let billing = billing(&t).await;
    let agent = agent(&t).await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let p = billing.id.to_string();
    let s = stage_id(&billing, "Rejected").to_string();
    let moved = move_to(
        &t,
        &agent,
        ticket.id,
        &[("hs_pipeline", &p), ("hs_pipeline_stage", &s)],
    )
    .await
    .unwrap();
    assert!(!moved.is_open);
    assert!(moved.closed_at.is_some());
    assert_eq!(conv(&t, c.id).await.status, ConversationStatus::Closed);
}

async fn move_reopens(t: TestApp) {
    let billing = billing(&t).await;
    let agent = agent(&t).await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    move_to_stage(&t, &agent, ticket.id, STAGE_CLOSED).await;
    assert_eq!(conv(&t, c.id).await.status, ConversationStatus::Closed);
    let p = billing.id.to_string();
    let s = stage_id(&billing, "Triage").to_string();
    let moved = move_to(
        &t,
        &agent,
        ticket.id,
        &[("hs_pipeline", &p), ("hs_pipeline_stage", &s)],
    )
    .await
    .unwrap();
    assert!(moved.is_open);
    assert_eq!(moved.closed_at, None);
    assert_eq!(conv(&t, c.id).await.status, ConversationStatus::Open);
}

async fn move_conditional(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let vip = t
        .app
        .create_pipeline(
            &admin,
            NewPipeline {
                label: "VIP".into(),
                display_order: 1,
                stages: vec![
                    stage("Arrived", 0, StageState::Open, &[]),
                    stage("Closed", 1, StageState::Closed, &["hs_ticket_priority"]),
                ],
            },
        )
        .await
        .unwrap();
    let agent = agent(&t).await;
    let closed = ticket_with(&t, &agent, &[("hs_pipeline_stage", STAGE_CLOSED)]).await;
    let p = vip.id.to_string();
    // Mapped by name to VIP's "Closed", which needs a priority.
    let r = move_to(&t, &agent, closed.id, &[("hs_pipeline", &p)]).await;
    assert!(
        matches!(&r, Err(AppError::Domain(DomainError::MissingRequiredProperties { stage_label, missing }))
            if stage_label == "Closed" && missing == &vec!["hs_ticket_priority".to_string()]),
        "{r:?}"
    );
    assert_eq!(tk(&t, closed.id).await.pipeline_id, PipelineId(0));
    let moved = move_to(
        &t,
        &agent,
        closed.id,
        &[("hs_pipeline", &p), ("hs_ticket_priority", "HIGH")],
    )
    .await
    .unwrap();
    assert_eq!(moved.stage_id, vip.stages[1].id);
}

fn changed_ids(o: &BulkOutcome) -> Vec<TicketId> {
    o.changed.clone()
}

async fn bulk_hd_19(t: TestApp) {
    let billing = billing(&t).await;
    let agent = agent(&t).await;
    let p = billing.id.to_string();
    let triage = stage_id(&billing, "Triage").to_string();
    let mut ids = Vec::new();
    for (subject, priority) in [("Printer jam", ""), ("Invoice", "HIGH"), ("Refund", "")] {
        let mut extra = vec![
            ("subject", subject),
            ("hs_pipeline", p.as_str()),
            ("hs_pipeline_stage", triage.as_str()),
        ];
        if !priority.is_empty() {
            extra.push(("hs_ticket_priority", priority));
        }
        ids.push(ticket_with(&t, &agent, &extra).await);
    }
    let escalated = stage_id(&billing, "Escalated").to_string();
    let out = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(ids.iter().map(|t| t.id).collect()),
            &BulkAction::Update(props(&[("hs_pipeline_stage", &escalated)])),
        )
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![ids[1].id]);
    assert_eq!(out.refused.len(), 2);
    for (r, t0) in out.refused.iter().zip([&ids[0], &ids[2]]) {
        assert_eq!(r.id, t0.id);
        assert_eq!(r.subject.as_deref(), Some(t0.subject.as_str()));
        assert_eq!(
            r.reason,
            "required property Priority is missing for stage Escalated (HD-19)"
        );
    }
    assert_eq!(
        tk(&t, ids[1].id).await.stage_id,
        stage_id(&billing, "Escalated")
    );
    for refused in [&ids[0], &ids[2]] {
        let s = tk(&t, refused.id).await;
        assert_eq!(s.stage_id, refused.stage_id, "refused ticket unchanged");
        assert_eq!(s.version, refused.version);
    }
}

async fn bulk_access(t: TestApp) {
    let (_, owner) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (_, other) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let mine = ticket_with(&t, &owner, &[("subject", "Mine")]).await;
    let theirs = ticket_with(&t, &other, &[("subject", "Secret plans")]).await;
    let out = t
        .app
        .bulk_tickets(
            &owner,
            &BulkSelection::Ids(vec![theirs.id, mine.id, mine.id]),
            &BulkAction::Update(props(&[("hs_ticket_priority", "LOW")])),
        )
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![mine.id], "duplicates are dropped");
    assert_eq!(out.refused.len(), 1);
    assert_eq!(out.refused[0].id, theirs.id);
    assert_eq!(out.refused[0].subject, None, "HD-09: no name leaks");
    assert_eq!(
        out.refused[0].reason,
        "not found, or not in your ticket access"
    );
    assert_eq!(tk(&t, theirs.id).await.priority, None);
    assert_eq!(tk(&t, mine.id).await.priority.as_deref(), Some("LOW"));
}

async fn bulk_matching(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    t.team("North").await;
    let (_, scoped) = t
        .agent("tina@example.com", TicketAccessLevel::Team, &["North"])
        .await;
    // 30 of the team's HIGH tickets: more than a page (25) of the list.
    let mut team_high = Vec::new();
    for i in 0..30 {
        let s = format!("North {i}");
        team_high.push(
            ticket_with(
                &t,
                &scoped,
                &[("subject", s.as_str()), ("hs_ticket_priority", "HIGH")],
            )
            .await,
        );
    }
    let team_low = ticket_with(&t, &scoped, &[("hs_ticket_priority", "LOW")]).await;
    let outside = ticket_with(&t, &admin, &[("hs_ticket_priority", "HIGH")]).await;
    let q = TicketListQuery {
        view: TicketView::AllOpen,
        priority: Some("HIGH".into()),
        ..TicketListQuery::default()
    };
    let selection = BulkSelection::Matching(q);
    assert_eq!(
        t.app
            .bulk_selection_ids(&scoped, &selection)
            .await
            .unwrap()
            .len(),
        30
    );
    let out = t
        .app
        .bulk_tickets(
            &scoped,
            &selection,
            &BulkAction::Update(props(&[("hs_pipeline_stage", STAGE_WAITING)])),
        )
        .await
        .unwrap();
    let mut expected: Vec<TicketId> = team_high.iter().map(|t| t.id).collect();
    expected.sort();
    assert_eq!(changed_ids(&out), expected);
    assert!(out.refused.is_empty());
    for t0 in &team_high {
        assert_eq!(tk(&t, t0.id).await.stage_id, StageId(2));
    }
    assert_eq!(
        tk(&t, team_low.id).await.stage_id,
        StageId(1),
        "filtered out"
    );
    assert_eq!(tk(&t, outside.id).await.stage_id, StageId(1), "HD-09 scope");
}

async fn bulk_move(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let intake = t
        .app
        .create_pipeline(
            &admin,
            NewPipeline {
                label: "Intake".into(),
                display_order: 1,
                stages: vec![stage("Arrived", 0, StageState::Open, &[])],
            },
        )
        .await
        .unwrap();
    let agent = agent(&t).await;
    let open = ticket_with(&t, &agent, &[("subject", "Open one")]).await;
    let closed = ticket_with(
        &t,
        &agent,
        &[
            ("subject", "Closed one"),
            ("hs_pipeline_stage", STAGE_CLOSED),
        ],
    )
    .await;
    let p = intake.id.to_string();
    let out = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(vec![open.id, closed.id]),
            &BulkAction::Update(props(&[("hs_pipeline", &p)])),
        )
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![open.id]);
    assert_eq!(tk(&t, open.id).await.stage_id, intake.stages[0].id);
    assert_eq!(out.refused.len(), 1);
    assert_eq!(out.refused[0].id, closed.id);
    assert!(
        out.refused[0]
            .reason
            .starts_with("Ticket status: moving to pipeline \"Intake\""),
        "{}",
        out.refused[0].reason
    );
    assert_eq!(tk(&t, closed.id).await.pipeline_id, PipelineId(0));
}

async fn bulk_properties(t: TestApp) {
    let (bob_user, _) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let agent = agent(&t).await;
    let a = ticket(&t, &agent, "One").await;
    let b = ticket(&t, &agent, "Two").await;
    let owner = bob_user.id.to_string();
    let out = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(vec![a.id, b.id]),
            &BulkAction::Update(props(&[
                ("hubspot_owner_id", &owner),
                ("hs_ticket_priority", "URGENT"),
                ("hs_ticket_category", "BILLING_ISSUE"),
            ])),
        )
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![a.id, b.id]);
    for id in [a.id, b.id] {
        let s = tk(&t, id).await;
        assert_eq!(s.owner_id, Some(bob_user.id));
        assert_eq!(s.priority.as_deref(), Some("URGENT"));
        assert_eq!(s.category.as_deref(), Some("BILLING_ISSUE"));
    }
    // A bad value is refused for every ticket, each saying why.
    let out = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(vec![a.id, b.id]),
            &BulkAction::Update(props(&[("hs_ticket_priority", "SOMEDAY")])),
        )
        .await
        .unwrap();
    assert!(out.changed.is_empty());
    assert_eq!(out.refused.len(), 2);
    assert!(
        out.refused[0].reason.starts_with("Priority: "),
        "{}",
        out.refused[0].reason
    );
}

async fn bulk_follow(t: TestApp) {
    let (ann, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let a = ticket(&t, &agent, "One").await;
    let b = ticket(&t, &agent, "Two").await;
    let sel = BulkSelection::Ids(vec![a.id, b.id]);
    let out = t
        .app
        .bulk_tickets(&agent, &sel, &BulkAction::Follow(true))
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![a.id, b.id]);
    for id in [a.id, b.id] {
        let d = t.app.ticket_details(&agent, id).await.unwrap();
        assert!(d.followers.contains(&ann.id));
    }
    t.app
        .bulk_tickets(&agent, &sel, &BulkAction::Follow(false))
        .await
        .unwrap();
    let d = t.app.ticket_details(&agent, a.id).await.unwrap();
    assert!(!d.followers.contains(&ann.id));
    // The system is no one to follow with.
    let r = t
        .app
        .bulk_tickets(&Actor::system(), &sel, &BulkAction::Follow(true))
        .await;
    assert_forbidden(r);
}

async fn bulk_trash_restore(t: TestApp) {
    let agent = agent(&t).await;
    let a = ticket(&t, &agent, "One").await;
    let b = ticket(&t, &agent, "Two").await;
    let out = t
        .app
        .bulk_tickets(&agent, &BulkSelection::Ids(vec![a.id]), &BulkAction::Trash)
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![a.id]);
    assert!(tk(&t, a.id).await.trashed_at.is_some());
    // Restoring a ticket that is not in the trash is refused, the other restored.
    let out = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(vec![a.id, b.id]),
            &BulkAction::Restore,
        )
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![a.id]);
    assert_eq!(out.refused.len(), 1);
    assert_eq!(
        out.refused[0].reason,
        format!("ticket {} is not in the trash", b.id)
    );
    assert!(tk(&t, a.id).await.trashed_at.is_none());
    // The trash view as a filter selection.
    t.app.trash_ticket(&agent, b.id).await.unwrap();
    let trash = BulkSelection::Matching(TicketListQuery {
        view: TicketView::Trash,
        ..TicketListQuery::default()
    });
    let out = t
        .app
        .bulk_tickets(&agent, &trash, &BulkAction::Restore)
        .await
        .unwrap();
    assert_eq!(changed_ids(&out), vec![b.id]);
}

async fn bulk_merge(t: TestApp) {
    let agent = agent(&t).await;
    let primary = ticket(&t, &agent, "Primary").await;
    let a = ticket(&t, &agent, "Dup A").await;
    let b = ticket(&t, &agent, "Dup B").await;
    let out = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(vec![a.id, primary.id, b.id]),
            &BulkAction::MergeInto(primary.id),
        )
        .await
        .unwrap();
    assert_eq!(
        changed_ids(&out),
        vec![a.id, b.id],
        "the primary is not merged"
    );
    assert!(out.refused.is_empty());
    let survivor = tk(&t, primary.id).await;
    let merged = survivor
        .custom
        .get(fd_app::domain::ticket_merge::MERGED_IDS_PROPERTY)
        .cloned()
        .unwrap_or_default();
    for id in [a.id, b.id] {
        assert!(merged.contains(&id.to_string()), "{merged}");
        assert!(tk(&t, id).await.trashed_at.is_some());
    }
}

async fn bulk_empty(t: TestApp) {
    let agent = agent(&t).await;
    let a = ticket(&t, &agent, "One").await;
    let r = t
        .app
        .bulk_tickets(
            &agent,
            &BulkSelection::Ids(vec![a.id]),
            &BulkAction::Update(props(&[])),
        )
        .await;
    assert_invalid(r, "properties");
}
