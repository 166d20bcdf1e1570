//! A coaching sheet as a self-contained HTML page (printable on A4, every value from the data
//! escaped with the report's [`Esc`]) and as Markdown (every value from the data escaped so a
//! transcript cannot add links, HTML or formatting).

use std::fmt::Write as _;

use super::{Example, Sheet, month_label};
use crate::report::html::Esc;

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.1}"))
}

fn signed(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:+.1}"))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:50rem;margin:1rem auto;\
padding:0 1rem;color:#222}h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.5rem}\
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}\
td.num{text-align:right}.turn{margin:.2rem 0;padding:.2rem .5rem;border-left:3px solid #ccc}\
.turn.focus{border-left-color:#c33;background:#fff3f3}.good .turn.focus{border-left-color:#393;\
background:#f3fff3}.why{font-style:italic}@media print{@page{size:A4;margin:12mm}body{margin:0;\
font-size:9.5pt}}";

/// The sheet's first line (numbers only: the same text in HTML and Markdown).
fn summary(s: &Sheet) -> String {
    format!(
        "{} conversations; qa mean {} (team {}; {} since last month).",
        s.conversations,
        num(s.qa_mean),
        num(s.team_qa_mean),
        signed(s.delta_qa_mean)
    )
}

/// A weakness's heading (numbers and the dimension's name only).
fn heading(w: &super::Weakness) -> String {
    format!(
        "{d}: {m:.1} against the team's {t:.1} ({gap:+.1}; team median {med}, {n} conversations \
         judged)",
        d = w.dimension.as_str(),
        m = w.agent_mean,
        t = w.team_mean,
        gap = w.agent_mean - w.team_mean,
        med = num(w.team_median),
        n = w.conversations,
    )
}

const NONE_BELOW: &str =
    "At or above the team in every dimension judged in 3 or more conversations.";
const NO_FLAG: &str = "No flag of this dimension to discuss this month.";

/// The sheet as one HTML page.
pub fn html(s: &Sheet) -> String {
    let mut out = String::new();
    let month = month_label(s.month);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Coaching sheet · {a} · {month}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Coaching sheet: {a}, {month}</h1>\n<p>{summary}</p>\n",
        a = Esc(&s.agent_id),
        summary = summary(s),
    );
    if s.weakest.is_empty() {
        let _ = writeln!(out, "<p>{NONE_BELOW}</p>");
    }
    for w in &s.weakest {
        let _ = write!(
            out,
            "<section class=\"weakness\" data-dimension=\"{d}\">\n<h2>{h}</h2>\n",
            d = w.dimension.as_str(),
            h = heading(w),
        );
        if w.to_discuss.is_empty() {
            let _ = writeln!(out, "<p>{NO_FLAG}</p>");
        }
        for (i, e) in w.to_discuss.iter().enumerate() {
            let _ = writeln!(out, "<h3>To discuss {}</h3>", i + 1);
            example_html(&mut out, e, "discuss");
        }
        if let Some(e) = &w.done_well {
            out.push_str("<h3>Done well</h3>\n");
            example_html(&mut out, e, "good");
        }
        out.push_str("</section>\n");
    }
    out.push_str(
        "<h2>Since last month</h2>\n<table class=\"changes\"><thead><tr><th>dimension</th>\
         <th>this month</th><th>change</th></tr></thead><tbody>\n",
    );
    for c in &s.changes {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            c.dimension.as_str(),
            num(c.now),
            signed(c.delta)
        );
    }
    out.push_str("</tbody></table>\n</body>\n</html>\n");
    out
}

fn example_html(out: &mut String, e: &Example, class: &str) {
    let _ = write!(
        out,
        "<div class=\"example {class}\" data-conversation=\"{id}\">\n<p>Conversation \
         <code>{id}</code>, {when} (score {score}). <span class=\"why\">{why}</span></p>\n",
        id = Esc(&e.conversation_id),
        when = e.started_at.format("%Y-%m-%d %H:%M UTC"),
        score = num(e.score),
        why = Esc(&e.why),
    );
    for t in &e.turns {
        let _ = writeln!(
            out,
            "<p class=\"turn{f}\"><strong>{sp}</strong> (turn {i}): {text}</p>",
            f = if t.focus { " focus" } else { "" },
            sp = Esc(&t.speaker),
            i = t.index,
            text = Esc(&t.text),
        );
    }
    out.push_str("</div>\n");
}

/// Escapes the characters that make inline Markdown (emphasis, code, links, tables,
/// strikethrough; `<`, `>`, `&` for renderers that pass HTML through) and folds line breaks, so
/// data shows as the text it is. Data never starts a line on a sheet, so block syntax (`#`,
/// `-`, `1.`) cannot arise.
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// The sheet as Markdown.
pub fn markdown(s: &Sheet) -> String {
    let mut out = String::new();
    let month = month_label(s.month);
    let _ = write!(
        out,
        "# Coaching sheet: {a}, {month}\n\n{summary}\n\n",
        a = md_escape(&s.agent_id),
        summary = summary(s),
    );
    if s.weakest.is_empty() {
        let _ = write!(out, "{NONE_BELOW}\n\n");
    }
    for w in &s.weakest {
        let _ = write!(out, "## {}\n\n", heading(w));
        if w.to_discuss.is_empty() {
            let _ = write!(out, "{NO_FLAG}\n\n");
        }
        for (i, e) in w.to_discuss.iter().enumerate() {
            let _ = write!(out, "### To discuss {}\n\n", i + 1);
            example_md(&mut out, e);
        }
        if let Some(e) = &w.done_well {
            out.push_str("### Done well\n\n");
            example_md(&mut out, e);
        }
    }
    out.push_str("## Since last month\n\n| dimension | this month | change |\n|---|---:|---:|\n");
    for c in &s.changes {
        let _ =
            writeln!(out, "| {} | {} | {} |", c.dimension.as_str(), num(c.now), signed(c.delta));
    }
    out
}

fn example_md(out: &mut String, e: &Example) {
    let _ = write!(
        out,
        "Conversation `{id}`, {when} (score {score}). *{why}*\n\n",
        id = e.conversation_id.replace('`', "'"),
        when = e.started_at.format("%Y-%m-%d %H:%M UTC"),
        score = num(e.score),
        why = md_escape(&e.why),
    );
    for t in &e.turns {
        let mark = if t.focus { "**→** " } else { "" };
        let _ = writeln!(
            out,
            "> {mark}**{sp}** (turn {i}): {text}  ",
            sp = md_escape(&t.speaker),
            i = t.index,
            text = md_escape(&t.text),
        );
    }
    out.push('\n');
}
