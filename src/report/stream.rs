//! The whole-store report (`convqa report` without `--days`) without holding the records: record
//! batches are streamed from the Parquet part files and folded into aggregates, and the result is
//! the same [`Report`] that [`super::build`] makes from loaded records, byte for byte. Memory
//! grows with agents × periods and with distinct identified customers, not with the records.
//!
//! What is kept, and its bound:
//! - per (period, agent or team) group: counts, sums (added in the conversations' order, so the
//!   means are the same floats), rule counts, and the *exact* multiset of qa_score and each
//!   dimension score as a count per distinct value, for the quartiles (scores are rounded to 0.1
//!   on 0–100, so at most 1,001 values each; the mean is summed over it in sorted order, as
//!   [`super::build`] sums the sorted scores) — grows with agents × periods;
//! - the review queue: per agent, the best `min(per_agent, top_n)` candidates (a bounded heap;
//!   the greedy per-agent choice over them is the choice over all), and the `sample_max + top_n`
//!   lowest sample hashes (the queued ones leave the sample afterwards);
//! - per identified customer (about 300 bytes, measured): counts, the agents met, and the
//!   contacts of the last two repeat windows of the customer's newest contact (FCR needs those
//!   within one window on both sides) — this grows with distinct customers, the one term that
//!   does. The two windows need each customer's contacts in time order, which `convqa score`
//!   writes for time-ordered input; when a customer's contact comes out of order, the pass starts
//!   again keeping every identified contact (about 40 bytes each, no text) — exact, but then
//!   growing with identified conversations;
//! - a second pass reads the conversations again for what needs the first pass's totals: the
//!   QA–CSAT correlation (around the means), the skill gaps' examples (lowest three per gap) and
//!   the conversation ids of the follow-up customers.
//!
//! Flags are joined to their conversation by reading both tables in step (`convqa score` writes
//! a conversation's flags in its order); a flags file in another order falls back to
//! [`super::load`] and [`super::build`].

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::agents::{gaps_of_rows, keep_lowest, with_deltas};
use super::load::{LoadError, Source, open};
use super::period::{PeriodKind, local_day};
use super::queue::{evidence, findings, sample_point};
use super::{
    AgentPeriod, ConvRecord, Dist, FlagRecord, FollowUp, Overview, QueueEntry, Report,
    ReportOptions,
};
use crate::score::{round1, round3};

/// Builds the report of every conversation stored in `dir`, streaming.
pub fn report(dir: &Path, opts: &ReportOptions) -> Result<Report, LoadError> {
    let source = open(dir)?;
    let first = match fold(&source, opts, Order::Time)? {
        Ok(folded) => Ok(folded),
        Err(Restart::OutOfOrder) => fold(&source, opts, Order::Any)?,
        Err(Restart::Unaligned) => Err(Restart::Unaligned),
    };
    match first {
        Ok(folded) => finish(&source, folded, opts),
        Err(_) => Ok(super::build(&super::load(dir)?, opts)),
    }
}

/// How far the contacts of one customer can be trusted to come in time order.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    /// In time order: contacts older than two windows are dropped.
    Time,
    /// Any order: every identified contact is kept.
    Any,
}

/// Why the first pass stops early.
enum Restart {
    /// A customer's contact came before one already seen (in [`Order::Time`]).
    OutOfOrder,
    /// The flags are not in their conversations' order.
    Unaligned,
}

#[derive(Default, Clone, Copy)]
struct Mean {
    sum: f64,
    n: usize,
}

impl Mean {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.n += 1;
    }

    fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

#[derive(Default, Clone, Copy)]
struct Rate {
    yes: usize,
    n: usize,
}

impl Rate {
    fn add(&mut self, v: Option<bool>) {
        if let Some(v) = v {
            self.n += 1;
            self.yes += usize::from(v);
        }
    }

    fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.yes as f64 / self.n as f64)
    }
}

/// The exact multiset of a score: a count per distinct value.
#[derive(Default)]
struct Counts(HashMap<u64, u64>);

impl Counts {
    fn add(&mut self, v: f64) {
        *self.0.entry(v.to_bits()).or_default() += 1;
    }

    /// The same figures as the mean and quartiles of the sorted values.
    fn dist(&self) -> Dist {
        let mut v: Vec<(f64, u64)> = self.0.iter().map(|(b, n)| (f64::from_bits(*b), *n)).collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let n: u64 = v.iter().map(|x| x.1).sum();
        if n == 0 {
            return Dist::default();
        }
        let nth = |k: u64| {
            let mut seen = 0;
            for &(x, c) in &v {
                seen += c;
                if k < seen {
                    return x;
                }
            }
            unreachable!("k < n")
        };
        let q = |p: f64| {
            let pos = p * (n - 1) as f64;
            let (lo, hi) = (pos.floor() as u64, pos.ceil() as u64);
            let (a, b) = (nth(lo), nth(hi));
            Some(round1(a + (b - a) * (pos - lo as f64)))
        };
        let sum: f64 = v.iter().flat_map(|&(x, c)| std::iter::repeat_n(x, c as usize)).sum();
        Dist {
            n: n as usize,
            mean: Some(round1(sum / n as f64)),
            p25: q(0.25),
            p50: q(0.5),
            p75: q(0.75),
        }
    }
}

/// One (period, agent or team) row in the making.
#[derive(Default)]
struct Group {
    conversations: usize,
    passed: usize,
    qa: Counts,
    dimensions: [Counts; 5],
    first_response: Mean,
    first_response_within: Rate,
    mean_reply: Mean,
    mean_reply_within: Rate,
    fcr: Rate,
    csat: Mean,
    rules: BTreeMap<Arc<str>, usize>,
}

impl Group {
    fn add(&mut self, c: &ConvRecord, failing: &[Arc<str>]) {
        self.conversations += 1;
        self.passed += usize::from(c.passed);
        self.qa.add(c.qa_score);
        for (d, s) in c.subscores.iter().enumerate() {
            if let Some(s) = s {
                self.dimensions[d].add(*s);
            }
        }
        if let Some(s) = c.first_response_secs {
            self.first_response.add(s);
            self.first_response_within.add(Some(s <= c.first_response_limit_secs));
        }
        if let Some(s) = c.mean_agent_reply_secs {
            self.mean_reply.add(s);
            self.mean_reply_within.add(Some(s < c.reply_limit_secs));
        }
        if let Some(s) = c.csat {
            self.csat.add(f64::from(s));
        }
        for r in failing {
            *self.rules.entry(r.clone()).or_default() += 1;
        }
    }

    fn row(&self) -> AgentPeriod {
        let mut top: Vec<(&str, usize)> = self.rules.iter().map(|(r, n)| (&**r, *n)).collect();
        top.sort_by_key(|&(r, n)| (std::cmp::Reverse(n), r));
        AgentPeriod {
            scope: "agent",
            agent_id: None,
            period: PeriodKind::All,
            period_start: NaiveDate::MIN,
            conversations: self.conversations,
            passed: self.passed,
            qa: self.qa.dist(),
            dimensions: std::array::from_fn(|d| self.dimensions[d].dist()),
            first_response_mean_secs: self.first_response.get().map(round1),
            first_response_within: self.first_response_within.get().map(round3),
            mean_reply_mean_secs: self.mean_reply.get().map(round1),
            mean_reply_within: self.mean_reply_within.get().map(round3),
            fcr: self.fcr.get().map(round3),
            csat_mean: self.csat.get().map(|v| round1(v * 10.0) / 10.0),
            top_failing_rules: top.into_iter().take(3).map(|(r, n)| format!("{r} ({n})")).collect(),
            delta_qa_mean: None,
            delta_pass_rate: None,
            delta_dimensions: [None; 5],
        }
    }
}

/// (kind, first day of the period — `NaiveDate::MIN` for the whole range until its first day is
/// known —, agent index or `None` for the team).
type GroupKey = (PeriodKind, NaiveDate, Option<u32>);

fn group_keys(day: NaiveDate, agent: u32) -> impl Iterator<Item = GroupKey> {
    PeriodKind::ALL.into_iter().flat_map(move |kind| {
        let start = if kind == PeriodKind::All { NaiveDate::MIN } else { kind.start(day, day) };
        [(kind, start, Some(agent)), (kind, start, None)]
    })
}

/// A queue candidate kept in a bounded heap; ordered so that the heap's top is the one to drop.
struct Kept {
    /// Raw priority (the queue entry holds it rounded).
    priority: f64,
    /// The sample hash (calibration sample only).
    point: f64,
    entry: QueueEntry,
}

/// Priority order: more points first, then lower qa_score, then id.
fn by_priority(a: &Kept, b: &Kept) -> std::cmp::Ordering {
    b.priority
        .total_cmp(&a.priority)
        .then(a.entry.qa_score.total_cmp(&b.entry.qa_score))
        .then(a.entry.conversation_id.cmp(&b.entry.conversation_id))
}

/// Sample order: lower hash first, then id.
fn by_point(a: &Kept, b: &Kept) -> std::cmp::Ordering {
    a.point.total_cmp(&b.point).then(a.entry.conversation_id.cmp(&b.entry.conversation_id))
}

struct InPriority(Kept);
impl PartialEq for InPriority {
    fn eq(&self, o: &Self) -> bool {
        by_priority(&self.0, &o.0).is_eq()
    }
}
impl Eq for InPriority {}
impl PartialOrd for InPriority {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InPriority {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        by_priority(&self.0, &o.0)
    }
}

struct InSample(Kept);
impl PartialEq for InSample {
    fn eq(&self, o: &Self) -> bool {
        by_point(&self.0, &o.0).is_eq()
    }
}
impl Eq for InSample {}
impl PartialOrd for InSample {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InSample {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        by_point(&self.0, &o.0)
    }
}

/// Pushes `x` and drops the greatest while over `cap` (`None`: no cap).
fn push_bounded<T: Ord>(heap: &mut BinaryHeap<T>, x: T, cap: Option<usize>) {
    if let Some(cap) = cap
        && heap.len() >= cap
        && heap.peek().is_none_or(|top| x >= *top)
    {
        return;
    }
    heap.push(x);
    if let Some(cap) = cap {
        while heap.len() > cap {
            heap.pop();
        }
    }
}

/// One contact of an identified customer, for first-contact resolution.
struct Contact {
    t: DateTime<Utc>,
    seq: u64,
    tags: u32,
    agent: u32,
    day: NaiveDate,
    resolved: Option<bool>,
    is_repeat: bool,
}

/// What is kept per identified customer (about 300 bytes with its id and the map slot, measured).
#[derive(Default)]
struct Customer {
    /// In (time, input order); in [`Order::Time`] only the last two windows', the ones from
    /// `open` on not yet decided.
    contacts: Vec<Contact>,
    open: u32,
    n: u32,
    repeats: u32,
    negatives: u32,
    complaints: u32,
    churn: u32,
    last: Option<DateTime<Utc>>,
    agents: Vec<u32>,
}

/// What the first pass folds the conversations into.
struct Folded {
    conversations: usize,
    passed: usize,
    agents: Vec<Arc<str>>,
    first_day: Option<NaiveDate>,
    last_day: Option<NaiveDate>,
    qa: Mean,
    histogram: [usize; 10],
    dimensions: [Mean; 5],
    first_response_within: Rate,
    mean_reply_within: Rate,
    fcr: Rate,
    csat: Mean,
    /// Sums of qa_score and CSAT over the conversations having both (started at -0.0, as
    /// `Iterator::sum` does), and their number.
    csat_pairs: (f64, f64, usize),
    groups: HashMap<GroupKey, Group>,
    priority: HashMap<Option<u32>, BinaryHeap<InPriority>>,
    sample: BinaryHeap<InSample>,
    customers: HashMap<Box<str>, Customer>,
    tag_sets: Vec<Vec<Arc<str>>>,
}

impl Folded {
    fn same_matter(&self, a: u32, b: u32) -> bool {
        let (a, b) = (&self.tag_sets[a as usize], &self.tag_sets[b as usize]);
        a.is_empty() || b.is_empty() || a.iter().any(|t| b.contains(t))
    }

    /// Counts a decided contact's first-contact resolution in its groups.
    fn decide(&mut self, contact: (u32, NaiveDate, Option<bool>), came_back: bool) {
        let (agent, day, resolved) = contact;
        let resolved_first = Some(!came_back && resolved != Some(false));
        self.fcr.add(resolved_first);
        for key in group_keys(day, agent) {
            self.groups.get_mut(&key).expect("added with the conversation").fcr.add(resolved_first);
        }
    }
}

fn fold(
    source: &Source,
    opts: &ReportOptions,
    order: Order,
) -> Result<Result<Folded, Restart>, LoadError> {
    let window = Duration::days(i64::from(opts.repeat_window_days));
    let known = |id: &str| {
        !opts.unknown_customer_ids.iter().any(|u| u.trim().eq_ignore_ascii_case(id.trim()))
    };
    let q = &opts.queue;
    let per_agent_cap = if q.per_agent > 0 { q.per_agent.min(q.top_n) } else { q.top_n };
    let sample_cap = (q.sample_max > 0).then(|| q.sample_max + q.top_n);
    let mut f = Folded {
        conversations: 0,
        passed: 0,
        agents: Vec::new(),
        first_day: None,
        last_day: None,
        qa: Mean::default(),
        histogram: [0; 10],
        dimensions: [Mean::default(); 5],
        first_response_within: Rate::default(),
        mean_reply_within: Rate::default(),
        fcr: Rate::default(),
        csat: Mean::default(),
        csat_pairs: (-0.0, -0.0, 0),
        groups: HashMap::new(),
        priority: HashMap::new(),
        sample: BinaryHeap::new(),
        customers: HashMap::new(),
        tag_sets: Vec::new(),
    };
    let mut agent_index: HashMap<Arc<str>, u32> = HashMap::new();
    let mut tag_index: HashMap<Vec<Arc<str>>, u32> = HashMap::new();
    let mut convs = source.conversations();
    let mut flags = source.flags();
    let mut mine: Vec<FlagRecord> = Vec::new();
    let mut failing: Vec<Arc<str>> = Vec::new();
    let mut seq = 0u64;
    let mut customers: HashMap<Box<str>, Customer> = HashMap::new();
    while let Some(c) = convs.next_row()? {
        mine.clear();
        while flags.peek()?.is_some_and(|(id, _)| *id == c.conversation_id) {
            mine.push(flags.next_row()?.expect("peeked").1);
        }
        let flag_refs: Vec<&FlagRecord> = mine.iter().collect();
        failing.clear();
        failing.extend(
            mine.iter()
                .filter(|f| {
                    !(&*f.dimension == "signal"
                        || &*f.dimension == "data"
                        || &*f.severity == "info")
                })
                .map(|f| f.rule_id.clone().unwrap_or_else(|| f.flag.clone())),
        );
        let next = f.agents.len() as u32;
        let agent = *agent_index.entry(c.agent_id.clone()).or_insert_with(|| {
            f.agents.push(c.agent_id.clone());
            next
        });
        let day = local_day(c.started_at, opts.tz);
        f.first_day = f.first_day.min(Some(day)).or(Some(day));
        f.last_day = f.last_day.max(Some(day));
        // the overview
        f.conversations += 1;
        f.passed += usize::from(c.passed);
        f.qa.add(c.qa_score);
        f.histogram[((c.qa_score / 10.0).floor().max(0.0) as usize).min(9)] += 1;
        for (d, s) in c.subscores.iter().enumerate() {
            if let Some(s) = s {
                f.dimensions[d].add(*s);
            }
        }
        if let Some(s) = c.first_response_secs {
            f.first_response_within.add(Some(s <= c.first_response_limit_secs));
        }
        if let Some(s) = c.mean_agent_reply_secs {
            f.mean_reply_within.add(Some(s < c.reply_limit_secs));
        }
        if let Some(s) = c.csat {
            f.csat.add(f64::from(s));
            f.csat_pairs.0 += c.qa_score;
            f.csat_pairs.1 += f64::from(s);
            f.csat_pairs.2 += 1;
        }
        for key in group_keys(day, agent) {
            f.groups.entry(key).or_default().add(&c, &failing);
        }
        // the review queue
        let (priority, reasons) =
            findings(&c, &flag_refs, source.pass_threshold, source.model_thresholds.as_ref());
        let entry = |reasons: Vec<String>, priority: f64| QueueEntry {
            rank: 0,
            conversation_id: c.conversation_id.clone(),
            agent_id: c.agent_id.to_string(),
            language: c.language.to_string(),
            started_at: c.started_at,
            qa_score: c.qa_score,
            passed: c.passed,
            priority: round1(priority),
            selection: "priority",
            reasons,
            evidence: evidence(&flag_refs),
        };
        // a queue entry (strings and evidence) is made only for a candidate its heap keeps
        let beats = |top: Option<&Kept>, better: &dyn Fn(&Kept) -> bool| top.is_none_or(better);
        if !reasons.is_empty() && per_agent_cap > 0 {
            let heap = f.priority.entry((q.per_agent > 0).then_some(agent)).or_default();
            let better = |top: &Kept| {
                top.priority
                    .total_cmp(&priority)
                    .then(c.qa_score.total_cmp(&top.entry.qa_score))
                    .then(c.conversation_id.as_str().cmp(top.entry.conversation_id.as_str()))
                    .is_lt()
            };
            if heap.len() < per_agent_cap || beats(heap.peek().map(|k| &k.0), &better) {
                let kept = Kept { priority, point: 0.0, entry: entry(reasons, priority) };
                push_bounded(heap, InPriority(kept), Some(per_agent_cap));
            }
        }
        if c.passed {
            let point = sample_point(q.seed, &c.conversation_id);
            let better = |top: &Kept| {
                point
                    .total_cmp(&top.point)
                    .then(c.conversation_id.as_str().cmp(top.entry.conversation_id.as_str()))
                    .is_lt()
            };
            let room = sample_cap.is_none_or(|cap| f.sample.len() < cap);
            if point < q.sample_percent && (room || beats(f.sample.peek().map(|k| &k.0), &better)) {
                let reasons =
                    vec!["random sample of passed conversations (calibration audit)".to_string()];
                let mut kept = Kept { priority: 0.0, point, entry: entry(reasons, 0.0) };
                kept.entry.selection = "sample";
                push_bounded(&mut f.sample, InSample(kept), sample_cap);
            }
        }
        // first-contact resolution and follow-ups
        let customer = c.customer_id.as_deref().filter(|id| known(id));
        let Some(customer) = customer else {
            f.fcr.add(c.resolved);
            for key in group_keys(day, agent) {
                f.groups.get_mut(&key).expect("added above").fcr.add(c.resolved);
            }
            seq += 1;
            continue;
        };
        let next = f.tag_sets.len() as u32;
        let tags = match tag_index.get(&c.tags) {
            Some(&t) => t,
            None => {
                tag_index.insert(c.tags.clone(), next);
                f.tag_sets.push(c.tags.clone());
                next
            }
        };
        let contact = Contact {
            t: c.started_at,
            seq,
            tags,
            agent,
            day,
            resolved: c.resolved,
            is_repeat: false,
        };
        seq += 1;
        let negative = mine.iter().any(|f| &*f.flag == "customer_ends_negative");
        let has = |s: &str| c.signals.iter().any(|x| &**x == s);
        if !customers.contains_key(customer) {
            customers.insert(customer.into(), Customer::default());
        }
        let cust = customers.get_mut(customer).expect("inserted above");
        cust.n += 1;
        cust.negatives += u32::from(negative);
        cust.complaints += u32::from(has("complaint"));
        cust.churn += u32::from(has("churn_risk"));
        cust.last = cust.last.max(Some(contact.t));
        if let Err(pos) = cust.agents.binary_search(&agent) {
            cust.agents.reserve_exact(1);
            cust.agents.insert(pos, agent);
        }
        // most customers have one contact: no room for four
        cust.contacts.reserve_exact(usize::from(cust.contacts.capacity() == 0));
        if order == Order::Any {
            cust.contacts.push(contact);
        } else {
            if cust.contacts.last().is_some_and(|l| contact.t < l.t) {
                return Ok(Err(Restart::OutOfOrder));
            }
            let t = contact.t;
            let mut contact = contact;
            contact.is_repeat = cust
                .contacts
                .iter()
                .rev()
                .take_while(|k| t - k.t <= window)
                .any(|k| f.same_matter(k.tags, contact.tags));
            cust.repeats += u32::from(contact.is_repeat);
            cust.contacts.push(contact);
            // decided: no later contact (at t or after) can be within the window of these
            let mut open = cust.open as usize;
            while t - cust.contacts[open].t > window {
                let i = &cust.contacts[open];
                let came_back = cust.contacts[open + 1..]
                    .iter()
                    .take_while(|j| j.t - i.t <= window)
                    .any(|j| f.same_matter(i.tags, j.tags));
                f.decide((i.agent, i.day, i.resolved), came_back);
                open += 1;
            }
            // not needed any more: not within a window of an undecided one
            let old = cust.contacts.partition_point(|k| t - k.t > window * 2);
            cust.contacts.drain(..old);
            cust.open = (open - old) as u32;
        }
    }
    f.customers = customers;
    if flags.peek()?.is_some() {
        return Ok(Err(Restart::Unaligned));
    }
    // decide the rest
    let mut customers = std::mem::take(&mut f.customers);
    for cust in customers.values_mut() {
        let list = &mut cust.contacts;
        if order == Order::Any {
            list.sort_by_key(|k| (k.t, k.seq));
            for k in 0..list.len() {
                let i = &list[k];
                let repeat = list[..k]
                    .iter()
                    .rev()
                    .take_while(|j| i.t - j.t <= window)
                    .any(|j| f.same_matter(j.tags, i.tags));
                cust.repeats += u32::from(repeat);
            }
        }
        for k in cust.open as usize..list.len() {
            let i = &list[k];
            let came_back = list[k + 1..]
                .iter()
                .take_while(|j| j.t - i.t <= window)
                .any(|j| f.same_matter(i.tags, j.tags));
            f.decide((i.agent, i.day, i.resolved), came_back);
        }
        list.clear();
        list.shrink_to_fit();
    }
    f.customers = customers;
    Ok(Ok(f))
}

/// The second pass and the report.
fn finish(source: &Source, mut f: Folded, opts: &ReportOptions) -> Result<Report, LoadError> {
    // the agent rows
    let first = f.first_day.unwrap_or(NaiveDate::MIN);
    let mut rows: BTreeMap<(PeriodKind, NaiveDate, Option<&str>), AgentPeriod> = BTreeMap::new();
    for ((kind, start, agent), g) in &f.groups {
        let start = if *kind == PeriodKind::All { first } else { *start };
        let agent = agent.map(|a| &*f.agents[a as usize]);
        let mut r = g.row();
        r.scope = if agent.is_some() { "agent" } else { "team" };
        r.agent_id = agent.map(str::to_string);
        r.period = *kind;
        r.period_start = start;
        rows.insert((*kind, start, agent), r);
    }
    let agents = with_deltas(rows);
    f.groups = HashMap::new();
    let (mut gaps, team_gaps) = gaps_of_rows(&agents, opts);
    // the queue
    let q = &opts.queue;
    let mut candidates: Vec<Kept> =
        f.priority.drain().flat_map(|(_, h)| h.into_iter().map(|k| k.0)).collect();
    candidates.sort_by(by_priority);
    let mut per_agent: HashMap<String, usize> = HashMap::new();
    let mut queue: Vec<QueueEntry> = Vec::new();
    for c in candidates {
        if queue.len() == q.top_n {
            break;
        }
        let n = per_agent.entry(c.entry.agent_id.clone()).or_default();
        if q.per_agent > 0 && *n >= q.per_agent {
            continue;
        }
        *n += 1;
        queue.push(c.entry);
    }
    let queued: HashSet<&str> = queue.iter().map(|e| e.conversation_id.as_str()).collect();
    let mut sample: Vec<Kept> = std::mem::take(&mut f.sample)
        .into_iter()
        .map(|k| k.0)
        .filter(|k| !queued.contains(k.entry.conversation_id.as_str()))
        .collect();
    sample.sort_by(by_point);
    if q.sample_max > 0 {
        sample.truncate(q.sample_max);
    }
    sample.sort_by(|a, b| a.entry.conversation_id.cmp(&b.entry.conversation_id));
    queue.extend(sample.into_iter().map(|k| k.entry));
    for (rank, e) in queue.iter_mut().enumerate() {
        e.rank = rank + 1;
    }
    // the follow-ups, without their conversations yet
    let mut follow_ups: Vec<FollowUp> = Vec::new();
    for (customer, c) in &f.customers {
        let mut reasons = Vec::new();
        if c.repeats > 0 {
            reasons.push(format!(
                "{} contacts, {} of them a repeat within the window",
                c.n, c.repeats
            ));
        }
        if c.negatives >= 2 {
            reasons.push(format!("ended negative {} times", c.negatives));
        }
        if c.complaints > 0 {
            reasons.push(format!("complained in {} conversation(s)", c.complaints));
        }
        if c.churn > 0 {
            reasons.push(format!("churn risk in {} conversation(s)", c.churn));
        }
        if reasons.is_empty() {
            continue;
        }
        let mut agents: Vec<String> =
            c.agents.iter().map(|&a| f.agents[a as usize].to_string()).collect();
        agents.sort();
        agents.dedup();
        follow_ups.push(FollowUp {
            customer_id: customer.to_string(),
            contacts: c.n as usize,
            repeat_contacts: c.repeats as usize,
            negative_endings: c.negatives as usize,
            complaints: c.complaints as usize,
            churn_risk: c.churn as usize,
            last_contact: c.last.expect("a contact"),
            conversations: Vec::new(),
            agents,
            reasons,
        });
    }
    f.customers = HashMap::new();
    // the second pass: the correlation, the gaps' examples, the follow-ups' conversations
    let (sx, sy, pairs) = f.csat_pairs;
    let (mx, my) = (sx / pairs as f64, sy / pairs as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    let mut wanted: HashMap<(PeriodKind, NaiveDate, &str), Vec<usize>> = HashMap::new();
    for (g, gap) in gaps.iter().enumerate() {
        wanted.entry((gap.period, gap.period_start, gap.agent_id.as_str())).or_default().push(g);
    }
    let mut worst: Vec<Vec<(f64, String)>> = vec![Vec::new(); gaps.len()];
    // per follow-up customer: (started, input order, conversation id)
    type Seen = Vec<(DateTime<Utc>, u64, String)>;
    let mut contacts: HashMap<&str, Seen> =
        follow_ups.iter().map(|u| (u.customer_id.as_str(), Vec::new())).collect();
    let mut convs = source.conversations();
    let mut seq = 0u64;
    while let Some(c) = convs.next_row()? {
        if let Some(s) = c.csat {
            let (x, y) = (c.qa_score, f64::from(s));
            sxy += (x - mx) * (y - my);
            sxx += (x - mx).powi(2);
            syy += (y - my).powi(2);
        }
        if !wanted.is_empty() {
            let day = local_day(c.started_at, opts.tz);
            for kind in PeriodKind::ALL {
                let key = (kind, kind.start(day, first), &*c.agent_id);
                for &g in wanted.get(&key).into_iter().flatten() {
                    if let Some(score) = c.subscores[gaps[g].dimension as usize] {
                        let w = &mut worst[g];
                        let beats = w.len() < 3
                            || w.last().is_some_and(|y| {
                                y.0.total_cmp(&score).then(y.1.cmp(&c.conversation_id)).is_gt()
                            });
                        if beats {
                            keep_lowest(w, (score, c.conversation_id.clone()), 3);
                        }
                    }
                }
            }
        }
        if let Some(list) = c.customer_id.as_deref().and_then(|id| contacts.get_mut(id)) {
            list.push((c.started_at, seq, c.conversation_id.clone()));
        }
        seq += 1;
    }
    for (gap, w) in gaps.iter_mut().zip(worst) {
        gap.examples = w.into_iter().map(|(_, id)| id).collect();
    }
    let mut contacts: HashMap<String, Vec<String>> = contacts
        .into_iter()
        .map(|(customer, mut list)| {
            list.sort_by_key(|k| (k.0, k.1));
            (customer.to_string(), list.into_iter().map(|k| k.2).collect())
        })
        .collect();
    for u in &mut follow_ups {
        u.conversations = contacts.remove(&u.customer_id).unwrap_or_default();
    }
    follow_ups.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.churn_risk + f.complaints + f.repeat_contacts + f.negative_endings),
            f.customer_id.clone(),
        )
    });
    let correlation = (pairs >= 3 && sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt());
    let overview = Overview {
        conversations: f.conversations,
        passed: f.passed,
        agents: f.agents.len(),
        first_day: f.first_day,
        last_day: f.last_day,
        qa_mean: f.qa.get().map(round1),
        score_histogram: f.histogram,
        dimension_means: std::array::from_fn(|d| f.dimensions[d].get().map(round1)),
        first_response_within: f.first_response_within.get().map(round3),
        mean_reply_within: f.mean_reply_within.get().map(round3),
        fcr: f.fcr.get().map(round3),
        csat_mean: f.csat.get().map(|v| (v * 100.0).round() / 100.0),
        qa_csat_correlation: correlation.map(|r| (round3(r), pairs)),
        targets: opts.targets,
    };
    Ok(Report {
        overview,
        queue,
        agents,
        skill_gaps: gaps,
        team_gaps,
        follow_ups,
        options: opts.clone(),
        pass_threshold: source.pass_threshold,
    })
}
