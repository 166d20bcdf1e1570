//! One synthetic conversation after another: who talks, what they say, and when.
//!
//! A conversation is planned first (language, topic, channel, customer, agent, whether the
//! customer gets upset, complains or threatens to leave, whether it gets resolved, how many turns)
//! and then written turn by turn:
//!
//! ```text
//! customer  opening (+ "second time" if returning, + distress)      [+ customer detail] [+ system]
//! agent     greeting? + empathy? (after distress) + question
//! ( customer detail / question (+ distress, complaint, churn, escalation)
//!   agent    empathy? + answer (+ a forbidden remark, for some profiles) ) × k
//! customer  "works now" / "ok, I'll wait"
//! agent     "you're welcome" / follow-up + closing?                  [+ customer thanks] [+ system]
//! ```
//!
//! The agent's profile decides the question marks and the reply times. Everything is drawn from
//! one seeded stream in a fixed order, so a seed and the options give the same bytes.
//!
//! Customers come back: about one new contact in nine returns 1–4 days later about the same
//! topic (same customer id, language and tag, the same order number), usually after a first
//! contact that was not resolved. Pending returns wait in a small queue ordered by day, so memory
//! stays bounded (a few days' worth of returns) however many conversations are written.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use chrono::{Datelike, NaiveDate};

use super::GenerateOptions;
use super::jsonl;
use super::phrases::{Bank, Lang, N_SLOTS, PHRASES, Piece, Slot, Template, Topic};
use super::plant;
use super::profiles::{Agent, Profile};
use super::random::{Rng, exp, ln};
use crate::conversation::{Channel, Speaker};

/// Share of new contacts that come back about the same thing within a few days.
const P_RETURN: f64 = 0.11;
/// Share of returning contacts that come back once more.
const P_RETURN_AGAIN: f64 = 0.15;
/// Turn counts 4 … 16 and their weights (70 % are 6–10).
const TURN_WEIGHTS: [f64; 13] =
    [3.0, 6.0, 12.0, 15.0, 17.0, 15.0, 12.0, 7.0, 5.0, 3.0, 2.0, 2.0, 1.0];
/// chat, email, phone.
const CHANNELS: [Channel; 3] = [Channel::Chat, Channel::Email, Channel::Phone];
const CHANNEL_WEIGHTS: [f64; 3] = [0.75, 0.12, 0.13];
/// Conversations start in business hours, 08:00–21:59 local (UTC+8), busiest late morning and
/// afternoon.
const HOUR_WEIGHTS: [f64; 14] =
    [4.0, 8.0, 10.0, 10.0, 7.0, 8.0, 10.0, 10.0, 9.0, 7.0, 5.0, 5.0, 5.0, 4.0];
const UTC8: i32 = 8 * 3600;
/// English conversations are shown at +08:00 (Singapore), Z (London) or -05:00 (New York).
const EN_OFFSETS: [i32; 3] = [UTC8, 0, -5 * 3600];
const EN_OFFSET_WEIGHTS: [f64; 3] = [0.5, 0.3, 0.2];

/// Reply limits of the default rubric, per channel: (first response, later replies), seconds.
fn limits(channel: Channel) -> (f64, f64) {
    let l = crate::timing::default_limits(channel);
    (l.first_response_secs, l.reply_secs)
}

/// Natural reply medians of a fast agent: (first response, later replies), seconds.
fn natural(channel: Channel) -> (f64, f64) {
    match channel {
        Channel::Chat => (50.0, 35.0),
        Channel::Phone => (12.0, 9.0),
        Channel::Email => (5_400.0, 3_600.0),
    }
}

/// How long the agent takes: natural pace at slowness 0, ~1.6× the limit at slowness 1 (on the
/// phone: the customer is put on hold), log-interpolated in between; log-normal spread.
fn agent_wait(rng: &mut Rng, channel: Channel, slowness: f64, first: bool) -> (i64, bool) {
    let (nat, lim) = if first {
        (natural(channel).0, limits(channel).0)
    } else {
        (natural(channel).1, limits(channel).1)
    };
    let median = exp(ln(nat) * (1.0 - slowness) + ln(1.6 * lim) * slowness);
    let wait = rng.lognormal(median, 0.45).max(2.0);
    (wait as i64, wait > lim)
}

/// How long the customer takes to answer the agent (or to add to their own message).
fn customer_gap(rng: &mut Rng, channel: Channel, own_follow_up: bool) -> i64 {
    let (median, sigma) = match (channel, own_follow_up) {
        (Channel::Chat, false) => (25.0, 0.6),
        (Channel::Chat, true) => (12.0, 0.5),
        (Channel::Phone, false) => (8.0, 0.5),
        (Channel::Phone, true) => (5.0, 0.4),
        (Channel::Email, false) => (7_200.0, 0.8),
        (Channel::Email, true) => (600.0, 0.6),
    };
    rng.lognormal(median, sigma).max(1.0) as i64
}

/// A return visit waiting for its day.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    due_day: u32,
    seq: u64,
    customer: u64,
    lang: Lang,
    topic: Topic,
    channel: Channel,
    contact: u32,
    order: String,
}

impl Ord for Pending {
    /// Reversed, so the max-heap yields the earliest day (then the earliest scheduled) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due_day, other.seq).cmp(&(self.due_day, self.seq))
    }
}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What the agent does after the customer shows distress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empathy {
    Full,
    Partial,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forbidden {
    Blame,
    Dismissive,
    Rude,
}

/// Per-conversation slot values, filled on first use.
struct Slots {
    values: [String; N_SLOTS],
    filled: [bool; N_SLOTS],
}

impl Slots {
    fn new() -> Slots {
        Slots { values: std::array::from_fn(|_| String::new()), filled: [false; N_SLOTS] }
    }

    fn clear(&mut self) {
        self.filled = [false; N_SLOTS];
    }

    fn set(&mut self, slot: Slot, value: &str) {
        let v = &mut self.values[slot as usize];
        v.clear();
        v.push_str(value);
        self.filled[slot as usize] = true;
    }
}

/// The fixed facts of the conversation being written.
#[derive(Clone, Copy)]
struct Ctx {
    lang: Lang,
    topic: Topic,
    channel: Channel,
    date: NaiveDate,
}

fn fill(rng: &mut Rng, ctx: &Ctx, slot: Slot, out: &mut String) {
    let p = &*PHRASES;
    let lang = ctx.lang;
    let word = |rng: &mut Rng, bank: &Bank, out: &mut String| {
        for piece in &bank.pick(rng, lang, true).pieces {
            if let Piece::Text(t) = piece {
                out.push_str(t);
            }
        }
    };
    match slot {
        Slot::Order => {
            out.push_str(match lang {
                Lang::Hans => "DD",
                Lang::Hant => "TW",
                Lang::En => "US",
                Lang::Mixed => "SG",
            });
            out.push_str(&ctx.date.year().to_string());
            rng.digits(out, 7);
        }
        Slot::Amount => match lang {
            Lang::Hans => {
                out.push_str(&rng.between(19, 2999).to_string());
                out.push('元');
            }
            Lang::Hant => {
                // 「1,290元」 mostly, sometimes 「NT$1,290」 (which reads as a mixed turn: the
                // language detector counts "NT" as an English word)
                let n = rng.between(99, 9999);
                let nt = rng.chance(0.3);
                if nt {
                    out.push_str("NT$");
                }
                if n >= 1000 {
                    out.push_str(&format!("{},{:03}", n / 1000, n % 1000));
                } else {
                    out.push_str(&n.to_string());
                }
                if !nt {
                    out.push('元');
                }
            }
            Lang::En => {
                out.push_str(&format!("${}.{:02}", rng.between(5, 499), rng.between(0, 99)));
            }
            Lang::Mixed => {
                out.push_str(if rng.chance(0.5) { "S$" } else { "RM " });
                out.push_str(&rng.between(9, 899).to_string());
            }
        },
        Slot::Product => word(rng, &p.product, out),
        Slot::Plan => word(rng, &p.plan, out),
        Slot::Courier => word(rng, &p.courier, out),
        Slot::Days => out.push_str(&rng.between(2, 10).to_string()),
        Slot::Date => {
            let d = ctx.date - chrono::Days::new(u64::from(rng.between(1, 6)));
            if lang.is_chinese() {
                out.push_str(&format!("{}月{}日", d.month(), d.day()));
            } else {
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                out.push_str(&format!("{} {}", MONTHS[d.month0() as usize], d.day()));
            }
        }
        Slot::Card => rng.digits(out, 4),
        Slot::Tracking => {
            let (prefix, n) = match lang {
                Lang::Hans => ("SF", 12),
                Lang::Hant => ("", 12),
                Lang::En => ("1Z", 16),
                Lang::Mixed => ("SPX", 10),
            };
            out.push_str(prefix);
            rng.digits(out, n);
        }
        Slot::Code => {
            out.push('E');
            out.push_str(&rng.between(100, 9999).to_string());
        }
        Slot::Ticket => {
            out.push_str("CS");
            rng.digits(out, 8);
        }
        Slot::Email => {
            word(rng, &p.user, out);
            rng.digits(out, 2);
            out.push_str("@example.com");
        }
    }
}

/// Appends one sentence from `bank` to a turn's text, with a space between sentences where the
/// language wants one.
fn say(
    rng: &mut Rng,
    slots: &mut Slots,
    used: &mut Vec<usize>,
    ctx: &Ctx,
    bank: &Bank,
    strict: bool,
    out: &mut String,
) {
    // A sentence said once is not said again in the same conversation (if the bank allows).
    let mut t: &Template = bank.pick(rng, ctx.lang, strict);
    for _ in 0..4 {
        if !used.contains(&(t as *const Template as usize)) {
            break;
        }
        t = bank.pick(rng, ctx.lang, strict);
    }
    used.push(t as *const Template as usize);
    let first_char = t.pieces.first().and_then(|p| match p {
        Piece::Text(s) => s.chars().next(),
        Piece::Slot(_) => Some('0'),
    });
    if let (Some(last), Some(first)) = (out.chars().last(), first_char) {
        // Chinese runs on; English sentences take a space; mixed text takes one except after
        // full-width punctuation or between two Chinese sentences.
        let cjk = |c: char| c as u32 >= 0x2E80;
        let punct = last.is_ascii_punctuation() || "，。！？".contains(last);
        match ctx.lang {
            Lang::Hans | Lang::Hant => {}
            Lang::En => out.push(' '),
            // chat-style mixed sentences often end without punctuation: add a comma between
            // two Chinese ends, a space otherwise
            Lang::Mixed if !punct && cjk(last) && cjk(first) => out.push('，'),
            Lang::Mixed if !(cjk(last) && punct) => out.push(' '),
            Lang::Mixed => {}
        }
    }
    for piece in &t.pieces {
        match piece {
            Piece::Text(s) => out.push_str(s),
            Piece::Slot(slot) => {
                let i = *slot as usize;
                if !slots.filled[i] {
                    let mut v = std::mem::take(&mut slots.values[i]);
                    v.clear();
                    fill(rng, ctx, *slot, &mut v);
                    slots.values[i] = v;
                    slots.filled[i] = true;
                }
                out.push_str(&slots.values[i]);
            }
        }
    }
}

struct Turn {
    speaker: Speaker,
    text: String,
    ts: i64,
}

/// What one call to [`Generator::next_line`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub turns: usize,
    pub lang: Lang,
    pub returning: bool,
}

/// The streaming generator: one JSON line per call, in order, bounded memory.
pub struct Generator {
    opts: GenerateOptions,
    agents: Vec<Agent>,
    rng: Rng,
    index: u64,
    next_customer: u64,
    seq: u64,
    pending: BinaryHeap<Pending>,
    slots: Slots,
    /// Templates already used in the current conversation (their addresses: identity only).
    used: Vec<usize>,
    turns: Vec<Turn>,
    n_turns: usize,
    start_unix: i64,
}

impl Generator {
    pub(super) fn new(opts: GenerateOptions, agents: Vec<Agent>) -> Generator {
        let start_unix =
            opts.start_date.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp()
                - i64::from(UTC8);
        Generator {
            rng: Rng::new(opts.seed),
            opts,
            agents,
            index: 0,
            next_customer: 0,
            seq: 0,
            pending: BinaryHeap::new(),
            slots: Slots::new(),
            used: Vec::new(),
            turns: Vec::new(),
            n_turns: 0,
            start_unix,
        }
    }

    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// Appends the next conversation's JSON line (with its newline) to `out`; `None` when all
    /// conversations are written.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> Option<Written> {
        if self.index >= self.opts.conversations {
            return None;
        }
        let w = self.conversation(out);
        self.index += 1;
        Some(w)
    }

    /// Starts a turn (reusing the buffers of earlier conversations); `say` fills its text.
    fn push_turn(&mut self, speaker: Speaker, ts: i64) {
        if self.n_turns == self.turns.len() {
            self.turns.push(Turn { speaker, text: String::new(), ts });
        }
        let t = &mut self.turns[self.n_turns];
        self.n_turns += 1;
        t.speaker = speaker;
        t.ts = ts;
        t.text.clear();
    }

    /// Appends a sentence from `bank` to the last turn.
    fn say(&mut self, ctx: &Ctx, bank: &Bank, strict: bool) {
        let text = &mut self.turns[self.n_turns - 1].text;
        say(&mut self.rng, &mut self.slots, &mut self.used, ctx, bank, strict, text);
    }

    fn last_ts(&self) -> i64 {
        self.turns[self.n_turns - 1].ts
    }

    fn conversation(&mut self, out: &mut Vec<u8>) -> Written {
        let p = &*PHRASES;
        let n = self.opts.conversations;
        let day = (u128::from(self.index) * u128::from(self.opts.days) / u128::from(n)) as u32;
        let week = day / 7;
        let date = self.opts.start_date + chrono::Days::new(u64::from(day));
        self.slots.clear();
        self.used.clear();
        self.n_turns = 0;

        // who and what
        let returning = match self.pending.peek() {
            Some(r) if r.due_day <= day => self.pending.pop(),
            _ => None,
        };
        let (customer, lang, topic, channel, contact) = match &returning {
            Some(r) => {
                self.slots.set(Slot::Order, &r.order);
                (r.customer, r.lang, r.topic, r.channel, r.contact)
            }
            None => {
                let lang = Lang::ALL[self.rng.weighted(&Lang::SHARES)];
                let topic = Topic::ALL[self.rng.weighted(&Topic::WEIGHTS)];
                let channel = CHANNELS[self.rng.weighted(&CHANNEL_WEIGHTS)];
                self.next_customer += 1;
                (self.next_customer, lang, topic, channel, 1)
            }
        };
        let ctx = Ctx { lang, topic, channel, date };
        let agent = self.rng.below(self.agents.len());
        let profile: &'static Profile = self.agents[agent].profile;
        let slowness = profile.slowness_in_week(week);

        // how it goes
        let p_return = if contact == 1 {
            P_RETURN
        } else if contact == 2 {
            P_RETURN_AGAIN
        } else {
            0.0
        };
        let will_return = self.rng.chance(p_return);
        let resolved = self.rng.chance(if will_return { 0.25 } else { 0.92 });
        let distress = self.rng.chance(if contact > 1 { 0.65 } else { 0.28 });
        let mut signals: Vec<&Bank> = Vec::new();
        if distress {
            if self.rng.chance(0.22) {
                signals.push(&p.complaint);
            }
            let churn =
                if matches!(topic, Topic::Subscription | Topic::Account) { 0.3 } else { 0.12 };
            if self.rng.chance(churn) {
                signals.push(&p.churn);
            }
            if self.rng.chance(0.15) {
                signals.push(&p.escalate);
            }
        }
        let greets = self.rng.chance(profile.greeting);
        let closes = self.rng.chance(profile.closing);
        let empathy = if !distress {
            Empathy::None
        } else {
            let r = self.rng.unit();
            if r < profile.empathy {
                Empathy::Full
            } else if r < profile.empathy + profile.partial_empathy {
                Empathy::Partial
            } else {
                Empathy::None
            }
        };
        let empathy = self.planted_empathy(agent, date, distress, empathy);
        let n_forbidden = if self.rng.chance(profile.forbidden) {
            1 + usize::from(self.rng.chance(1.0 / 3.0))
        } else {
            0
        };
        let promise = self.rng.chance(profile.promise);

        // shape: 4 fixed turns (opening, first reply, last customer turn, last reply) + extras
        let target = 4 + self.rng.weighted(&TURN_WEIGHTS);
        let mut double = self.rng.chance(0.2);
        let mut sys_start = channel == Channel::Chat && self.rng.chance(0.12);
        let mut sys_end = channel == Channel::Chat && !sys_start && self.rng.chance(0.05);
        let mut bye = self.rng.chance(0.45);
        let extras =
            |d: bool, s: bool, e: bool, b: bool| 4 + [d, s, e, b].iter().filter(|x| **x).count();
        for drop in 0..4 {
            if extras(double, sys_start, sys_end, bye) <= target {
                break;
            }
            match drop {
                0 => sys_end = false,
                1 => bye = false,
                2 => sys_start = false,
                _ => double = false,
            }
        }
        let room = target - extras(double, sys_start, sys_end, bye);
        let k = room / 2;
        if room % 2 == 1 {
            if !bye {
                bye = true;
            } else if !double {
                double = true;
            }
        }
        // where the customer gets upset (0 = opening, j + 1 = middle customer turn j)
        let distress_at = if !distress {
            usize::MAX
        } else if k == 0 || self.rng.chance(0.55) {
            0
        } else {
            1 + self.rng.below(k)
        };
        // agent turns 0 (first reply) ..= k + 1 (last reply) holding a forbidden remark / promise
        let mut forbidden_at: Vec<(usize, Forbidden)> = Vec::new();
        for i in 0..n_forbidden {
            let at = if k > 0 && i == 0 { 1 + self.rng.below(k) } else { self.rng.below(k + 2) };
            let kind = [Forbidden::Blame, Forbidden::Dismissive, Forbidden::Rude]
                [self.rng.weighted(&[0.45, 0.40, 0.15])];
            if !forbidden_at.iter().any(|f| f.0 == at) {
                forbidden_at.push((at, kind));
            }
        }
        let promise_at = if promise { 1 + self.rng.below(k + 1) } else { usize::MAX };

        // the start: a business-hours second of the day, in UTC+8
        let hour = 8 + self.rng.weighted(&HOUR_WEIGHTS) as i64;
        let t0 =
            self.start_unix + i64::from(day) * 86_400 + hour * 3600 + self.rng.below(3600) as i64;
        let offset =
            if lang == Lang::En { EN_OFFSETS[self.rng.weighted(&EN_OFFSET_WEIGHTS)] } else { UTC8 };

        let mut slow_replies = 0u32;
        let mut replies = 0u32;
        let mut signal_iter = signals.into_iter();

        // opening
        self.push_turn(Speaker::Customer, t0);
        if contact > 1 {
            self.say(&ctx, &p.repeat, false);
        }
        self.say(&ctx, &p.open[topic as usize], true);
        if distress_at == 0 {
            self.say(&ctx, &p.distress, false);
            if let Some(b) = signal_iter.next() {
                self.say(&ctx, b, false);
            }
        }
        let mut waiting_since = t0;
        if double {
            let t = self.last_ts() + customer_gap(&mut self.rng, channel, true);
            self.push_turn(Speaker::Customer, t);
            self.say(&ctx, &p.detail[topic as usize], false);
        }
        if sys_start {
            let t = self.last_ts() + i64::from(self.rng.between(3, 15));
            self.push_turn(Speaker::System, t);
            self.say(&ctx, &p.connect, false);
        }

        // agent turn `at` (0 = first reply, 1..=k middle, k + 1 = last reply)
        let agent_turn =
            |g: &mut Generator, at: usize, waiting_since: i64, slow: &mut u32, n: &mut u32| {
                let (wait, over) = agent_wait(&mut g.rng, channel, slowness, at == 0);
                let t = (waiting_since + wait).max(g.last_ts() + 1);
                *n += 1;
                *slow += u32::from(over);
                g.push_turn(Speaker::Agent, t);
                if at == 0 && greets {
                    let bank = match channel {
                        Channel::Email if g.rng.chance(0.6) => &p.greet_email,
                        Channel::Phone if g.rng.chance(0.6) => &p.greet_phone,
                        _ => &p.greet,
                    };
                    g.say(&ctx, bank, false);
                }
                if at == distress_at {
                    match empathy {
                        Empathy::Full => g.say(&ctx, &p.empathy, false),
                        Empathy::Partial => {
                            let parts = [&p.ack, &p.apology, &p.reassure];
                            let skip = g.rng.below(3);
                            let two = g.rng.chance(0.5);
                            for (i, b) in parts.iter().enumerate() {
                                if i == skip || (!two && i == (skip + 1) % 3) {
                                    continue;
                                }
                                g.say(&ctx, b, false);
                            }
                        }
                        Empathy::None => {}
                    }
                }
            };

        agent_turn(self, 0, waiting_since, &mut slow_replies, &mut replies);
        let first_reply = if self.rng.chance(0.25) { &p.check } else { &p.ask[topic as usize] };
        self.say(&ctx, first_reply, false);
        self.forbidden_and_promise(&ctx, 0, &forbidden_at, promise_at);

        for j in 0..k {
            let t = self.last_ts() + customer_gap(&mut self.rng, channel, false);
            self.push_turn(Speaker::Customer, t);
            waiting_since = t;
            if j == 0 && !double {
                self.say(&ctx, &p.detail[topic as usize], false);
            } else {
                self.say(&ctx, &p.mid, false);
            }
            if distress_at == j + 1 {
                self.say(&ctx, &p.distress, false);
            }
            if distress_at <= j + 1
                && let Some(b) = signal_iter.next()
            {
                self.say(&ctx, b, false);
            }
            agent_turn(self, j + 1, waiting_since, &mut slow_replies, &mut replies);
            self.say(&ctx, &p.content[topic as usize], false);
            self.forbidden_and_promise(&ctx, j + 1, &forbidden_at, promise_at);
        }

        // the end
        let t = self.last_ts() + customer_gap(&mut self.rng, channel, false);
        self.push_turn(Speaker::Customer, t);
        waiting_since = t;
        if resolved {
            self.say(&ctx, &p.resolved, false);
        } else {
            self.say(&ctx, &p.unresolved_end, false);
        }
        if !resolved && let Some(b) = signal_iter.next() {
            self.say(&ctx, b, false);
        }
        agent_turn(self, k + 1, waiting_since, &mut slow_replies, &mut replies);
        if resolved {
            self.say(&ctx, &p.reply_thanks, false);
        } else {
            self.say(&ctx, &p.followup, false);
        }
        self.forbidden_and_promise(&ctx, k + 1, &forbidden_at, promise_at);
        if closes {
            self.say(&ctx, &p.closing, false);
        } else if self.rng.chance(0.5) {
            self.say(&ctx, &p.close_neutral, false);
        }
        if bye {
            let t = self.last_ts() + customer_gap(&mut self.rng, channel, false);
            self.push_turn(Speaker::Customer, t);
            self.say(&ctx, &p.thanks, false);
        }
        if sys_end {
            let t = self.last_ts() + i64::from(self.rng.between(5, 60));
            self.push_turn(Speaker::System, t);
            self.say(&ctx, &p.left, false);
        }

        // outcome fields
        if will_return && contact < 3 {
            let due_day = day + 1 + self.rng.weighted(&[35.0, 30.0, 20.0, 15.0]) as u32;
            if due_day < self.opts.days {
                self.seq += 1;
                let order = if self.slots.filled[Slot::Order as usize] {
                    self.slots.values[Slot::Order as usize].clone()
                } else {
                    let mut o = String::new();
                    fill(&mut self.rng, &ctx, Slot::Order, &mut o);
                    o
                };
                self.pending.push(Pending {
                    due_day,
                    seq: self.seq,
                    customer,
                    lang,
                    topic,
                    channel,
                    contact: contact + 1,
                    order,
                });
            }
        }
        let mut q = 4.6 - 1.6 * f64::from(slow_replies) / f64::from(replies.max(1));
        if distress {
            q -= match empathy {
                Empathy::Full => 0.4,
                Empathy::Partial => 0.8,
                Empathy::None => 1.6,
            };
        }
        for (_, kind) in &forbidden_at {
            q -= if *kind == Forbidden::Rude { 2.0 } else { 1.3 };
        }
        if !resolved {
            q -= 1.2;
        }
        if contact > 1 {
            q -= 0.3;
        }
        q += 0.6 * self.rng.normal();
        let csat = self.rng.chance(0.4).then(|| (q + 0.5).floor().clamp(1.0, 5.0) as u8);
        let resolved_field = self.rng.chance(0.9).then_some(resolved);

        self.write_line(out, &ctx, agent, customer, offset, resolved_field, csat);
        Written { turns: self.n_turns, lang, returning: returning.is_some() }
    }

    /// The hook of planted effects ([`super::plant`]): draws a number only when a plant touches
    /// this agent on this day, so corpora without plants keep their bytes.
    fn planted_empathy(
        &mut self,
        agent: usize,
        date: chrono::NaiveDate,
        distress: bool,
        drawn: Empathy,
    ) -> Empathy {
        let id = &self.agents[agent].id;
        let points = plant::points(&self.opts.plants, id, crate::rubric::Dimension::Empathy, date);
        if !distress || points == 0.0 {
            return drawn;
        }
        let profile = self.agents[agent].profile;
        match plant::empathy_shift(points, profile, drawn == Empathy::Full, self.rng.unit()) {
            plant::Shift::Keep => drawn,
            plant::Shift::Raise => Empathy::Full,
            plant::Shift::Drop => Empathy::None,
        }
    }

    fn forbidden_and_promise(
        &mut self,
        ctx: &Ctx,
        at: usize,
        forbidden: &[(usize, Forbidden)],
        promise_at: usize,
    ) {
        let p = &*PHRASES;
        if let Some((_, kind)) = forbidden.iter().find(|f| f.0 == at) {
            let bank = match kind {
                Forbidden::Blame => &p.blame,
                Forbidden::Dismissive => &p.dismissive,
                Forbidden::Rude => &p.rude,
            };
            self.say(ctx, bank, false);
        }
        if at == promise_at {
            self.say(ctx, &p.promise, false);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_line(
        &self,
        out: &mut Vec<u8>,
        ctx: &Ctx,
        agent: usize,
        customer: u64,
        offset: i32,
        resolved: Option<bool>,
        csat: Option<u8>,
    ) {
        let seed = self.opts.seed;
        out.push(b'{');
        jsonl::key(out, "conversation_id");
        jsonl::string(out, &format!("syn-{seed}-{:07}", self.index + 1));
        out.push(b',');
        jsonl::key(out, "agent_id");
        jsonl::string(out, &self.agents[agent].id);
        out.push(b',');
        jsonl::key(out, "channel");
        jsonl::string(out, ctx.channel.as_str());
        out.push(b',');
        jsonl::key(out, "customer_id");
        jsonl::string(out, &format!("syn-{seed}-c{customer:07}"));
        out.push(b',');
        jsonl::key(out, "started_at");
        jsonl::timestamp(out, self.turns[0].ts, offset);
        out.push(b',');
        jsonl::key(out, "language");
        jsonl::string(out, ctx.lang.declared());
        if let Some(r) = resolved {
            out.push(b',');
            jsonl::key(out, "resolved");
            out.extend_from_slice(if r { b"true" } else { b"false" });
        }
        if let Some(c) = csat {
            out.push(b',');
            jsonl::key(out, "csat");
            out.push(b'0' + c);
        }
        out.push(b',');
        jsonl::key(out, "tags");
        out.push(b'[');
        jsonl::string(out, "synthetic");
        out.push(b',');
        jsonl::string(out, ctx.topic.tag());
        out.push(b']');
        out.push(b',');
        jsonl::key(out, "turns");
        out.push(b'[');
        for (i, t) in self.turns[..self.n_turns].iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            jsonl::key(out, "speaker");
            jsonl::string(out, t.speaker.as_str());
            out.push(b',');
            jsonl::key(out, "text");
            jsonl::string(out, &t.text);
            out.push(b',');
            jsonl::key(out, "ts");
            jsonl::timestamp(out, t.ts, offset);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}\n");
    }
}
