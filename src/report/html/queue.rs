//! For QA staff: the review queue with its reasons and evidence, and the customers to follow up.

use super::{Esc, lang_attr};
use crate::report::{Evidence, QueueEntry, Report};

/// Evidence of the first entries is shown open; the rest is one click away (and opens for print).
const OPEN_EVIDENCE: usize = 10;

/// The page lists the customers with the most signals first, at most this many (all of them are
/// in `follow_ups.parquet`), and at most [`MAX_LISTED`] conversations and agents per customer.
const MAX_FOLLOW_UPS: usize = 200;
const MAX_LISTED: usize = 10;

pub fn review_queue(out: &mut String, report: &Report) {
    if report.queue.is_empty() {
        w!(out, "<p>The queue is empty: no conversation has a finding.</p>\n");
        return;
    }
    let priority = report.queue.iter().filter(|e| e.selection == "priority").count();
    w!(
        out,
        "<p>{priority} conversation(s) chosen by priority (most priority points first; see \
         <a href=\"#how-to-read\">how to read this</a>), then {} from the random calibration \
         sample of passed conversations.</p>\n",
        report.queue.len() - priority
    );
    agent_filter(out, &report.queue);
    w!(
        out,
        "<div class=\"scroll\"><table id=\"review-queue\">\n<thead><tr><th class=\"num\">rank</th>\
         <th>conversation</th><th>agent</th><th>date (UTC)</th><th class=\"num\">qa_score</th>\
         <th>result</th><th>selection</th><th>why</th><th>evidence</th></tr></thead>\n<tbody>\n"
    );
    for e in &report.queue {
        let lang = lang_attr(&e.language);
        entry(out, e, lang);
    }
    w!(out, "</tbody></table></div>\n");
}

/// The agent filter: hidden until the script shows it (the page works without it).
fn agent_filter(out: &mut String, queue: &[QueueEntry]) {
    let mut agents: Vec<&str> = queue.iter().map(|e| e.agent_id.as_str()).collect();
    agents.sort_unstable();
    agents.dedup();
    w!(
        out,
        "<p id=\"queue-filter\" class=\"filter\" hidden><label for=\"queue-agent\">Agent: </label>\
         <select id=\"queue-agent\"><option value=\"\">all agents</option>"
    );
    for a in agents {
        w!(out, "<option value=\"{a}\">{a}</option>", a = Esc(a));
    }
    w!(out, "</select> <output id=\"queue-shown\" for=\"queue-agent\"></output></p>\n");
}

fn entry(out: &mut String, e: &QueueEntry, lang: &str) {
    let (result, class) = if e.passed { ("passed", "pass") } else { ("failed", "fail") };
    let selection = match e.selection {
        "priority" => format!("priority<br><small>{:.1} points</small>", e.priority),
        "sample" => "calibration sample".to_string(),
        other => Esc(other).to_string(),
    };
    w!(
        out,
        "<tr data-conversation=\"{id}\" data-agent=\"{agent}\"><td class=\"num\">{}</td>\
         <td><code>{id}</code></td><td>{agent}</td><td>{}</td><td class=\"num\">{:.1}</td>\
         <td class=\"{class}\">{result}</td><td>{selection}</td><td><ul class=\"reasons\">",
        e.rank,
        e.started_at.format("%Y-%m-%d<br>%H:%M"),
        e.qa_score,
        id = Esc(&e.conversation_id),
        agent = Esc(&e.agent_id),
    );
    for r in &e.reasons {
        w!(out, "<li>{}</li>", Esc(r));
    }
    w!(out, "</ul></td><td>");
    evidence(out, &e.evidence, lang, e.rank <= OPEN_EVIDENCE);
    w!(out, "</td></tr>\n");
}

fn evidence(out: &mut String, evidence: &[Evidence], lang: &str, open: bool) {
    if evidence.is_empty() {
        w!(out, "—");
        return;
    }
    let turns = if evidence.len() == 1 {
        "1 turn".to_string()
    } else {
        format!("{} turns", evidence.len())
    };
    let open = if open { " open" } else { "" };
    w!(out, "<details{open}><summary>{turns}</summary><ol class=\"evidence\">");
    for ev in evidence {
        let at = match (ev.turn_index, ev.speaker.as_deref()) {
            (Some(t), Some(s)) => format!("turn {t} · {}", Esc(s)),
            (Some(t), None) => format!("turn {t}"),
            (None, Some(s)) => Esc(s).to_string(),
            (None, None) => "whole conversation".to_string(),
        };
        w!(out, "<li><span class=\"at\">{at}</span> ");
        if !ev.text.is_empty() {
            w!(out, "<q{lang}>{}</q>", Esc(&ev.text));
        }
        w!(out, "<span class=\"why\">{}</span></li>", Esc(&ev.why));
    }
    w!(out, "</ol></details>");
}

pub fn follow_ups(out: &mut String, report: &Report) {
    if report.follow_ups.is_empty() {
        w!(out, "<p>No customer needs a follow-up.</p>\n");
        return;
    }
    let shown = report.follow_ups.len().min(MAX_FOLLOW_UPS);
    let of = if shown < report.follow_ups.len() {
        format!(
            " The {shown} with the most signals of {} are listed here; all of them are in \
             <code>follow_ups.parquet</code>.",
            report.follow_ups.len()
        )
    } else {
        String::new()
    };
    w!(
        out,
        "<p>Customers with repeated contacts, negative endings, complaints or churn-risk \
         phrases.{of}</p>\n<div class=\"scroll\"><table id=\"follow-up-table\">\n<thead><tr>\
         <th>customer</th><th class=\"num\">contacts</th><th class=\"num\">repeats</th>\
         <th>why</th><th>last contact (UTC)</th><th>conversations</th><th>agents</th>\
         </tr></thead>\n<tbody>\n"
    );
    for f in &report.follow_ups[..shown] {
        let list = |v: &[String], code: bool| {
            let mut items: Vec<String> = v
                .iter()
                .take(MAX_LISTED)
                .map(|s| if code { format!("<code>{}</code>", Esc(s)) } else { Esc(s).to_string() })
                .collect();
            if v.len() > MAX_LISTED {
                items.push(format!("… and {} more", v.len() - MAX_LISTED));
            }
            items.join(" ")
        };
        w!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><ul class=\"reasons\">",
            Esc(&f.customer_id),
            f.contacts,
            f.repeat_contacts
        );
        for r in &f.reasons {
            w!(out, "<li>{}</li>", Esc(r));
        }
        w!(
            out,
            "</ul></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            f.last_contact.format("%Y-%m-%d %H:%M"),
            list(&f.conversations, true),
            list(&f.agents, false)
        );
    }
    w!(out, "</tbody></table></div>\n");
}
