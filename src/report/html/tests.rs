//! Unit tests of the page: escaping of data, the heatmap cells, the queue order, determinism,
//! the empty report and a single week.

use super::*;
use crate::report::test_support::{conv, flag};
use crate::report::{ReportInput, ReportOptions, build};
use crate::rubric::Dimension;

const HOSTILE: &str = "<script>alert(\"x\")</script>&";

/// Six agents over two weeks; agent "e" lacks empathy; one conversation quotes markup.
fn input() -> ReportInput {
    let mut convs = Vec::new();
    for (a, agent) in
        ["a", "b", "c", "d", "e", "f\"><img src=x onerror=alert(1)>"].iter().enumerate()
    {
        for k in 0..4u32 {
            let mut c = conv(&format!("{agent}-{k}"), agent, 80.0 + a as f64, true);
            c.started_at = format!("2026-11-{:02}T09:00:00Z", 2 + k * 3).parse().unwrap();
            c.subscores = [Some(90.0 - k as f64), Some(85.0 + a as f64), Some(95.0), None, None];
            if *agent == "e" {
                c.subscores[1] = Some(30.0);
            }
            convs.push(c);
        }
    }
    convs[0].passed = false;
    convs[0].qa_score = 20.0;
    let mut f = flag(0, "forbidden_phrase", "compliance", "critical", Some("rude"), Some(2));
    f.evidence = HOSTILE.into();
    f.detail = "<b>why</b>".into();
    ReportInput { conversations: convs, flags: vec![f], pass_threshold: 70.0, ..Default::default() }
}

fn page(input: &ReportInput) -> (Report, String) {
    let report = build(input, &ReportOptions::default());
    let html = render(&report);
    (report, html)
}

#[test]
fn esc_escapes_the_five_html_characters() {
    assert_eq!(Esc("a<b>&\"c'd").to_string(), "a&lt;b&gt;&amp;&quot;c&#39;d");
    assert_eq!(Esc("你好，世界").to_string(), "你好，世界");
    assert_eq!(Esc("").to_string(), "");
}

#[test]
fn transcript_markup_renders_as_text() {
    let (report, html) = page(&input());
    assert_eq!(
        report.queue[0].evidence[0].text, HOSTILE,
        "the test needs the hostile evidence first"
    );
    assert!(!html.contains("<script>alert"), "help: data must go through Esc");
    assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;"));
    assert!(!html.contains("<img"), "an agent id must not open a tag");
    assert!(!html.contains("<b>why</b>"));
    assert_eq!(html.matches("<script").count(), 1, "only the page's own script");
}

#[test]
fn heatmap_has_a_cell_per_agent_and_dimension_and_marks_gaps() {
    let (report, html) = page(&input());
    let agents =
        report.agents.iter().filter(|r| r.scope == "agent" && r.period == PeriodKind::All).count();
    assert_eq!(agents, 6);
    let start = html.find("<table id=\"heatmap\">").expect("heatmap table");
    let table = &html[start..start + html[start..].find("</table>").unwrap()];
    assert_eq!(table.matches("data-dimension=").count(), agents * 5);
    assert_eq!(table.matches("data-dimension=\"sentiment\"").count(), agents);
    // unscored dimensions say so; the gap is marked in words, not colour only
    assert!(table.contains("data-dimension=\"sentiment\" title=\"a · sentiment: n/a"), "{table}");
    assert!(
        report.skill_gaps.iter().any(|g| g.agent_id == "e" && g.dimension == Dimension::Empathy)
    );
    assert!(table.contains("class=\"cell gap\" data-agent=\"e\" data-dimension=\"empathy\""));
    assert!(table.contains("▼ gap"));
}

#[test]
fn review_queue_rows_follow_the_rank() {
    let (report, html) = page(&input());
    let first = html.find("<tr data-conversation=").unwrap();
    let id = Esc(&report.queue[0].conversation_id).to_string();
    assert!(html[first..].starts_with(&format!("<tr data-conversation=\"{id}\"")));
    assert_eq!(html.matches("<tr data-conversation=").count(), report.queue.len());
}

#[test]
fn the_page_is_self_contained_and_deterministic() {
    let input = input();
    let (_, html) = page(&input);
    assert!(!html.contains("http://") && !html.contains("https://"), "no URL in the page");
    for tag in ["<img", "<link", "<iframe", "@import", "url("] {
        assert!(!html.contains(tag), "no external resource: found {tag}");
    }
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains(concat!("convqa ", env!("CARGO_PKG_VERSION"))));
    assert_eq!(html, page(&input).1, "same report, same bytes");
}

#[test]
fn the_weekly_trend_answers_with_numbers() {
    let (_, html) = page(&input());
    // responsiveness falls by 1 point a conversation: weeks of 2 Nov (k 0..2) and 9 Nov (k 3)
    assert!(html.contains("<table id=\"weekly\">"));
    assert!(html.contains("<strong>worse</strong>"), "responsiveness went down week over week");
}

#[test]
fn an_empty_report_renders() {
    let input = ReportInput::default();
    let (_, html) = page(&input);
    assert!(html.contains("no conversations"));
    assert!(html.contains("No agents."));
    assert!(html.contains("The queue is empty"));
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn a_single_week_says_so() {
    let mut input = input();
    for c in &mut input.conversations {
        c.started_at = "2026-11-03T10:00:00Z".parse().unwrap();
    }
    let (_, html) = page(&input);
    assert!(html.contains("Only one week of data (week of 2026-11-02)"));
}

#[test]
fn numbers_read_naturally() {
    assert_eq!(duration(45.0), "45 s");
    assert_eq!(duration(300.0), "5 min");
    assert_eq!(duration(185.0), "3 min 5 s");
    assert_eq!(duration(24180.0), "6 h 43 min");
    assert_eq!(duration(14400.0), "4 h");
    assert_eq!(signed(Some(-4.44)), "-4.4");
    assert_eq!(signed(Some(2.0)), "+2.0");
    assert_eq!(signed(Some(0.01)), "±0.0");
    assert_eq!(percent(Some(0.755)), "75.5\u{a0}%");
    assert_eq!(score(None), "n/a");
}

#[test]
fn the_follow_up_list_shows_the_first_customers_and_says_where_the_rest_are() {
    let input = input();
    let mut report = build(&input, &ReportOptions::default());
    let follow_up = |k: usize, conversations: usize| crate::report::FollowUp {
        customer_id: format!("cust-{k:03}"),
        contacts: conversations,
        repeat_contacts: 1,
        negative_endings: 0,
        complaints: 0,
        churn_risk: 0,
        last_contact: "2026-11-20T09:00:00Z".parse().unwrap(),
        conversations: (0..conversations).map(|i| format!("conv-{k}-{i}")).collect(),
        agents: vec!["a".into()],
        reasons: vec!["repeat".into()],
    };
    report.follow_ups = (0..250).map(|k| follow_up(k, if k == 0 { 15 } else { 2 })).collect();
    let html = render(&report);
    assert!(html.contains("cust-199") && !html.contains("cust-200"), "200 customers listed");
    assert!(html.contains("The 200 with the most signals of 250"));
    assert!(html.contains("conv-0-9") && !html.contains("conv-0-10"));
    assert!(html.contains("… and 5 more"));
}
