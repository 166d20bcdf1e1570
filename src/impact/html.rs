//! The "Did training work?" section of `report.html`: one row per training and per course, the
//! verdict in words first. Every value from the data goes through the page's one escape
//! function.

use std::fmt::Write as _;

use super::{Impact, Interval, interval};
use crate::report::html::Esc;

fn cell(i: Option<Interval>) -> String {
    i.map_or_else(|| "n/a".into(), |i| interval(&i))
}

fn signed(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:+.1}"))
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.1}"))
}

/// The section's body (the caller writes the `<section>` and its heading).
pub fn section(out: &mut String, impact: &Impact) {
    out.push_str(
        "<p>Each training's skill before it and after it (from a week after the training), \
         against the agents not trained in that skill in the window (the control group). The \
         effect is the change of the trained agent minus the change of the control group, in \
         points, with a 95&nbsp;% interval: \"improved\" when the whole interval is above 0.</p>\n",
    );
    if impact.trainings.is_empty() {
        out.push_str("<p>No usable training rows.</p>\n");
    } else {
        out.push_str(
            "<table class=\"impact\"><thead><tr><th>agent</th><th>skill</th><th>date</th>\
             <th>course</th><th>verdict</th><th>before (n)</th><th>after (n)</th>\
             <th>change</th><th>control change (agents)</th><th>effect [95&nbsp;%]</th>\
             </tr></thead><tbody>\n",
        );
        for r in &impact.trainings {
            let t = &r.training;
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"verdict {}\">{}</td>\
                 <td>{} ({})</td><td>{} ({})</td><td>{}</td><td>{} ({})</td><td>{}</td></tr>",
                Esc(&t.agent_id),
                Esc(t.skill.name()),
                t.date,
                Esc(t.course.as_deref().unwrap_or("")),
                r.verdict.code(),
                Esc(&r.verdict.words()),
                num(r.mean_before),
                r.n_before,
                num(r.mean_after),
                r.n_after,
                cell(r.difference),
                signed(r.control_difference),
                r.control_agents,
                cell(r.effect()) + r.no_control_note(),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !impact.courses.is_empty() {
        out.push_str(
            "<h3>Per course (pooled)</h3>\n<table class=\"impact\"><thead><tr><th>course</th>\
             <th>verdict</th><th>trainings pooled</th><th>effect [95&nbsp;%]</th></tr></thead><tbody>\n",
        );
        for c in &impact.courses {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"verdict {}\">{}</td><td>{} of {}</td><td>{}</td></tr>",
                Esc(&c.course),
                c.verdict.code(),
                Esc(&c.verdict.words()),
                c.pooled,
                c.trainings,
                cell(c.effect),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !impact.rejects.is_empty() {
        let _ = writeln!(
            out,
            "<p>{} rows of the trainings file were not used; see <code>training_rejects.jsonl</code>.</p>",
            impact.rejects.len()
        );
    }
}
