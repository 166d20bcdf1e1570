//! The agent × period table, the skill-gap test and the overview figures.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::contacts::{Fcr, rate};
use super::period::{PeriodKind, local_day};
use super::{AgentPeriod, Dist, Overview, ReportInput, ReportOptions, SkillGap, TeamGap};
use crate::rubric::Dimension;
use crate::score::{round1, round3};

/// Linear-interpolated quantile of sorted values (q in 0..=1).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
}

fn dist(values: impl Iterator<Item = f64>) -> Dist {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    let q = |p| quantile(&v, p).map(round1);
    Dist {
        n: v.len(),
        mean: (!v.is_empty()).then(|| round1(v.iter().sum::<f64>() / v.len() as f64)),
        p25: q(0.25),
        p50: q(0.5),
        p75: q(0.75),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for v in values {
        sum += v;
        n += 1;
    }
    (n > 0).then(|| sum / n as f64)
}

fn share(values: impl Iterator<Item = bool>) -> Option<f64> {
    rate(values.map(Some)).map(round3)
}

/// The local day of every conversation (in the report's time zone) and the first day of the
/// range: computed once per report, used by every table.
pub struct Days {
    pub of: Vec<NaiveDate>,
    pub first: Option<NaiveDate>,
}

impl Days {
    pub fn new(input: &ReportInput, opts: &ReportOptions) -> Days {
        let of: Vec<NaiveDate> =
            input.conversations.iter().map(|c| local_day(c.started_at, opts.tz)).collect();
        let first = of.iter().min().copied();
        Days { of, first }
    }
}

/// Rows for one group of conversations (one agent or the team, one period).
fn row(
    input: &ReportInput,
    fcr: &Fcr,
    members: &[usize],
    flag_counts: &HashMap<usize, Vec<&str>>,
) -> AgentPeriod {
    let convs = &input.conversations;
    let it = || members.iter().map(|&i| &convs[i]);
    let mut rules: BTreeMap<&str, usize> = BTreeMap::new();
    for i in members {
        for r in flag_counts.get(i).into_iter().flatten() {
            *rules.entry(r).or_default() += 1;
        }
    }
    let mut top: Vec<(&str, usize)> = rules.into_iter().collect();
    top.sort_by_key(|&(r, n)| (std::cmp::Reverse(n), r));
    AgentPeriod {
        scope: "agent",
        agent_id: None,
        period: PeriodKind::All,
        period_start: NaiveDate::MIN,
        conversations: members.len(),
        passed: it().filter(|c| c.passed).count(),
        qa: dist(it().map(|c| c.qa_score)),
        dimensions: std::array::from_fn(|d| dist(it().filter_map(|c| c.subscores[d]))),
        first_response_mean_secs: mean(it().filter_map(|c| c.first_response_secs)).map(round1),
        first_response_within: share(
            it().filter_map(|c| c.first_response_secs.map(|s| s <= c.first_response_limit_secs)),
        ),
        mean_reply_mean_secs: mean(it().filter_map(|c| c.mean_agent_reply_secs)).map(round1),
        mean_reply_within: share(
            it().filter_map(|c| c.mean_agent_reply_secs.map(|s| s < c.reply_limit_secs)),
        ),
        fcr: rate(members.iter().map(|&i| fcr.resolved_first[i])).map(round3),
        csat_mean: mean(it().filter_map(|c| c.csat.map(f64::from)))
            .map(|v| round1(v * 10.0) / 10.0),
        top_failing_rules: top.into_iter().take(3).map(|(r, n)| format!("{r} ({n})")).collect(),
        delta_qa_mean: None,
        delta_pass_rate: None,
        delta_dimensions: [None; 5],
    }
}

/// Flags that count as failures for "most frequent failing rules": phrase and timing findings
/// of severity minor or worse, and model flags (not customer signals or info).
fn failing_rules(input: &ReportInput) -> HashMap<usize, Vec<&str>> {
    let mut map: HashMap<usize, Vec<&str>> = HashMap::new();
    for f in &input.flags {
        if &*f.dimension == "signal" || &*f.dimension == "data" || &*f.severity == "info" {
            continue;
        }
        map.entry(f.conv).or_default().push(f.rule_id.as_deref().unwrap_or(&f.flag));
    }
    map
}

pub fn agent_periods(input: &ReportInput, fcr: &Fcr, days: &Days) -> Vec<AgentPeriod> {
    let Some(first) = days.first else { return vec![] };
    let failing = failing_rules(input);
    // (kind, period_start, agent or None for team) -> conversation indexes
    let mut groups: BTreeMap<(PeriodKind, NaiveDate, Option<&str>), Vec<usize>> = BTreeMap::new();
    for (i, c) in input.conversations.iter().enumerate() {
        for kind in PeriodKind::ALL {
            let start = kind.start(days.of[i], first);
            groups.entry((kind, start, Some(c.agent_id.as_ref()))).or_default().push(i);
            groups.entry((kind, start, None)).or_default().push(i);
        }
    }
    let mut rows: BTreeMap<(PeriodKind, NaiveDate, Option<&str>), AgentPeriod> = BTreeMap::new();
    for (key, members) in &groups {
        let mut r = row(input, fcr, members, &failing);
        r.scope = if key.2.is_some() { "agent" } else { "team" };
        r.agent_id = key.2.map(str::to_string);
        r.period = key.0;
        r.period_start = key.1;
        rows.insert(*key, r);
    }
    with_deltas(rows)
}

/// Sets each row's change against the previous period of its kind and scope, and orders the
/// rows: by kind and period, the team row first, then agents by id.
pub fn with_deltas<A: Ord + Clone>(
    mut rows: BTreeMap<(PeriodKind, NaiveDate, Option<A>), AgentPeriod>,
) -> Vec<AgentPeriod> {
    let keys: Vec<_> = rows.keys().cloned().collect();
    for key in keys {
        let Some(prev_start) = key.0.previous(key.1) else { continue };
        let Some(prev) = rows.get(&(key.0, prev_start, key.2.clone())).cloned() else { continue };
        let r = rows.get_mut(&key).expect("key from the map");
        let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| round1(a - b));
        r.delta_qa_mean = diff(r.qa.mean, prev.qa.mean);
        r.delta_pass_rate = Some(round3(r.pass_rate() - prev.pass_rate()));
        r.delta_dimensions =
            std::array::from_fn(|d| diff(r.dimensions[d].mean, prev.dimensions[d].mean));
    }
    // team rows first within a period, then agents by id
    let mut out: Vec<AgentPeriod> = rows.into_values().collect();
    out.sort_by(|a, b| {
        (a.period, a.period_start, a.scope != "team", &a.agent_id).cmp(&(
            b.period,
            b.period_start,
            b.scope != "team",
            &b.agent_id,
        ))
    });
    out
}

/// The skill-gap test per period and dimension (see [`super::GapOptions`]), and the team-level
/// gaps over the whole range.
pub fn skill_gaps(
    input: &ReportInput,
    rows: &[AgentPeriod],
    days: &Days,
    opts: &ReportOptions,
) -> (Vec<SkillGap>, Vec<TeamGap>) {
    let (mut gaps, team) = gaps_of_rows(rows, opts);
    fill_examples(input, days, &mut gaps);
    (gaps, team)
}

/// The gaps (without examples) and team gaps that the agent rows show.
pub fn gaps_of_rows(rows: &[AgentPeriod], opts: &ReportOptions) -> (Vec<SkillGap>, Vec<TeamGap>) {
    let g = opts.gaps;
    let mut gaps = Vec::new();
    let mut team = Vec::new();
    let mut periods: BTreeMap<(PeriodKind, NaiveDate), Vec<&AgentPeriod>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.scope == "agent") {
        periods.entry((r.period, r.period_start)).or_default().push(r);
    }
    for ((kind, start), agents) in &periods {
        for d in Dimension::ALL {
            let eligible: Vec<(&AgentPeriod, f64)> = agents
                .iter()
                .filter(|r| r.dimensions[d as usize].n >= g.min_conversations)
                .filter_map(|r| r.dimensions[d as usize].mean.map(|m| (*r, m)))
                .collect();
            if eligible.len() < 4 {
                continue; // quartiles of fewer agents mean nothing
            }
            let mut means: Vec<f64> = eligible.iter().map(|e| e.1).collect();
            means.sort_by(f64::total_cmp);
            let (p25, median) = (quantile(&means, 0.25).unwrap(), quantile(&means, 0.5).unwrap());
            if *kind == PeriodKind::All {
                let below: Vec<String> = eligible
                    .iter()
                    .filter(|e| e.1 < opts.targets.dimension)
                    .filter_map(|e| e.0.agent_id.clone())
                    .collect();
                if below.len() * 2 > eligible.len() {
                    team.push(TeamGap {
                        dimension: d,
                        team_mean: round1(means.iter().sum::<f64>() / means.len() as f64),
                        agents_below: below,
                        agents_counted: eligible.len(),
                    });
                }
            }
            for (r, m) in eligible {
                if m < p25 && m <= median - g.min_points {
                    let agent = r.agent_id.clone().unwrap_or_default();
                    gaps.push(SkillGap {
                        examples: Vec::new(), // filled below, in one pass
                        agent_id: agent,
                        period: *kind,
                        period_start: *start,
                        dimension: d,
                        conversations: r.dimensions[d as usize].n,
                        agent_mean: m,
                        team_p25: round1(p25),
                        team_median: round1(median),
                    });
                }
            }
        }
    }
    (gaps, team)
}

/// Each gap's examples: the three conversations of its agent and period with the lowest score in
/// its dimension (ties by id), found in one pass over the conversations (not one per gap).
fn fill_examples(input: &ReportInput, days: &Days, gaps: &mut [SkillGap]) {
    let Some(first) = days.first else { return };
    let mut wanted: HashMap<(PeriodKind, NaiveDate, &str), Vec<usize>> = HashMap::new();
    for (g, gap) in gaps.iter().enumerate() {
        wanted.entry((gap.period, gap.period_start, gap.agent_id.as_str())).or_default().push(g);
    }
    let mut worst: Vec<Vec<(f64, &str)>> = vec![Vec::new(); gaps.len()];
    for (i, c) in input.conversations.iter().enumerate() {
        for kind in PeriodKind::ALL {
            let key = (kind, kind.start(days.of[i], first), &*c.agent_id);
            for &g in wanted.get(&key).into_iter().flatten() {
                if let Some(score) = c.subscores[gaps[g].dimension as usize] {
                    keep_lowest(&mut worst[g], (score, c.conversation_id.as_str()), 3);
                }
            }
        }
    }
    drop(wanted);
    for (gap, w) in gaps.iter_mut().zip(worst) {
        gap.examples = w.into_iter().map(|(_, id)| id.to_string()).collect();
    }
}

/// Inserts `x` into the ascending list `v` (by score, then id) and keeps the `n` lowest.
pub fn keep_lowest<S: Ord>(v: &mut Vec<(f64, S)>, x: (f64, S), n: usize) {
    let pos = v.partition_point(|y| y.0.total_cmp(&x.0).then(y.1.cmp(&x.1)).is_lt());
    if pos < n {
        v.insert(pos, x);
        v.truncate(n);
    }
}

pub fn overview(input: &ReportInput, fcr: &Fcr, days: &Days, opts: &ReportOptions) -> Overview {
    let convs = &input.conversations;
    let mut histogram = [0usize; 10];
    for c in convs {
        histogram[((c.qa_score / 10.0).floor().max(0.0) as usize).min(9)] += 1;
    }
    let t = opts.targets;
    let pairs: Vec<(f64, f64)> =
        convs.iter().filter_map(|c| c.csat.map(|s| (c.qa_score, f64::from(s)))).collect();
    let mut agents: Vec<&str> = convs.iter().map(|c| c.agent_id.as_ref()).collect();
    agents.sort_unstable();
    agents.dedup();
    Overview {
        conversations: convs.len(),
        passed: convs.iter().filter(|c| c.passed).count(),
        agents: agents.len(),
        first_day: days.first,
        last_day: days.of.iter().max().copied(),
        qa_mean: mean(convs.iter().map(|c| c.qa_score)).map(round1),
        score_histogram: histogram,
        dimension_means: std::array::from_fn(|d| {
            mean(convs.iter().filter_map(|c| c.subscores[d])).map(round1)
        }),
        first_response_within: share(
            convs
                .iter()
                .filter_map(|c| c.first_response_secs.map(|s| s <= c.first_response_limit_secs)),
        ),
        mean_reply_within: share(
            convs.iter().filter_map(|c| c.mean_agent_reply_secs.map(|s| s < c.reply_limit_secs)),
        ),
        fcr: rate(fcr.resolved_first.iter().copied()).map(round3),
        csat_mean: mean(pairs.iter().map(|p| p.1)).map(|v| (v * 100.0).round() / 100.0),
        qa_csat_correlation: pearson(&pairs).map(|r| (round3(r), pairs.len())),
        targets: t,
    }
}

pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.len() < 3 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) =
        (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::test_support::conv;

    #[test]
    fn quartiles_interpolate() {
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(quantile(&v, 0.25), Some(20.0));
        assert_eq!(quantile(&v, 0.5), Some(30.0));
        assert_eq!(quantile(&[1.0, 2.0], 0.5), Some(1.5));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn keep_lowest_keeps_the_n_lowest_scores_ties_by_id() {
        let mut v = Vec::new();
        for x in [(50.0, "e"), (40.0, "d"), (60.0, "a"), (40.0, "b"), (45.0, "c"), (39.0, "z")] {
            keep_lowest(&mut v, x, 3);
        }
        assert_eq!(v, [(39.0, "z"), (40.0, "b"), (40.0, "d")]);
    }

    /// Six agents, four conversations each over two weeks; "weak" lacks empathy only.
    fn team() -> ReportInput {
        let mut convs = Vec::new();
        for (a, agent) in ["a", "b", "c", "d", "e", "weak"].iter().enumerate() {
            for k in 0..4u32 {
                let mut c = conv(&format!("{agent}-{k}"), agent, 85.0, true);
                c.started_at = format!("2026-11-{:02}T09:00:00Z", 2 + k * 3).parse().unwrap();
                c.subscores = [Some(90.0), Some(80.0 + a as f64), Some(90.0), None, None];
                if *agent == "weak" {
                    c.subscores[Dimension::Empathy as usize] = Some(40.0 + k as f64);
                    // responsiveness improves in the second week
                    c.subscores[0] = Some(if k < 2 { 85.0 } else { 90.0 });
                }
                convs.push(c);
            }
        }
        ReportInput { conversations: convs, pass_threshold: 70.0, ..Default::default() }
    }

    #[test]
    fn the_skill_gap_test_finds_the_agent_weak_in_one_dimension() {
        let input = team();
        let opts = ReportOptions::default();
        let fcr = super::super::contacts::first_contact_resolution(&input.conversations, 7, &[]);
        let days = Days::new(&input, &opts);
        let rows = agent_periods(&input, &fcr, &days);
        let (gaps, team_gaps) = skill_gaps(&input, &rows, &days, &opts);
        let all: Vec<(&str, Dimension)> = gaps
            .iter()
            .filter(|g| g.period == PeriodKind::All)
            .map(|g| (g.agent_id.as_str(), g.dimension))
            .collect();
        assert_eq!(all, [("weak", Dimension::Empathy)]);
        let g = gaps.iter().find(|g| g.period == PeriodKind::All).unwrap();
        assert_eq!(g.agent_mean, 41.5);
        assert_eq!(g.examples, ["weak-0", "weak-1", "weak-2"]);
        assert!(team_gaps.is_empty(), "{team_gaps:?}");
    }

    #[test]
    fn rows_compare_each_period_with_the_one_before() {
        let input = team();
        let opts = ReportOptions::default();
        let fcr = super::super::contacts::first_contact_resolution(&input.conversations, 7, &[]);
        let rows = agent_periods(&input, &fcr, &Days::new(&input, &opts));
        let weeks: Vec<&AgentPeriod> = rows
            .iter()
            .filter(|r| r.period == PeriodKind::Week && r.agent_id.as_deref() == Some("weak"))
            .collect();
        // 2, 5 Nov (week of 2 Nov) and 8 Nov (week of 2 Nov: Sunday) and 11 Nov (week of 9 Nov)
        assert_eq!(weeks.len(), 2);
        assert_eq!(weeks[0].delta_dimensions[0], None);
        assert_eq!(weeks[0].dimensions[0].mean, Some(86.7));
        assert_eq!(weeks[1].dimensions[0].mean, Some(90.0));
        assert_eq!(weeks[1].delta_dimensions[0], Some(3.3));
        let team_all =
            rows.iter().find(|r| r.scope == "team" && r.period == PeriodKind::All).unwrap();
        assert_eq!(team_all.conversations, 24);
        assert_eq!(team_all.first_response_within, None);
    }
}
