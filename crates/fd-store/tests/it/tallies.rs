//! The help desk's view counts come from `ticket_tallies` (migration 0011), kept by triggers:
//! after every kind of ticket change they must equal counting the tickets, for every view,
//! filter and scope (HD-09), before and after the tallies are folded. And a page of a search
//! whose words are common (SQLite walks the page's ordering index, keeping the matches) must
//! be the same page as one found by looking every match up. The API search's totals over
//! the tallies' dimensions are summed from them too and must equal counting the tickets.

use std::collections::BTreeMap;

use fd_app::domain::*;
use fd_app::{Actor, TicketSeed};
use fd_store::*;
use fd_testkit::{TestApp, on_both_backends};

on_both_backends! {
    view_counts_follow_every_ticket_change => counts_follow_changes;
    a_search_with_common_words_pages_like_the_list => common_words_page;
}

fn props(pairs: &[(&str, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

async fn update(t: &TestApp, id: i64, pairs: &[(&str, String)]) {
    t.app
        .update_record(&Actor::system(), ObjectType::Ticket, id, props(pairs))
        .await
        .unwrap_or_else(|e| panic!("update ticket {id} with {pairs:?}: {e}"));
}

/// Every view × filter × scope counted both ways.
async fn assert_counts_agree(t: &TestApp, scopes: &[ViewerScope], users: &[UserId], step: &str) {
    let mut views = vec![
        TicketView::All,
        TicketView::AllOpen,
        TicketView::Unassigned,
        TicketView::Closed,
        TicketView::Trash,
    ];
    views.extend(users.iter().map(|u| TicketView::AssignedTo(*u)));
    let filters: [(Option<PipelineId>, Option<StageId>, Option<&str>); 5] = [
        (None, None, None),
        (Some(PipelineId(0)), None, None),
        (None, Some(StageId(1)), None),
        (None, Some(StageId(4)), None),
        (None, None, Some("HIGH")),
    ];
    let mut tx = t.app.db().read().await.unwrap();
    for scope in scopes {
        for view in &views {
            for (pipeline, stage, priority) in filters {
                let q = TicketListQuery {
                    view: *view,
                    pipeline,
                    stage,
                    priority: priority.map(str::to_string),
                    ..TicketListQuery::default()
                };
                let tallied = tx.count_tickets(scope, &q).await.unwrap();
                let counted = tx.count_tickets_counted(scope, &q).await.unwrap();
                assert_eq!(
                    tallied, counted,
                    "{step}: {view:?} {pipeline:?} {stage:?} {priority:?} for {scope:?}"
                );
            }
        }
    }
    tx.commit().await.unwrap();
}

fn filter(name: &str, op: SearchOperator, values: &[&str]) -> SearchFilter {
    let kind = if name == "hs_pipeline_stage" && values.first() == Some(&"2") {
        // Stage ids compared as numbers, as a number-typed definition would.
        ValueKind::Number
    } else {
        ValueKind::Enum
    };
    SearchFilter {
        field: SearchField::Property {
            name: name.into(),
            kind,
        },
        op,
        value: values.first().map(|v| v.to_string()),
        high_value: values.get(1).map(|v| v.to_string()),
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

/// API searches over the tallies' dimensions: summed from the tallies and counted over the
/// tickets, for every scope; absent owners, teams and priorities (0 and '' in the tallies)
/// included.
async fn assert_search_totals_agree(
    t: &TestApp,
    scopes: &[ViewerScope],
    users: &[UserId],
    teams: &[TeamId],
    step: &str,
) {
    use SearchOperator::*;
    let (ann, bob, cy) = (
        users[0].to_string(),
        users[1].to_string(),
        users[2].to_string(),
    );
    let red = teams[0].to_string();
    let blue = teams[1].to_string();
    let owner = "hubspot_owner_id";
    let team = "hubspot_team_id";
    let prio = "hs_ticket_priority";
    let stage = "hs_pipeline_stage";
    let pipeline = "hs_pipeline";
    let groups: Vec<Vec<Vec<SearchFilter>>> = vec![
        vec![],
        vec![vec![filter(stage, Eq, &["1"])]],
        vec![vec![filter(stage, Neq, &["4"])]],
        vec![vec![filter(stage, In, &["1", "2"])]],
        vec![vec![filter(stage, NotIn, &["1"])]],
        vec![vec![filter(stage, Between, &["2", "4"])]],
        vec![vec![filter(stage, Eq, &["x"])]],
        vec![vec![filter(pipeline, Eq, &["0"])]],
        vec![vec![filter(pipeline, Gt, &["0"])]],
        vec![vec![filter(prio, Eq, &["HIGH"])]],
        vec![vec![filter(prio, Neq, &["HIGH"])]],
        vec![vec![filter(prio, In, &["HIGH", "LOW"])]],
        vec![vec![filter(prio, NotIn, &["LOW"])]],
        vec![vec![filter(prio, HasProperty, &[])]],
        vec![vec![filter(prio, NotHasProperty, &[])]],
        vec![vec![filter(prio, Eq, &[""])]],
        vec![vec![filter(prio, Neq, &[""])]],
        vec![vec![filter(owner, Eq, &[&ann])]],
        vec![vec![filter(owner, Neq, &[&ann])]],
        vec![vec![filter(owner, In, &[&ann, &bob])]],
        vec![vec![filter(owner, NotIn, &[&cy])]],
        vec![vec![filter(owner, HasProperty, &[])]],
        vec![vec![filter(owner, NotHasProperty, &[])]],
        vec![vec![filter(owner, Eq, &["0"])]],
        vec![vec![filter(owner, Neq, &["0"])]],
        vec![vec![filter(team, Eq, &[&red])]],
        vec![vec![filter(team, Neq, &[&blue])]],
        vec![vec![filter(team, NotHasProperty, &[])]],
        vec![vec![filter(team, In, &["0", &red])]],
        vec![
            vec![filter(stage, Eq, &["1"]), filter(owner, Eq, &[&ann])],
            vec![filter(team, HasProperty, &[]), filter(prio, Neq, &["LOW"])],
        ],
        vec![
            vec![filter(owner, NotHasProperty, &[])],
            vec![filter(team, NotIn, &[&red, &blue])],
        ],
    ];
    let mut tx = t.app.db().read().await.unwrap();
    for scope in scopes {
        for g in &groups {
            let q = SearchQuery {
                object: ObjectType::Ticket,
                groups: g.clone(),
                text: None,
                sort: None,
                limit: 10,
                offset: 0,
            };
            let tallied = tx.search_total_tallied(scope, &q).await.unwrap();
            let counted = tx.count_search_counted(scope, &q).await.unwrap();
            assert_eq!(tallied, Some(counted), "{step}: {g:?} for {scope:?}");
            let page = tx.search(scope, &q).await.unwrap();
            assert_eq!(
                page.total, counted,
                "{step}: search total of {g:?} for {scope:?}"
            );
        }
    }
    // Free text, token matching and other properties are counted over the tickets.
    for g in [
        vec![vec![filter("subject", Eq, &["Ticket 1"])]],
        vec![vec![filter(prio, ContainsToken, &["hi*"])]],
        vec![
            vec![filter(stage, Eq, &["1"])],
            vec![filter("createdate", Gt, &["0"])],
        ],
    ] {
        let q = SearchQuery {
            object: ObjectType::Ticket,
            groups: g,
            text: None,
            sort: None,
            limit: 10,
            offset: 0,
        };
        assert_eq!(
            tx.search_total_tallied(&ViewerScope::All, &q)
                .await
                .unwrap(),
            None
        );
    }
    let q = SearchQuery {
        object: ObjectType::Ticket,
        groups: Vec::new(),
        text: Some("ticket".into()),
        sort: None,
        limit: 10,
        offset: 0,
    };
    assert_eq!(
        tx.search_total_tallied(&ViewerScope::All, &q)
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
}

async fn counts_follow_changes(t: TestApp) {
    let red = t.team("Red").await;
    let blue = t.team("Blue").await;
    let (ann, _) = t
        .agent("ann@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let (bob, _) = t
        .agent("bob@example.com", TicketAccessLevel::Team, &["Blue"])
        .await;
    let (cy, _) = t
        .agent("cy@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let scopes = [
        ViewerScope::All,
        ViewerScope::Teams {
            user: ann.id,
            teams: vec![red],
        },
        ViewerScope::Teams {
            user: bob.id,
            teams: vec![blue],
        },
        ViewerScope::Owned { user: cy.id },
        ViewerScope::Nothing,
    ];
    let users = [ann.id, bob.id, cy.id];
    let mut ids = Vec::new();
    for i in 0..12 {
        let owner = match i % 4 {
            0 => String::new(),
            1 => ann.id.to_string(),
            2 => bob.id.to_string(),
            _ => cy.id.to_string(),
        };
        let team = match i % 3 {
            0 => String::new(),
            1 => red.to_string(),
            _ => blue.to_string(),
        };
        let mut p = vec![
            ("subject", format!("Ticket {i}")),
            ("hs_pipeline", "0".to_string()),
            ("hs_pipeline_stage", "1".to_string()),
            ("hs_ticket_priority", ["LOW", "HIGH"][i % 2].to_string()),
        ];
        if !owner.is_empty() {
            p.push(("hubspot_owner_id", owner));
        }
        if !team.is_empty() {
            p.push(("hubspot_team_id", team));
        }
        let id = t
            .app
            .create_record(&Actor::system(), ObjectType::Ticket, props(&p), Vec::new())
            .await
            .unwrap()
            .id;
        ids.push(id);
    }
    assert_counts_agree(&t, &scopes, &users, "created").await;
    assert_search_totals_agree(&t, &scopes, &users, &[red, blue], "created").await;

    update(&t, ids[0], &[("hubspot_owner_id", ann.id.to_string())]).await;
    update(&t, ids[1], &[("hubspot_owner_id", String::new())]).await;
    update(&t, ids[2], &[("hubspot_team_id", red.to_string())]).await;
    assert_counts_agree(&t, &scopes, &users, "owners and teams changed").await;
    assert_search_totals_agree(
        &t,
        &scopes,
        &users,
        &[red, blue],
        "owners and teams changed",
    )
    .await;

    update(&t, ids[3], &[("hs_pipeline_stage", "4".to_string())]).await;
    update(&t, ids[4], &[("hs_pipeline_stage", "2".to_string())]).await;
    update(&t, ids[5], &[("hs_ticket_priority", "HIGH".to_string())]).await;
    update(&t, ids[6], &[("hs_ticket_priority", String::new())]).await;
    assert_counts_agree(&t, &scopes, &users, "stages and priorities changed").await;
    assert_search_totals_agree(
        &t,
        &scopes,
        &users,
        &[red, blue],
        "stages and priorities changed",
    )
    .await;

    t.app
        .trash_ticket(&Actor::system(), TicketId(ids[7]))
        .await
        .unwrap();
    t.app
        .trash_ticket(&Actor::system(), TicketId(ids[8]))
        .await
        .unwrap();
    assert_counts_agree(&t, &scopes, &users, "trashed").await;
    assert_search_totals_agree(&t, &scopes, &users, &[red, blue], "trashed").await;
    t.app
        .restore_ticket(&Actor::system(), TicketId(ids[8]))
        .await
        .unwrap();
    // Reopening a closed ticket moves it back to an open stage.
    update(&t, ids[3], &[("hs_pipeline_stage", "1".to_string())]).await;
    assert_counts_agree(&t, &scopes, &users, "restored and reopened").await;
    assert_search_totals_agree(&t, &scopes, &users, &[red, blue], "restored and reopened").await;

    // Purged for good after the retention period (INB-13).
    t.clock.advance_ms(400 * 86_400_000);
    let (purged, _) = t.app.purge_trash().await.unwrap();
    assert_eq!(purged, 1);
    assert_counts_agree(&t, &scopes, &users, "purged").await;
    assert_search_totals_agree(&t, &scopes, &users, &[red, blue], "purged").await;

    t.app.compact_view_tallies().await.unwrap();
    assert_counts_agree(&t, &scopes, &users, "folded").await;
    assert_search_totals_agree(&t, &scopes, &users, &[red, blue], "folded").await;
    update(&t, ids[9], &[("hubspot_owner_id", bob.id.to_string())]).await;
    t.app.compact_view_tallies().await.unwrap();
    t.app.compact_view_tallies().await.unwrap();
    assert_counts_agree(&t, &scopes, &users, "changed and folded twice").await;
    assert_search_totals_agree(
        &t,
        &scopes,
        &users,
        &[red, blue],
        "changed and folded twice",
    )
    .await;

    // The all-tickets count is still the number of live tickets: 12, less the one purged.
    let mut tx = t.app.db().read().await.unwrap();
    let all = TicketListQuery {
        view: TicketView::All,
        ..TicketListQuery::default()
    };
    assert_eq!(tx.count_tickets(&ViewerScope::All, &all).await.unwrap(), 11);
    tx.commit().await.unwrap();
}

/// Enough tickets that a word every ticket holds has more matches than the store looks up
/// one by one (2,000), so SQLite walks the ordering index instead.
const DESK: u64 = 2_400;

async fn common_words_page(t: TestApp) {
    let red = t.team("Red").await;
    let blue = t.team("Blue").await;
    let (ann, _) = t
        .agent("ann@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let (bob, _) = t
        .agent("bob@example.com", TicketAccessLevel::Team, &["Blue"])
        .await;
    t.app
        .seed_tickets(
            &Actor::system(),
            &TicketSeed {
                teams: &[red, blue],
                agents: &[ann.id, bob.id],
                unassigned_every: 5,
                closed_every: 3,
            },
            0,
            DESK,
        )
        .await
        .unwrap();
    let (_, lead) = t.admin("lead@example.com").await;
    // Older tickets with new activity: the newest ids are not the latest active.
    for id in [7_i64, 300, 1_201] {
        t.clock.advance_ms(60_000);
        update(
            &t,
            id,
            &[("subject", format!("Order {id} did not arrive (again)"))],
        )
        .await;
        t.app
            .comment(&lead, Some(TicketId(id)), None, "Customer wrote again")
            .await
            .unwrap();
    }
    let scopes = [
        ViewerScope::All,
        ViewerScope::Teams {
            user: ann.id,
            teams: vec![red],
        },
    ];
    let views = [
        TicketView::All,
        TicketView::AllOpen,
        TicketView::Closed,
        TicketView::Unassigned,
        TicketView::AssignedTo(bob.id),
    ];
    let sorts = [
        TicketSort::LastActivityDesc,
        TicketSort::CreatedDesc,
        TicketSort::SubjectAsc,
        TicketSort::PriorityDesc,
    ];
    let mut tx = t.app.db().read().await.unwrap();
    for scope in &scopes {
        for view in views {
            for sort in sorts {
                for offset in [0, 50, 700] {
                    let list = TicketListQuery {
                        view,
                        sort,
                        limit: 50,
                        offset,
                        ..TicketListQuery::default()
                    };
                    // Every seeded ticket says "order": the search's page is the list's.
                    let search = TicketListQuery {
                        text: Some("ORDER".into()),
                        ..list.clone()
                    };
                    let ids = |page: Vec<Ticket>| page.iter().map(|t| t.id).collect::<Vec<_>>();
                    let listed = ids(tx.list_tickets(scope, &list).await.unwrap());
                    let found = ids(tx.list_tickets(scope, &search).await.unwrap());
                    assert_eq!(found, listed, "{view:?} {sort:?} +{offset} for {scope:?}");
                    // (Bob's tickets are all Blue's, which Ann does not see.)
                    if offset == 0 && !matches!(view, TicketView::AssignedTo(_)) {
                        assert!(!found.is_empty(), "{view:?} {sort:?} for {scope:?}");
                    }
                }
            }
        }
    }
    // A word one ticket in eight holds (under the look-up threshold), typed without its
    // accent, pages in activity order too; the reactivated tickets come first.
    let q = TicketListQuery {
        view: TicketView::All,
        text: Some("reclamation".into()),
        limit: 3,
        ..TicketListQuery::default()
    };
    let first: Vec<TicketId> = tx
        .list_tickets(&ViewerScope::All, &q)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    tx.commit().await.unwrap();
    let mut expected: Vec<TicketId> = Vec::new();
    let mut tx = t.app.db().read().await.unwrap();
    let every = TicketListQuery {
        view: TicketView::All,
        limit: 1000,
        ..TicketListQuery::default()
    };
    for page in 0..3 {
        let q = TicketListQuery {
            offset: page * 1000,
            ..every.clone()
        };
        for ticket in tx.list_tickets(&ViewerScope::All, &q).await.unwrap() {
            let parts = tx.ticket_search_parts(&[ticket.id.0]).await.unwrap();
            let holds = parts
                .get(&ticket.id.0)
                .is_some_and(|p| fd_domain::search::locate(p, "reclamation").is_some());
            if holds && expected.len() < 3 {
                expected.push(ticket.id);
            }
        }
    }
    tx.commit().await.unwrap();
    assert_eq!(first, expected);
}
