//! `report.html`: one self-contained page for the people who use the results every morning —
//! which conversations to read first and why, which agent needs which training, and whether the
//! team got better week over week.
//!
//! Guarantees:
//! - **Self-contained**: inline CSS, inline SVG charts and a small inline script; no URL to any
//!   other resource, so the page works offline and prints. The script only adds a filter to the
//!   review queue and opens collapsed evidence for printing: everything is readable without it.
//! - **Escaped**: every piece of text that comes from the data (transcript text, ids, reasons,
//!   rule names) goes through [`Esc`], in element content and in attribute values alike.
//!   Transcripts are untrusted input: a turn holding `<script>` shows as text.
//! - **Deterministic**: no clock and no hash-map order reach the page, so the same report gives
//!   the same bytes.
//!
//! One file per part of the page: `overview` (header, at a glance, KPIs, score distribution,
//! dimensions), `agents` (heatmap, weekly trend, skill gaps), `queue` (review queue, follow-ups),
//! `chart` (the SVG charts).

use std::fmt;

use super::{AgentPeriod, PeriodKind, Report};

/// `write!` into a `String` (which cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        $out.write_fmt(format_args!($($arg)*)).expect("writing to a String cannot fail");
    }};
}

mod agents;
mod chart;
mod overview;
mod queue;
pub mod scorecard;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// A section another module adds to the page (after the built-in ones, before the notes), e.g.
/// "Did training work?": its body is HTML the adder escaped with [`Esc`].
#[derive(Debug, Clone, PartialEq)]
pub struct Extra {
    pub id: &'static str,
    /// The link text in the page's navigation.
    pub nav: &'static str,
    pub title: &'static str,
    pub body: String,
}

/// Renders the whole page.
pub fn render(report: &Report) -> String {
    render_with(report, &[])
}

/// Renders the whole page with `extra` sections.
pub fn render_with(report: &Report, extra: &[Extra]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    w!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"convqa {}\">\n<title>convqa QA report{}</title>\n\
         <style>\n{STYLE}</style>\n</head>\n<body>\n",
        env!("CARGO_PKG_VERSION"),
        overview::date_range(&report.overview).map(|r| format!(" · {r}")).unwrap_or_default(),
    );
    overview::header(&mut out, report);
    nav(&mut out, extra);
    w!(out, "<main>\n");
    overview::glance(&mut out, report);
    section(&mut out, "overview", "Overview: KPIs against their targets", |out| {
        overview::kpis(out, report)
    });
    section(&mut out, "distribution", "Score distribution", |out| {
        overview::distribution(out, &report.overview, report.pass_threshold)
    });
    section(&mut out, "dimensions", "Dimensions: team means", |out| {
        overview::dimensions(out, report)
    });
    section(&mut out, "agents", "Agents × dimensions", |out| agents::heatmap(out, report));
    section(&mut out, "scorecards", "Monthly scorecards", |out| scorecard::scorecards(out, report));
    section(&mut out, "trend", "Week over week", |out| agents::trend(out, report));
    section(&mut out, "queue", "Review queue: read these first", |out| {
        queue::review_queue(out, report)
    });
    section(&mut out, "skill-gaps", "Skill gaps: who needs which training", |out| {
        agents::skill_gaps(out, report)
    });
    section(&mut out, "follow-ups", "Customers to follow up", |out| queue::follow_ups(out, report));
    for e in extra {
        section(&mut out, e.id, e.title, |out| out.push_str(&e.body));
    }
    w!(out, "</main>\n");
    overview::how_to_read(&mut out, report.pass_threshold, &report.options);
    w!(out, "<script>\n{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn nav(out: &mut String, extra: &[Extra]) {
    const LINKS: [(&str, &str); 10] = [
        ("overview", "KPIs"),
        ("distribution", "Distribution"),
        ("dimensions", "Dimensions"),
        ("agents", "Agents"),
        ("scorecards", "Scorecards"),
        ("trend", "Week over week"),
        ("queue", "Review queue"),
        ("skill-gaps", "Skill gaps"),
        ("follow-ups", "Follow-ups"),
        ("how-to-read", "How to read this"),
    ];
    w!(out, "<nav aria-label=\"sections\"><ul>");
    let extra = extra.iter().map(|e| (e.id, e.nav));
    for (id, label) in LINKS.into_iter().take(9).chain(extra).chain(LINKS.into_iter().skip(9)) {
        w!(out, "<li><a href=\"#{id}\">{label}</a></li>");
    }
    w!(out, "</ul></nav>\n");
}

fn section(out: &mut String, id: &str, title: &str, body: impl FnOnce(&mut String)) {
    w!(out, "<section id=\"{id}\">\n<h2>{title}</h2>\n");
    body(out);
    w!(out, "</section>\n");
}

/// HTML-escapes text from the data for element content and (quoted) attribute values:
/// `& < > " '`. The one escape function of the page.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&s[start..i])?;
            f.write_str(entity)?;
            start = i + 1;
        }
        f.write_str(&s[start..])
    }
}

// ---- number formats shared by the sections ----

const NA: &str = "n/a";

/// A 0–100 score with one decimal, or `n/a`.
fn score(v: Option<f64>) -> String {
    v.map_or_else(|| NA.to_string(), |v| format!("{v:.1}"))
}

/// A 0–1 share as a percentage (a no-break space before `%`), or `n/a`.
fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| NA.to_string(), |v| format!("{:.1}\u{a0}%", v * 100.0))
}

/// A change with its sign (`+2.5`, `-4.4`, `±0.0`), or `n/a`.
fn signed(v: Option<f64>) -> String {
    match v {
        None => NA.to_string(),
        Some(v) if v.abs() < 0.05 => "±0.0".to_string(),
        Some(v) => format!("{v:+.1}"),
    }
}

/// Seconds in the largest sensible units: `45 s`, `3 min 5 s`, `6 h 43 min`.
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 if s.is_multiple_of(60) => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ if s % 3600 / 60 == 0 => format!("{} h", s / 3600),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// Background colour of a 0–100 score: red (0) through yellow to green (100), light enough for
/// dark text. The number is always printed in the cell too.
fn heat(v: f64) -> String {
    let hue = v.clamp(0.0, 100.0) * 1.2;
    format!("background:hsl({hue:.0} 70% 84%)")
}

/// `lang` attribute for text in a detected language the browser can use to pick glyphs
/// (Simplified vs Traditional Chinese); empty for mixed or unknown text.
fn lang_attr(language: &str) -> &'static str {
    match language {
        "zh-Hans" => " lang=\"zh-Hans\"",
        "zh-Hant" => " lang=\"zh-Hant\"",
        "en" => " lang=\"en\"",
        _ => "",
    }
}

/// The team row of the whole range, if any.
fn team_all(report: &Report) -> Option<&AgentPeriod> {
    report.agents.iter().find(|r| r.scope == "team" && r.period == PeriodKind::All)
}

/// The team's weekly rows, oldest first.
fn team_weeks(report: &Report) -> Vec<&AgentPeriod> {
    report.agents.iter().filter(|r| r.scope == "team" && r.period == PeriodKind::Week).collect()
}

#[cfg(test)]
mod tests;
