//! Repeat contacts, first-contact resolution (FCR) and the customers to follow up.
//!
//! A conversation is *resolved at first contact* unless the input says `resolved: false` or the
//! same customer comes back within the repeat window about the same thing (the two share a tag,
//! or either has no tags). Conversations without a customer id and without `resolved` are not
//! counted either way; a placeholder id (`ReportOptions::unknown_customer_ids`: "anonymous",
//! "0", …) counts as no id, or every anonymous contact would be a repeat of the one before.

use std::collections::BTreeMap;

use chrono::Duration;

use super::{ConvRecord, FollowUp, ReportInput};

/// Per conversation: `Some(true)` resolved at first contact, `Some(false)` not, `None` unknown;
/// and whether it was itself a repeat of an earlier contact.
#[derive(Debug, Clone, Default)]
pub struct Fcr {
    pub resolved_first: Vec<Option<bool>>,
    pub is_repeat: Vec<bool>,
    /// Whether the conversation has a real customer id (not missing, not a placeholder).
    pub known_customer: Vec<bool>,
}

fn same_matter(a: &ConvRecord, b: &ConvRecord) -> bool {
    a.tags.is_empty() || b.tags.is_empty() || a.tags.iter().any(|t| b.tags.contains(t))
}

fn by_customer<'a>(convs: &'a [ConvRecord], known: &[bool]) -> BTreeMap<&'a str, Vec<usize>> {
    let mut map: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, c) in convs.iter().enumerate() {
        if let (Some(customer), true) = (c.customer_id.as_deref(), known[i]) {
            map.entry(customer).or_default().push(i);
        }
    }
    for list in map.values_mut() {
        list.sort_by_key(|&i| (convs[i].started_at, i));
    }
    map
}

/// FCR per conversation; `unknown_ids` are placeholder customer ids, compared without case and
/// surrounding spaces, that count as no id.
pub fn first_contact_resolution(
    convs: &[ConvRecord],
    window_days: u32,
    unknown_ids: &[String],
) -> Fcr {
    let window = Duration::days(i64::from(window_days));
    let known = |id: &str| !unknown_ids.iter().any(|u| u.trim().eq_ignore_ascii_case(id.trim()));
    let mut fcr = Fcr {
        resolved_first: convs.iter().map(|c| c.resolved.filter(|r| !*r)).collect(),
        is_repeat: vec![false; convs.len()],
        known_customer: convs.iter().map(|c| c.customer_id.as_deref().is_some_and(known)).collect(),
    };
    // Each customer's list is in time order, so only the contacts inside the window around a
    // conversation are looked at: a placeholder customer id shared by a whole night's traffic
    // ("anonymous") stays about linear instead of quadratic.
    for list in by_customer(convs, &fcr.known_customer).values() {
        for (k, &i) in list.iter().enumerate() {
            let came_back = list[k + 1..]
                .iter()
                .take_while(|&&j| convs[j].started_at - convs[i].started_at <= window)
                .any(|&j| same_matter(&convs[i], &convs[j]));
            if came_back {
                fcr.resolved_first[i] = Some(false);
            } else if convs[i].resolved != Some(false) {
                fcr.resolved_first[i] = Some(true);
            }
            fcr.is_repeat[i] = list[..k]
                .iter()
                .rev()
                .take_while(|&&j| convs[i].started_at - convs[j].started_at <= window)
                .any(|&j| same_matter(&convs[j], &convs[i]));
        }
    }
    for (i, c) in convs.iter().enumerate() {
        if !fcr.known_customer[i] && c.resolved == Some(true) {
            fcr.resolved_first[i] = Some(true);
        }
    }
    fcr
}

/// Share of `Some(true)` among the known values.
pub fn rate(values: impl Iterator<Item = Option<bool>>) -> Option<f64> {
    let (mut yes, mut n) = (0usize, 0usize);
    for v in values.flatten() {
        n += 1;
        yes += usize::from(v);
    }
    (n > 0).then(|| yes as f64 / n as f64)
}

/// Customers with repeated contacts, two or more negative endings, a complaint or churn risk.
pub fn follow_ups(input: &ReportInput, fcr: &Fcr) -> Vec<FollowUp> {
    let convs = &input.conversations;
    let mut negative_end = vec![false; convs.len()];
    for f in input.flags.iter().filter(|f| &*f.flag == "customer_ends_negative") {
        negative_end[f.conv] = true;
    }
    let mut out = Vec::new();
    for (customer, list) in by_customer(convs, &fcr.known_customer) {
        let count = |pred: &dyn Fn(usize) -> bool| list.iter().filter(|&&i| pred(i)).count();
        let repeats = count(&|i| fcr.is_repeat[i]);
        let negatives = count(&|i| negative_end[i]);
        let has = |i: usize, s: &str| convs[i].signals.iter().any(|x| &**x == s);
        let complaints = count(&|i| has(i, "complaint"));
        let churn = count(&|i| has(i, "churn_risk"));
        let mut reasons = Vec::new();
        if repeats > 0 {
            reasons.push(format!(
                "{} contacts, {repeats} of them a repeat within the window",
                list.len()
            ));
        }
        if negatives >= 2 {
            reasons.push(format!("ended negative {negatives} times"));
        }
        if complaints > 0 {
            reasons.push(format!("complained in {complaints} conversation(s)"));
        }
        if churn > 0 {
            reasons.push(format!("churn risk in {churn} conversation(s)"));
        }
        if reasons.is_empty() {
            continue;
        }
        let mut agents: Vec<String> = list.iter().map(|&i| convs[i].agent_id.to_string()).collect();
        agents.sort();
        agents.dedup();
        out.push(FollowUp {
            customer_id: customer.to_string(),
            contacts: list.len(),
            repeat_contacts: repeats,
            negative_endings: negatives,
            complaints,
            churn_risk: churn,
            last_contact: convs[*list.last().expect("non-empty")].started_at,
            conversations: list.iter().map(|&i| convs[i].conversation_id.clone()).collect(),
            agents,
            reasons,
        });
    }
    // most signals first
    out.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.churn_risk + f.complaints + f.repeat_contacts + f.negative_endings),
            f.customer_id.clone(),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::conv;

    fn at(c: &mut ConvRecord, customer: &str, day: u32, tags: &[&str]) {
        c.customer_id = Some(customer.into());
        c.started_at = format!("2026-11-{day:02}T10:00:00Z").parse().unwrap();
        c.tags = tags.iter().map(|&t| t.into()).collect();
    }

    #[test]
    fn a_return_within_the_window_about_the_same_thing_is_not_first_contact_resolution() {
        let mut convs: Vec<ConvRecord> =
            (0..5).map(|i| conv(&format!("c{i}"), "a", 80.0, true)).collect();
        at(&mut convs[0], "u1", 2, &["refund"]);
        at(&mut convs[1], "u1", 5, &["refund"]); // back after 3 days, same matter
        at(&mut convs[2], "u1", 20, &["refund"]); // back after 15 days: a new matter
        at(&mut convs[3], "u2", 2, &["login"]);
        at(&mut convs[4], "u2", 4, &["billing"]); // different tag: not a repeat
        let f = first_contact_resolution(&convs, 7, &[]);
        assert_eq!(f.resolved_first, [Some(false), Some(true), Some(true), Some(true), Some(true)]);
        assert_eq!(f.is_repeat, [false, true, false, false, false]);
        assert_eq!(rate(f.resolved_first.iter().copied()), Some(0.8));
    }

    #[test]
    fn the_window_scan_finds_a_same_matter_contact_behind_other_matters_and_stops_at_its_edge() {
        // one customer id for many contacts (a placeholder such as "anonymous"), out of order
        let days_tags: [(u32, &str); 6] = [
            (12, "refund"),
            (1, "refund"),
            (10, "login"),
            (11, "billing"),
            (9, "refund"),
            (20, "refund"),
        ];
        let mut convs: Vec<ConvRecord> =
            (0..6).map(|i| conv(&format!("c{i}"), "a", 80.0, true)).collect();
        for (c, (day, tag)) in convs.iter_mut().zip(days_tags) {
            at(c, "anonymous", day, &[tag]);
        }
        let f = first_contact_resolution(&convs, 7, &[]);
        // day 9 refund comes back on day 12 past two other matters; day 1 and day 12 do not
        // (day 9 is 8 days after day 1, day 20 is 8 days after day 12)
        assert_eq!(
            f.resolved_first,
            [Some(true), Some(true), Some(true), Some(true), Some(false), Some(true)]
        );
        // day 12 repeats day 9 (looking back past days 11 and 10)
        assert_eq!(f.is_repeat, [true, false, false, false, false, false]);
    }

    #[test]
    fn a_placeholder_customer_id_counts_as_no_id() {
        let mut convs: Vec<ConvRecord> =
            (0..4).map(|i| conv(&format!("c{i}"), "a", 80.0, true)).collect();
        at(&mut convs[0], "anonymous", 2, &["refund"]);
        at(&mut convs[1], "anonymous", 3, &["refund"]);
        at(&mut convs[2], "u1", 4, &["refund"]);
        at(&mut convs[3], " Guest", 5, &["refund"]);
        convs[1].resolved = Some(true);
        let unknown = vec!["anonymous".to_string(), "guest".to_string()];
        let f = first_contact_resolution(&convs, 7, &unknown);
        assert_eq!(f.known_customer, [false, false, true, false], "any case, spaces trimmed");
        // not a repeat of each other; without `resolved` the first is not counted at all
        assert_eq!(f.is_repeat, [false, false, false, false]);
        assert_eq!(f.resolved_first, [None, Some(true), Some(true), None]);
        let input = ReportInput { conversations: convs.clone(), ..Default::default() };
        assert!(follow_ups(&input, &f).iter().all(|u| u.customer_id != "anonymous"));
        // without the placeholder list they are one customer who came back
        let f = first_contact_resolution(&convs, 7, &[]);
        assert_eq!(f.is_repeat, [false, true, false, false]);
    }

    #[test]
    fn follow_ups_list_repeat_and_unhappy_customers_with_reasons() {
        let mut convs: Vec<ConvRecord> =
            (0..3).map(|i| conv(&format!("c{i}"), "a", 80.0, true)).collect();
        at(&mut convs[0], "u1", 2, &[]);
        at(&mut convs[1], "u1", 3, &[]);
        at(&mut convs[2], "u2", 3, &[]);
        convs[1].signals = vec!["churn_risk".into()];
        let input = ReportInput { conversations: convs, ..Default::default() };
        let fcr = first_contact_resolution(&input.conversations, 7, &[]);
        let f = follow_ups(&input, &fcr);
        assert_eq!(f.len(), 1, "u2 has nothing to follow up");
        assert_eq!(f[0].customer_id, "u1");
        assert_eq!(
            f[0].reasons,
            ["2 contacts, 1 of them a repeat within the window", "churn risk in 1 conversation(s)"]
        );
        assert_eq!(f[0].conversations, ["c0", "c1"]);
    }
}
