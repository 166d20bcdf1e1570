//! For training planners: the agent × dimension heatmap, the team's week-over-week trend and the
//! skill-gap tables.

use std::collections::HashSet;

use super::overview::{training_needs, week_change};
use super::{Esc, chart, heat, percent, score, signed, team_weeks};
use crate::report::{PeriodKind, Report, SkillGap};
use crate::rubric::Dimension;

/// "conversations" with a soft hyphen, for narrow (printed) tables.
const CONVERSATIONS: &str = "conver&shy;sations";

/// A dimension as a column header, with soft hyphens where a narrow (printed) table may break it.
fn header(d: Dimension) -> &'static str {
    match d {
        Dimension::Responsiveness => "responsive&shy;ness",
        Dimension::Empathy => "empathy",
        Dimension::Compliance => "compli&shy;ance",
        Dimension::Sentiment => "senti&shy;ment",
        Dimension::Politeness => "polite&shy;ness",
    }
}

/// Escaped text that may wrap after an underscore (rule names such as `customer_ends_negative`).
fn breakable(s: &str) -> String {
    Esc(s).to_string().replace('_', "_<wbr>")
}

/// One row per agent (whole range), one cell per dimension with its mean; skill-gap cells are
/// marked in text as well as by their outline.
pub fn heatmap(out: &mut String, report: &Report) {
    let rows: Vec<_> = report
        .agents
        .iter()
        .filter(|r| r.scope == "agent" && r.period == PeriodKind::All)
        .collect();
    if rows.is_empty() {
        w!(out, "<p>No agents.</p>\n");
        return;
    }
    let gaps: HashSet<(&str, Dimension)> = report
        .skill_gaps
        .iter()
        .filter(|g| g.period == PeriodKind::All)
        .map(|g| (g.agent_id.as_str(), g.dimension))
        .collect();
    w!(
        out,
        "<p>Mean of each dimension per agent over the whole range (0–100). Colour runs from \
         red (0) through yellow to green (100); <strong>▼ gap</strong> marks a skill gap (see \
         <a href=\"#skill-gaps\">below</a>). Click an agent to filter the review queue.</p>\n\
         <div class=\"scroll\"><table id=\"heatmap\">\n<thead><tr><th>agent</th>"
    );
    for d in Dimension::ALL {
        w!(out, "<th>{}</th>", header(d));
    }
    w!(
        out,
        "<th class=\"num\">qa mean</th><th class=\"num\">{CONVERSATIONS}</th>\
         <th class=\"num\">pass rate</th><th class=\"num\">FCR</th><th>top failing rules</th>\
         </tr></thead>\n<tbody>\n"
    );
    for r in rows {
        let agent = r.agent_id.as_deref().unwrap_or_default();
        w!(
            out,
            "<tr><th scope=\"row\"><a href=\"#queue\" data-filter-agent=\"{a}\">{a}</a> \
             <a class=\"card-link\" href=\"#{card}\">scorecard</a></th>",
            a = Esc(agent),
            card = Esc(&super::scorecard::anchor(agent))
        );
        for d in Dimension::ALL {
            let dist = r.dimensions[d as usize];
            let gap = gaps.contains(&(agent, d));
            let class = match (dist.mean.is_some(), gap) {
                (false, _) => "cell na",
                (true, true) => "cell gap",
                (true, false) => "cell",
            };
            w!(
                out,
                "<td class=\"{class}\" data-agent=\"{a}\" data-dimension=\"{d}\"{style} \
                 title=\"{a} · {d}: {m} over {n} conversation(s)\">{m}{mark}</td>",
                a = Esc(agent),
                d = d.as_str(),
                style = dist.mean.map(|m| format!(" style=\"{}\"", heat(m))).unwrap_or_default(),
                m = score(dist.mean),
                n = dist.n,
                mark = if gap { "<span class=\"gap-mark\">▼ gap</span>" } else { "" },
            );
        }
        let rules: Vec<String> = r.top_failing_rules.iter().map(|s| breakable(s)).collect();
        w!(
            out,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>\n",
            score(r.qa.mean),
            r.conversations,
            percent(Some(r.pass_rate())),
            percent(r.fcr),
            if rules.is_empty() { "—".to_string() } else { rules.join(", ") }
        );
    }
    w!(out, "</tbody></table></div>\n<p class=\"scale\" aria-hidden=\"true\">");
    for v in [0.0, 25.0, 50.0, 75.0, 100.0] {
        w!(out, "<span style=\"{}\">{v:.0}</span>", heat(v));
    }
    w!(out, "</p>\n");
}

/// The team's weekly means per dimension and qa_score: a line chart and the same numbers with
/// their change against the week before.
pub fn trend(out: &mut String, report: &Report) {
    let weeks = team_weeks(report);
    if weeks.is_empty() {
        w!(out, "<p>No conversations, so no weeks.</p>\n");
        return;
    }
    w!(
        out,
        "<p id=\"responsiveness-change\"><strong>Responsiveness:</strong> {}</p>\n",
        week_change(report, Dimension::Responsiveness)
    );
    if weeks.len() == 1 {
        w!(
            out,
            "<p>Only one week of data (week of {}): there is no week-over-week change yet.</p>\n",
            weeks[0].period_start
        );
    }
    let labels: Vec<String> = weeks.iter().map(|r| format!("week of {}", r.period_start)).collect();
    let mut series =
        vec![chart::Series { name: "qa_score", points: weeks.iter().map(|r| r.qa.mean).collect() }];
    let mut unscored = Vec::new();
    for d in Dimension::ALL {
        let points: Vec<Option<f64>> =
            weeks.iter().map(|r| r.dimensions[d as usize].mean).collect();
        if points.iter().all(Option::is_none) {
            unscored.push(d.as_str());
        } else {
            series.push(chart::Series { name: d.as_str(), points });
        }
    }
    chart::line_chart(out, "Team mean per ISO week (Monday first), 0–100", &labels, &series);
    if !unscored.is_empty() {
        w!(out, "<p>Not scored in any week: {}.</p>\n", unscored.join(", "));
    }
    w!(
        out,
        "<div class=\"scroll\"><table id=\"weekly\">\n<thead><tr><th>week of</th>\
         <th class=\"num\">{CONVERSATIONS}</th><th class=\"num\">pass rate</th><th class=\"num\">qa_score</th>"
    );
    for d in Dimension::ALL {
        w!(out, "<th class=\"num\">{}</th>", header(d));
    }
    w!(out, "</tr></thead>\n<tbody>\n");
    let change = |v: Option<f64>| match v {
        None => String::new(),
        Some(_) => format!(" <span class=\"delta\">({})</span>", signed(v)),
    };
    for r in &weeks {
        w!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}{}</td>\
             <td class=\"num\">{}{}</td>",
            r.period_start,
            r.conversations,
            percent(Some(r.pass_rate())),
            r.delta_pass_rate
                .map(|p| format!(" <span class=\"delta\">({:+.1} pts)</span>", p * 100.0))
                .unwrap_or_default(),
            score(r.qa.mean),
            change(r.delta_qa_mean)
        );
        for d in Dimension::ALL {
            let i = d as usize;
            w!(
                out,
                "<td class=\"num\">{}{}</td>",
                score(r.dimensions[i].mean),
                change(r.delta_dimensions[i])
            );
        }
        w!(out, "</tr>\n");
    }
    w!(
        out,
        "</tbody></table></div>\n<p class=\"hint\">In brackets: change against the week before.</p>\n"
    );
}

fn examples(g: &SkillGap) -> String {
    let ids: Vec<String> = g.examples.iter().map(|e| format!("<code>{}</code>", Esc(e))).collect();
    ids.join(" ")
}

/// Who needs which training: the gaps over the whole range, the team's shared gaps, and the
/// weekly gaps.
pub fn skill_gaps(out: &mut String, report: &Report) {
    let needs = training_needs(report);
    if needs.is_empty() {
        w!(out, "<p>No agent is well below the team in any dimension over the whole range.</p>\n");
    } else {
        w!(out, "<ul class=\"needs\">\n");
        for (agent, dims) in &needs {
            let dims: Vec<&str> = dims.iter().map(|d| d.as_str()).collect();
            w!(out, "<li><strong>{}</strong>: {}</li>\n", Esc(agent), dims.join(", "));
        }
        w!(out, "</ul>\n");
    }
    let mut all: Vec<&SkillGap> =
        report.skill_gaps.iter().filter(|g| g.period == PeriodKind::All).collect();
    all.sort_by_key(|g| (g.agent_id.as_str(), g.dimension as usize));
    if !all.is_empty() {
        w!(
            out,
            "<h3>Over the whole range</h3>\n<div class=\"scroll\"><table id=\"skill-gap-table\">\n\
             <thead><tr><th>agent</th><th>dimension</th><th class=\"num\">conversations</th>\
             <th class=\"num\">agent mean</th><th class=\"num\">team p25</th>\
             <th class=\"num\">team median</th><th class=\"num\">under the median</th>\
             <th>read first (lowest in this dimension)</th></tr></thead>\n<tbody>\n"
        );
        for g in all {
            w!(
                out,
                "<tr data-agent=\"{a}\"><td>{a}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td>\
                 <td class=\"num\">{:.1}</td><td>{}</td></tr>\n",
                g.dimension.as_str(),
                g.conversations,
                g.agent_mean,
                g.team_p25,
                g.team_median,
                g.team_median - g.agent_mean,
                examples(g),
                a = Esc(&g.agent_id),
            );
        }
        w!(out, "</tbody></table></div>\n");
    }
    team_gaps(out, report);
    weekly_gaps(out, report);
}

fn team_gaps(out: &mut String, report: &Report) {
    w!(out, "<h3>Skills most of the team lacks</h3>\n");
    if report.team_gaps.is_empty() {
        w!(
            out,
            "<p>None: in every dimension at least half of the counted agents meet the target.</p>\n"
        );
        return;
    }
    w!(
        out,
        "<div class=\"scroll\"><table id=\"team-gaps\">\n<thead><tr><th>dimension</th>\
         <th class=\"num\">team mean</th><th class=\"num\">agents below target</th>\
         <th>agents</th></tr></thead>\n<tbody>\n"
    );
    for g in &report.team_gaps {
        let agents: Vec<String> = g.agents_below.iter().map(|a| Esc(a).to_string()).collect();
        w!(
            out,
            "<tr><td>{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{} of {}</td><td>{}</td></tr>\n",
            g.dimension.as_str(),
            g.team_mean,
            g.agents_below.len(),
            g.agents_counted,
            agents.join(", ")
        );
    }
    w!(out, "</tbody></table></div>\n");
}

fn weekly_gaps(out: &mut String, report: &Report) {
    let weekly: Vec<&SkillGap> =
        report.skill_gaps.iter().filter(|g| g.period == PeriodKind::Week).collect();
    w!(out, "<h3>Week by week</h3>\n");
    if weekly.is_empty() {
        w!(out, "<p>No weekly gaps.</p>\n");
        return;
    }
    w!(
        out,
        "<div class=\"scroll\"><table id=\"weekly-gaps\">\n<thead><tr><th>week of</th><th>agent</th>\
         <th>dimension</th><th class=\"num\">conversations</th><th class=\"num\">agent mean</th>\
         <th class=\"num\">team p25</th><th class=\"num\">team median</th><th>read first</th>\
         </tr></thead>\n<tbody>\n"
    );
    for g in weekly {
        w!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td>\
             <td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td><td>{}</td></tr>\n",
            g.period_start,
            Esc(&g.agent_id),
            g.dimension.as_str(),
            g.conversations,
            g.agent_mean,
            g.team_p25,
            g.team_median,
            examples(g)
        );
    }
    w!(out, "</tbody></table></div>\n");
}
