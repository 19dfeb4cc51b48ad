//! Settings → Automation's SLA triggers (issue 16, item 3) over HTTP: a rule "when the
//! first-response clock is breached" is saved from the plain form, listed with its clock,
//! shown again with the clock chosen; an unknown clock is refused with the form as typed.

use fd_app::Actor;
use fd_app::domain::automation::{Action, SlaClock, Trigger};
use fd_testkit::TestApp;

use crate::ui_common::*;

async fn sla_trigger_in_the_rule_form(t: TestApp) {
    t.admin("boss@example.com").await;
    let base = serve(&t).await;
    let boss = Browser::login(&base, "boss@example.com").await;
    let form = boss.get("/settings/automation/new").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body
            .contains("<option value=\"sla_breached\">An SLA clock is breached</option>"),
        "{}",
        form.body
    );
    assert!(form.body.contains("name=\"sla_clock\""), "{}", form.body);

    let fields = |clock: &'static str| {
        vec![
            ("name", "Breached first response"),
            ("enabled", "1"),
            ("trigger", "sla_breached"),
            ("sla_clock", clock),
            ("a_kind", "comment"),
            ("a_target", ""),
            ("a_value", "Late: escalate"),
        ]
    };
    let refused = boss.post("/settings/automation", &fields("whenever")).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert!(refused.body.contains("whenever"), "{}", refused.body);
    let saved = boss
        .post("/settings/automation", &fields("first_response"))
        .await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
    let rules = t.app.automation_rules(&Actor::system()).await.unwrap();
    let r = rules
        .iter()
        .find(|r| r.rule.name == "Breached first response")
        .expect("the saved rule");
    assert_eq!(
        r.rule.trigger,
        Trigger::SlaBreached {
            clock: SlaClock::FirstResponse
        }
    );
    assert_eq!(
        r.rule.actions,
        vec![Action::Comment {
            body: "Late: escalate".into()
        }]
    );
    let list = boss.get("/settings/automation").await;
    assert!(
        list.body.contains("The first-response clock is breached"),
        "{}",
        list.body
    );
    let edit = boss
        .get(&format!("/settings/automation/{}", r.rule.id))
        .await;
    assert!(
        edit.body
            .contains("<option value=\"sla_breached\" selected>"),
        "{}",
        edit.body
    );
    assert!(
        edit.body
            .contains("<option value=\"first_response\" selected>"),
        "{}",
        edit.body
    );
}

fd_testkit::on_both_backends! {
    automation_form_saves_an_sla_breached_rule_for_one_clock => sla_trigger_in_the_rule_form;
}
