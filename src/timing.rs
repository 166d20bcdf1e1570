//! Timing KPIs from turn timestamps: first response, reply times, handling time, SLA breaches and
//! an unanswered final customer message.
//!
//! Definitions (also in the README): a *reply* is an agent turn that follows one or more
//! customer turns; its time runs from the first of those customer turns (the moment the customer
//! started waiting). System turns neither start nor stop the wait. The first reply is the first
//! response. Turns are taken in input order; a timestamp earlier than the one before it counts
//! as a zero gap and is reported, never a negative time.

use crate::conversation::{Channel, Conversation, Speaker};

/// Reply-time limits in seconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Limits {
    pub first_response_secs: f64,
    pub reply_secs: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimingConfig {
    /// Limits per channel, indexed by `Channel as usize`.
    pub limits: [Limits; 3],
    /// Weight of the first reply against each later reply in the responsiveness score.
    pub first_response_weight: f64,
    /// Signal rules (indexes) that, fired in the customer's last message, mean it is a closing
    /// thank-you rather than a message waiting for an answer.
    pub unanswered_exempt: Vec<usize>,
}

impl TimingConfig {
    pub fn limits(&self, channel: Channel) -> Limits {
        self.limits[channel as usize]
    }
}

/// Chat and phone: 5 min to the first response, 3 min to each later reply.
const LIVE_LIMITS: Limits = Limits { first_response_secs: 300.0, reply_secs: 180.0 };
/// Email: 4 h to the first response and to each later reply.
const EMAIL_LIMITS: Limits = Limits { first_response_secs: 14_400.0, reply_secs: 14_400.0 };

/// The built-in rubric's reply-time limits, indexed by `Channel as usize` (chat, email, phone):
/// the one place these numbers are defined. `rubric/default.toml` states the same (a test
/// checks it); a rubric file without `[timing]` limits gets the chat ones ([`FALLBACK_LIMITS`]);
/// the corpus generator and the reports' targets use them.
pub const DEFAULT_LIMITS: [Limits; 3] = [LIVE_LIMITS, EMAIL_LIMITS, LIVE_LIMITS];

/// The limits of a rubric file that sets none (`[timing]` without `*_limit_secs`), whatever the
/// channel.
pub const FALLBACK_LIMITS: Limits = DEFAULT_LIMITS[Channel::Chat as usize];

/// The built-in rubric's limits for `channel`.
pub fn default_limits(channel: Channel) -> Limits {
    DEFAULT_LIMITS[channel as usize]
}

/// One agent reply and how long the customer waited for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reply {
    /// The agent turn that replied.
    pub turn: u32,
    /// The customer turn the wait started at.
    pub waiting_since: u32,
    pub secs: f64,
    pub limit_secs: f64,
    pub first: bool,
}

impl Reply {
    pub fn breached(&self) -> bool {
        self.secs > self.limit_secs
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimingKpis {
    pub first_response_secs: Option<f64>,
    pub mean_agent_reply_secs: Option<f64>,
    pub max_agent_reply_secs: Option<f64>,
    pub handling_secs: f64,
    pub sla_breaches: u32,
    pub replies: Vec<Reply>,
    /// The first customer turn of a final run that no agent answered.
    pub unanswered_turn: Option<u32>,
    /// The first turn whose timestamp is earlier than the previous turn's.
    pub out_of_order_turn: Option<u32>,
    /// Whether any customer turn exists (otherwise there was nothing to respond to).
    pub has_customer_turn: bool,
}

/// Measures one conversation against the limits for its channel.
pub fn measure(conv: &Conversation, config: &TimingConfig) -> TimingKpis {
    let limits = config.limits(conv.channel);
    let mut kpis = TimingKpis::default();
    let mut waiting_since: Option<usize> = None;
    for (i, turn) in conv.turns.iter().enumerate() {
        if i > 0 && turn.ts < conv.turns[i - 1].ts && kpis.out_of_order_turn.is_none() {
            kpis.out_of_order_turn = Some(i as u32);
        }
        match turn.speaker {
            Speaker::Customer => {
                kpis.has_customer_turn = true;
                waiting_since.get_or_insert(i);
            }
            Speaker::Agent => {
                if let Some(since) = waiting_since.take() {
                    let first = kpis.replies.is_empty();
                    let secs = seconds(conv.turns[since].ts, turn.ts);
                    let limit_secs =
                        if first { limits.first_response_secs } else { limits.reply_secs };
                    kpis.replies.push(Reply {
                        turn: i as u32,
                        waiting_since: since as u32,
                        secs,
                        limit_secs,
                        first,
                    });
                }
            }
            Speaker::System => {}
        }
    }
    kpis.unanswered_turn = waiting_since.map(|t| t as u32);
    if let (Some(first), Some(last)) = (conv.turns.first(), conv.turns.last()) {
        kpis.handling_secs = seconds(first.ts, last.ts);
    }
    kpis.first_response_secs = kpis.replies.first().map(|r| r.secs);
    if !kpis.replies.is_empty() {
        let n = kpis.replies.len() as f64;
        kpis.mean_agent_reply_secs = Some(kpis.replies.iter().map(|r| r.secs).sum::<f64>() / n);
        kpis.max_agent_reply_secs = kpis.replies.iter().map(|r| r.secs).reduce(f64::max);
    }
    kpis.sla_breaches = kpis.replies.iter().filter(|r| r.breached()).count() as u32;
    kpis
}

/// Seconds from `a` to `b` (millisecond precision), never negative.
fn seconds(
    a: chrono::DateTime<chrono::FixedOffset>,
    b: chrono::DateTime<chrono::FixedOffset>,
) -> f64 {
    ((b - a).num_milliseconds().max(0)) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TimingConfig {
        let chat = Limits { first_response_secs: 300.0, reply_secs: 180.0 };
        let email = Limits { first_response_secs: 14400.0, reply_secs: 14400.0 };
        assert_eq!(DEFAULT_LIMITS, [chat, email, chat], "the built-in limits");
        TimingConfig {
            limits: [chat, email, chat],
            first_response_weight: 2.0,
            unanswered_exempt: vec![],
        }
    }

    use crate::conversation::test_conversation as conv;

    use Speaker::{Agent as A, Customer as C, System as S};

    #[test]
    fn reply_time_runs_from_the_first_unanswered_customer_turn() {
        let k = measure(
            &conv(
                Channel::Chat,
                &[(A, 0), (C, 10), (C, 40), (S, 50), (A, 100), (A, 120), (C, 200), (A, 500)],
            ),
            &config(),
        );
        assert_eq!(k.first_response_secs, Some(90.0));
        assert_eq!(
            k.replies.iter().map(|r| (r.turn, r.secs)).collect::<Vec<_>>(),
            [(4, 90.0), (7, 300.0)]
        );
        assert_eq!(k.mean_agent_reply_secs, Some(195.0));
        assert_eq!(k.max_agent_reply_secs, Some(300.0));
        assert_eq!(
            k.sla_breaches, 1,
            "300 s is over the 180 s reply limit, not the first-reply limit"
        );
        assert_eq!(k.handling_secs, 500.0);
        assert_eq!(k.unanswered_turn, None);
    }

    #[test]
    fn first_response_limit_is_inclusive() {
        let k = measure(&conv(Channel::Chat, &[(C, 0), (A, 300)]), &config());
        assert_eq!(k.sla_breaches, 0);
        let k = measure(&conv(Channel::Chat, &[(C, 0), (A, 301)]), &config());
        assert_eq!(k.sla_breaches, 1);
    }

    #[test]
    fn email_uses_its_own_limits() {
        let k = measure(&conv(Channel::Email, &[(C, 0), (A, 3600)]), &config());
        assert_eq!(k.sla_breaches, 0);
    }

    #[test]
    fn unanswered_final_customer_turn() {
        let k =
            measure(&conv(Channel::Chat, &[(C, 0), (A, 30), (C, 60), (C, 70), (S, 90)]), &config());
        assert_eq!(k.unanswered_turn, Some(2));
        let k = measure(&conv(Channel::Chat, &[(C, 0)]), &config());
        assert_eq!((k.unanswered_turn, k.first_response_secs), (Some(0), None));
    }

    #[test]
    fn out_of_order_timestamps_never_give_negative_times() {
        let k = measure(&conv(Channel::Chat, &[(C, 100), (A, 50)]), &config());
        assert_eq!(k.first_response_secs, Some(0.0));
        assert_eq!(k.out_of_order_turn, Some(1));
        assert_eq!(k.handling_secs, 0.0);
    }
}
