//! Monthly scorecards: one card per agent (reachable from the heatmap) with each dimension's
//! score in the latest month, the team median beside it, and the last six months' trend; each
//! card prints on one A4 page (`break-inside: avoid`, a page break before each card in print).
//! Built from the `month` rows of `agents.parquet` ([`Report::agents`]).

use chrono::NaiveDate;

use super::{Esc, heat, score, signed};
use crate::report::{AgentPeriod, PeriodKind, Report};
use crate::rubric::Dimension;

/// Months shown in a card's trend.
pub const TREND_MONTHS: usize = 6;

/// The element id of an agent's card (ids may hold any character but white space).
pub fn anchor(agent: &str) -> String {
    let id: String = agent.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
    format!("scorecard-{id}")
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

/// The scorecards section's body.
pub fn scorecards(out: &mut String, report: &Report) {
    let months: Vec<&AgentPeriod> = report
        .agents
        .iter()
        .filter(|r| r.scope == "team" && r.period == PeriodKind::Month)
        .collect();
    let Some(latest) = months.last() else {
        w!(out, "<p>No months.</p>\n");
        return;
    };
    let trend: Vec<&AgentPeriod> = months[months.len().saturating_sub(TREND_MONTHS)..].to_vec();
    w!(
        out,
        "<p>Per agent: each dimension in {m} against the team median, and the last {k} months \
         (n/a: no conversation judged in that dimension). One card per printed page.</p>\n",
        m = month(latest.period_start),
        k = trend.len()
    );
    let mut agents: Vec<&str> = report
        .agents
        .iter()
        .filter(|r| r.scope == "agent" && r.period == PeriodKind::Month)
        .filter_map(|r| r.agent_id.as_deref())
        .collect();
    agents.sort_unstable();
    agents.dedup();
    for agent in agents {
        card(out, report, agent, latest, &trend);
    }
}

fn agent_month<'a>(report: &'a Report, agent: &str, start: NaiveDate) -> Option<&'a AgentPeriod> {
    report.agents.iter().find(|r| {
        r.scope == "agent"
            && r.period == PeriodKind::Month
            && r.period_start == start
            && r.agent_id.as_deref() == Some(agent)
    })
}

fn card(
    out: &mut String,
    report: &Report,
    agent: &str,
    latest: &AgentPeriod,
    trend: &[&AgentPeriod],
) {
    let now = agent_month(report, agent, latest.period_start);
    w!(
        out,
        "<article class=\"scorecard\" id=\"{id}\" data-agent=\"{a}\">\n<h3>{a} · {m}</h3>\n\
         <p>{n} conversations this month, qa mean {qa} (team {tqa}).</p>\n\
         <table class=\"scorecard-table\"><thead><tr><th>dimension</th><th class=\"num\">{m}</th>\
         <th class=\"num\">team median</th><th class=\"num\">vs team</th>",
        id = Esc(&anchor(agent)),
        a = Esc(agent),
        m = month(latest.period_start),
        n = now.map_or(0, |r| r.conversations),
        qa = score(now.and_then(|r| r.qa.mean)),
        tqa = score(latest.qa.mean),
    );
    for t in trend {
        w!(out, "<th class=\"num trend\">{}</th>", month(t.period_start));
    }
    w!(out, "</tr></thead>\n<tbody>\n");
    for d in Dimension::ALL {
        let mine = now.and_then(|r| r.dimensions[d as usize].mean);
        let team = latest.dimensions[d as usize].p50;
        w!(
            out,
            "<tr data-dimension=\"{name}\"><th scope=\"row\">{name}</th><td class=\"num\"{style}>{v}</td>\
             <td class=\"num\">{t}</td><td class=\"num\">{diff}</td>",
            name = d.as_str(),
            style = mine.map(|v| format!(" style=\"{}\"", heat(v))).unwrap_or_default(),
            v = score(mine),
            t = score(team),
            diff = signed(mine.zip(team).map(|(m, t)| m - t)),
        );
        for t in trend {
            let v = agent_month(report, agent, t.period_start)
                .and_then(|r| r.dimensions[d as usize].mean);
            w!(out, "<td class=\"num trend\">{}</td>", score(v));
        }
        w!(out, "</tr>\n");
    }
    w!(out, "</tbody></table>\n</article>\n");
}
