//! Agent skill profiles: how each synthetic agent behaves, and so what a report should find.
//!
//! One table ([`PROFILES`]), one row a profile. A profile's behaviour is a handful of rates (how
//! often the agent greets, closes, shows empathy after distress, says something forbidden) and a
//! *slowness* per week: 0 answers at the channel's natural pace (chat ≈ 35 s), 1 at about 1.6×
//! the channel's reply limit (chat ≈ 5 min, first response ≈ 8 min, e-mail ≈ 6 h), in between on
//! a log scale. The `weaknesses` columns are the ground truth written by `--truth`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::rubric::Dimension;

/// One kind of agent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile {
    pub name: &'static str,
    pub description: &'static str,
    /// P(the first reply greets).
    pub greeting: f64,
    /// P(the last reply closes politely).
    pub closing: f64,
    /// After customer distress: P(the next reply acknowledges, apologises and reassures) …
    pub empathy: f64,
    /// … and P(it does one or two of the three). The rest of the time: none.
    pub partial_empathy: f64,
    /// P(a conversation has a blaming, dismissive or rude remark; a third of those have two).
    pub forbidden: f64,
    /// P(an unapproved promise such as 「我保证」 / "I guarantee").
    pub promise: f64,
    /// Slowness in week 1, 2, 3, …; the last value holds for later weeks.
    pub slowness: &'static [f64],
    /// Dimensions where the agent sits well below the team over the whole range.
    pub weaknesses: &'static [Dimension],
    /// Dimensions that are weak in the first week(s) only and improve week over week.
    pub improves: &'static [Dimension],
}

impl Profile {
    pub fn slowness_in_week(&self, week: u32) -> f64 {
        let i = (week as usize).min(self.slowness.len() - 1);
        self.slowness[i]
    }
}

const GOOD: Profile = Profile {
    name: "good",
    description: "answers fast, greets and closes, shows empathy when the customer is upset",
    greeting: 0.98,
    closing: 0.97,
    empathy: 0.98,
    partial_empathy: 0.02,
    forbidden: 0.0,
    promise: 0.0,
    slowness: &[0.0],
    weaknesses: &[],
    improves: &[],
};

/// The profiles. Rows differ from `good` only where the profile is about.
pub const PROFILES: &[Profile] = &[
    GOOD,
    Profile {
        name: "average",
        description: "a little slower and a little less careful than good agents, within 10 points of them",
        greeting: 0.96,
        closing: 0.94,
        empathy: 0.93,
        partial_empathy: 0.06,
        forbidden: 0.02,
        promise: 0.04,
        slowness: &[0.25],
        ..GOOD
    },
    Profile {
        name: "slow",
        description: "replies well over the limits (first response over 5 min, replies over 3 min on chat); otherwise good",
        slowness: &[1.0],
        weaknesses: &[Dimension::Responsiveness],
        ..GOOD
    },
    Profile {
        name: "cold",
        description: "never acknowledges feelings, apologises or reassures after customer distress; otherwise good",
        empathy: 0.0,
        partial_empathy: 0.0,
        weaknesses: &[Dimension::Empathy],
        ..GOOD
    },
    Profile {
        name: "rude",
        description: "blames, dismisses or insults the customer in about half the conversations; otherwise good",
        forbidden: 0.55,
        weaknesses: &[Dimension::Compliance],
        ..GOOD
    },
    Profile {
        name: "scriptless",
        description: "skips the greeting and the closing nine times out of ten; otherwise good",
        greeting: 0.1,
        closing: 0.1,
        weaknesses: &[Dimension::Compliance],
        ..GOOD
    },
    Profile {
        name: "uneven",
        description: "shows full empathy after customer distress half the time, some of it a fifth; otherwise good (room for a planted training effect either way)",
        empathy: 0.5,
        partial_empathy: 0.2,
        weaknesses: &[Dimension::Empathy],
        ..GOOD
    },
    Profile {
        name: "improver",
        description: "as slow as `slow` in week 1, faster every week, as fast as good agents from week 5",
        slowness: &[1.0, 0.85, 0.7, 0.4, 0.0],
        improves: &[Dimension::Responsiveness],
        ..GOOD
    },
];

/// The default team: 12 agents.
pub const DEFAULT_TEAM: &[(&str, u32)] = &[
    ("good", 5),
    ("average", 2),
    ("slow", 1),
    ("cold", 1),
    ("rude", 1),
    ("scriptless", 1),
    ("improver", 1),
];

pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// `--agents` item: a profile name and how many agents of it (`good:5`, or `cold` for one).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpec {
    pub profile: &'static Profile,
    pub count: u32,
}

/// An `--agents` item that names no profile or has a bad count.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentSpecError {
    #[error("unknown agent profile \"{0}\" (known: {known})", known = profile_names())]
    UnknownProfile(String),
    #[error("\"{0}\": the count after ':' must be a whole number from 1 to 1000")]
    BadCount(String),
}

fn profile_names() -> String {
    PROFILES.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

impl FromStr for AgentSpec {
    type Err = AgentSpecError;

    fn from_str(s: &str) -> Result<AgentSpec, AgentSpecError> {
        let (name, count) = match s.trim().split_once(':') {
            Some((name, n)) => {
                let count = n
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|c| (1..=1000).contains(c))
                    .ok_or_else(|| AgentSpecError::BadCount(s.to_string()))?;
                (name.trim(), count)
            }
            None => (s.trim(), 1),
        };
        let profile =
            profile(name).ok_or_else(|| AgentSpecError::UnknownProfile(name.to_string()))?;
        Ok(AgentSpec { profile, count })
    }
}

impl fmt::Display for AgentSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.profile.name, self.count)
    }
}

pub fn default_team() -> Vec<AgentSpec> {
    DEFAULT_TEAM
        .iter()
        .map(|&(name, count)| AgentSpec { profile: profile(name).expect("known"), count })
        .collect()
}

/// One synthetic agent: its id and profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: String,
    pub profile: &'static Profile,
}

/// Agents of a team: `syn-<profile>` for a profile with one agent, `syn-<profile>-<n>` otherwise
/// (numbered across the whole list, so `good:2,good` gives good-1 … good-3).
pub fn agents(team: &[AgentSpec]) -> Vec<Agent> {
    let total = |name: &str| -> u32 {
        team.iter().filter(|s| s.profile.name == name).map(|s| s.count).sum()
    };
    let mut seen: Vec<(&str, u32)> = Vec::new();
    let mut out = Vec::new();
    for spec in team {
        for _ in 0..spec.count {
            let name = spec.profile.name;
            let id = if total(name) == 1 {
                format!("syn-{name}")
            } else {
                let n = match seen.iter_mut().find(|(p, _)| *p == name) {
                    Some((_, n)) => {
                        *n += 1;
                        *n
                    }
                    None => {
                        seen.push((name, 1));
                        1
                    }
                };
                format!("syn-{name}-{n}")
            };
            out.push(Agent { id, profile: spec.profile });
        }
    }
    out
}

// ---- the ground truth (`--truth FILE.json`) ----

/// What `--truth` writes: the corpus parameters and each agent's profile and expected weaknesses.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub generator: &'static str,
    pub synthetic: bool,
    pub seed: u64,
    pub conversations: u64,
    pub start_date: String,
    pub days: u32,
    pub note: &'static str,
    pub agents: Vec<AgentTruth>,
    /// Planted training effects and drifts: (agents, skill, from, points); no agents: everyone.
    pub plants: Vec<super::Plant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentTruth {
    pub agent_id: String,
    pub profile: &'static str,
    pub description: &'static str,
    /// Dimensions (`responsiveness`, `empathy`, `compliance`) where a report over the whole
    /// range should find a skill gap.
    pub weaknesses: Vec<&'static str>,
    /// Dimensions weak in the first week that get better week over week.
    pub improves: Vec<&'static str>,
    pub behaviour: Behaviour,
}

#[derive(Debug, Clone, Serialize)]
pub struct Behaviour {
    pub greeting: f64,
    pub closing: f64,
    pub empathy: f64,
    pub partial_empathy: f64,
    pub forbidden: f64,
    pub unapproved_promise: f64,
    pub slowness_by_week: &'static [f64],
}

pub const TRUTH_NOTE: &str = "Synthetic data from `convqa generate`. weaknesses: where a report over \
the whole range should show a skill gap; improves: weak in week 1, better week over week. Agents \
with neither should show no gap.";

pub fn agent_truth(agent: &Agent) -> AgentTruth {
    let p = agent.profile;
    AgentTruth {
        agent_id: agent.id.clone(),
        profile: p.name,
        description: p.description,
        weaknesses: p.weaknesses.iter().map(|d| d.as_str()).collect(),
        improves: p.improves.iter().map(|d| d.as_str()).collect(),
        behaviour: Behaviour {
            greeting: p.greeting,
            closing: p.closing,
            empathy: p.empathy,
            partial_empathy: p.partial_empathy,
            forbidden: p.forbidden,
            unapproved_promise: p.promise,
            slowness_by_week: p.slowness,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_team_has_12_agents_with_readable_ids() {
        let ids: Vec<String> = agents(&default_team()).into_iter().map(|a| a.id).collect();
        assert_eq!(ids.len(), 12);
        assert_eq!(ids[..2], ["syn-good-1", "syn-good-2"]);
        for id in ["syn-average-2", "syn-slow", "syn-cold", "syn-rude", "syn-scriptless"] {
            assert!(ids.contains(&id.to_string()), "{id} missing from {ids:?}");
        }
        assert_eq!(ids.last().unwrap(), "syn-improver");
    }

    #[test]
    fn agent_specs_parse_with_counts() {
        let s: AgentSpec = "good:3".parse().unwrap();
        assert_eq!((s.profile.name, s.count), ("good", 3));
        let s: AgentSpec = " cold ".parse().unwrap();
        assert_eq!((s.profile.name, s.count), ("cold", 1));
        assert!(matches!("nice".parse::<AgentSpec>(), Err(AgentSpecError::UnknownProfile(_))));
        assert!(matches!("good:0".parse::<AgentSpec>(), Err(AgentSpecError::BadCount(_))));
        assert!(matches!("good:x".parse::<AgentSpec>(), Err(AgentSpecError::BadCount(_))));
        let team: Vec<AgentSpec> = ["good:2", "good"].iter().map(|s| s.parse().unwrap()).collect();
        let ids: Vec<String> = agents(&team).into_iter().map(|a| a.id).collect();
        assert_eq!(ids, ["syn-good-1", "syn-good-2", "syn-good-3"]);
    }

    #[test]
    fn every_profile_has_a_first_week() {
        for p in PROFILES {
            assert!(!p.slowness.is_empty(), "{}", p.name);
            assert!(p.empathy + p.partial_empathy <= 1.0, "{}", p.name);
        }
    }
}
