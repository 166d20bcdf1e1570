//! Planted effects: a training that changes some agents' skill from a date on, or a drift that
//! changes everyone's, by a known number of points, so tests of `convqa impact` know the truth.
//!
//! A plant moves the *expected* dimension score of the conversations it touches by exactly its
//! points (before detection): for empathy, after customer distress, a reply that would not show
//! full empathy is made to show it with probability `points / (100 − μ)` (a rise), or any reply
//! is made to show none with probability `|points| / μ` (a fall), where μ is the agent's
//! expected empathy score from its profile (full empathy 100, partial 50 on average, none 0).
//! Plants on the same agent and date add up. A plant that needs a probability above 1 is
//! refused when the options are checked, naming the agent. Without plants the generator draws
//! exactly the numbers it drew before, so corpora without plants keep their bytes.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::Serialize;

use super::profiles::{Agent, Profile};
use crate::rubric::Dimension;

/// One planted change: `agents` (empty: every agent, a team-wide drift) score `points` more in
/// `skill` from `from` (the local day of the corpus) on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plant {
    pub agents: Vec<String>,
    #[serde(serialize_with = "dimension_name")]
    pub skill: Dimension,
    pub from: NaiveDate,
    pub points: f64,
}

fn dimension_name<S: serde::Serializer>(d: &Dimension, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(d.as_str())
}

/// Skills a plant can move (the generator controls their behaviour directly).
pub const PLANTABLE: &[Dimension] = &[Dimension::Empathy];

/// A `--plant-training` / `--plant-drift` value that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlantError {
    #[error(
        "\"{0}\": expected {1} (help: --plant-training syn-cold+syn-good-1:empathy:2026-11-30:15, \
         --plant-drift empathy:2026-11-30:-10)"
    )]
    Shape(String, &'static str),
    #[error("\"{0}\": the date must be YYYY-MM-DD")]
    Date(String),
    #[error("\"{0}\": the points must be a number from -100 to 100")]
    Points(String),
    #[error("\"{0}\": only {known} can be planted", known = plantable_names())]
    Skill(String),
    #[error("plant on {agent}: no such agent in the team (agents: {known})")]
    UnknownAgent { agent: String, known: String },
    #[error(
        "plant of {points:+} points on {agent} from {from}: its profile `{profile}` expects \
         {mean:.0} points there, so it can move at most {room:+.0}"
    )]
    TooLarge {
        agent: String,
        profile: &'static str,
        from: NaiveDate,
        points: f64,
        mean: f64,
        room: f64,
    },
}

fn plantable_names() -> String {
    PLANTABLE.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
}

impl Plant {
    /// `AGENT[+AGENT…]:SKILL:DATE:POINTS` (a training).
    pub fn parse_training(s: &str) -> Result<Plant, PlantError> {
        let parts: Vec<&str> = s.split(':').map(str::trim).collect();
        let [agents, skill, date, points] = parts[..] else {
            return Err(PlantError::Shape(s.into(), "AGENT[+AGENT…]:SKILL:DATE:POINTS"));
        };
        let agents: Vec<String> =
            agents.split('+').map(str::trim).filter(|a| !a.is_empty()).map(String::from).collect();
        if agents.is_empty() {
            return Err(PlantError::Shape(s.into(), "at least one agent id before the first ':'"));
        }
        Plant::new(s, agents, skill, date, points)
    }

    /// `SKILL:DATE:POINTS` (a drift for everyone).
    pub fn parse_drift(s: &str) -> Result<Plant, PlantError> {
        let parts: Vec<&str> = s.split(':').map(str::trim).collect();
        let [skill, date, points] = parts[..] else {
            return Err(PlantError::Shape(s.into(), "SKILL:DATE:POINTS"));
        };
        Plant::new(s, Vec::new(), skill, date, points)
    }

    fn new(
        s: &str,
        agents: Vec<String>,
        skill: &str,
        date: &str,
        points: &str,
    ) -> Result<Plant, PlantError> {
        let skill = PLANTABLE
            .iter()
            .copied()
            .find(|d| d.as_str() == skill)
            .ok_or_else(|| PlantError::Skill(s.into()))?;
        let from = date.parse().map_err(|_| PlantError::Date(s.into()))?;
        let points = points
            .parse::<f64>()
            .ok()
            .filter(|p| (-100.0..=100.0).contains(p))
            .ok_or_else(|| PlantError::Points(s.into()))?;
        Ok(Plant { agents, skill, from, points })
    }

    fn touches(&self, agent: &str) -> bool {
        self.agents.is_empty() || self.agents.iter().any(|a| a == agent)
    }
}

impl fmt::Display for Plant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.agents.is_empty() {
            write!(f, "{}:", self.agents.join("+"))?;
        }
        write!(f, "{}:{}:{}", self.skill.as_str(), self.from, self.points)
    }
}

/// Parses a training plant (clap's value parser).
impl FromStr for Plant {
    type Err = PlantError;
    fn from_str(s: &str) -> Result<Plant, PlantError> {
        Plant::parse_training(s)
    }
}

/// The expected empathy score (0–100) after distress of an agent of `profile`, before plants.
pub fn empathy_mean(profile: &Profile) -> f64 {
    100.0 * profile.empathy + 50.0 * profile.partial_empathy
}

/// The planted points in `skill` for `agent` on local day `day`: the sum of the plants that
/// touch it and have started.
pub fn points(plants: &[Plant], agent: &str, skill: Dimension, day: NaiveDate) -> f64 {
    plants
        .iter()
        .filter(|p| p.skill == skill && p.from <= day && p.touches(agent))
        .map(|p| p.points)
        .sum()
}

/// Checks every plant against the team: known agents, and room in each touched agent's expected
/// score for the planted points (at every plant's start, where plants add up).
pub fn check(plants: &[Plant], agents: &[Agent]) -> Result<(), PlantError> {
    for p in plants {
        for a in &p.agents {
            if !agents.iter().any(|x| &x.id == a) {
                let known = agents.iter().map(|x| x.id.as_str()).collect::<Vec<_>>().join(", ");
                return Err(PlantError::UnknownAgent { agent: a.clone(), known });
            }
        }
    }
    for p in plants {
        for agent in agents.iter().filter(|a| p.touches(&a.id)) {
            let total = points(plants, &agent.id, p.skill, p.from);
            let mean = empathy_mean(agent.profile);
            let room = if total >= 0.0 { 100.0 - mean } else { -mean };
            if total.abs() > room.abs() + 1e-9 {
                return Err(PlantError::TooLarge {
                    agent: agent.id.clone(),
                    profile: agent.profile.name,
                    from: p.from,
                    points: total,
                    mean,
                    room,
                });
            }
        }
    }
    Ok(())
}

/// What a planted change does to one reply after distress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// Leave the drawn behaviour.
    Keep,
    /// Show full empathy.
    Raise,
    /// Show none.
    Drop,
}

/// The shift of one reply after distress, for `points` planted on an agent of `profile`
/// (`full`: the drawn behaviour already shows full empathy). `draw` is a uniform number in
/// [0, 1), drawn by the caller only when `points` is not 0.
pub fn empathy_shift(points: f64, profile: &Profile, full: bool, draw: f64) -> Shift {
    let mean = empathy_mean(profile);
    if points > 0.0 && !full && draw < points / (100.0 - mean) {
        Shift::Raise
    } else if points < 0.0 && draw < -points / mean {
        Shift::Drop
    } else {
        Shift::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::profiles::{agents, default_team, profile};

    #[test]
    fn plants_parse_and_print_back() {
        let p = Plant::parse_training("syn-cold+syn-good-1:empathy:2026-11-30:15").unwrap();
        assert_eq!(p.agents, ["syn-cold", "syn-good-1"]);
        assert_eq!((p.skill, p.points), (Dimension::Empathy, 15.0));
        assert_eq!(p.to_string(), "syn-cold+syn-good-1:empathy:2026-11-30:15");
        let d = Plant::parse_drift("empathy:2026-11-30:-10").unwrap();
        assert!(d.agents.is_empty() && d.touches("anyone"));
        assert!(matches!(
            Plant::parse_training("a:empathy:2026-11-30"),
            Err(PlantError::Shape(..))
        ));
        assert!(matches!(
            Plant::parse_training("a:clarity:2026-11-30:5"),
            Err(PlantError::Skill(_))
        ));
        assert!(matches!(
            Plant::parse_training("a:empathy:30.11.2026:5"),
            Err(PlantError::Date(_))
        ));
        assert!(matches!(
            Plant::parse_training("a:empathy:2026-11-30:500"),
            Err(PlantError::Points(_))
        ));
    }

    #[test]
    fn the_expected_shift_is_the_planted_points() {
        // P(raise) × (100 − μ) = points: the mean moves by exactly the planted points
        for name in ["cold", "average", "good"] {
            let p = profile(name).unwrap();
            let mean = empathy_mean(p);
            let n = 200_000;
            let mut rng = crate::generate::random::Rng::new(5);
            let (mut before, mut after) = (0.0, 0.0);
            let points = if mean > 50.0 { -20.0 } else { 15.0 };
            for _ in 0..n {
                let r = rng.unit();
                let drawn = if r < p.empathy {
                    100.0
                } else if r < p.empathy + p.partial_empathy {
                    50.0
                } else {
                    0.0
                };
                before += drawn;
                after += match empathy_shift(points, p, drawn == 100.0, rng.unit()) {
                    Shift::Keep => drawn,
                    Shift::Raise => 100.0,
                    Shift::Drop => 0.0,
                };
            }
            let moved = (after - before) / n as f64;
            assert!((moved - points).abs() < 0.5, "{name}: moved {moved:.2}, planted {points}");
        }
    }

    #[test]
    fn plants_are_checked_against_the_team() {
        let team = agents(&default_team());
        let ok = Plant::parse_training("syn-cold:empathy:2026-11-16:15").unwrap();
        check(std::slice::from_ref(&ok), &team).unwrap();
        let unknown = Plant::parse_training("syn-nobody:empathy:2026-11-16:15").unwrap();
        assert!(matches!(check(&[unknown], &team), Err(PlantError::UnknownAgent { .. })));
        // good agents sit at 99: no room for +15, and a drift touches them too
        let drift = Plant::parse_drift("empathy:2026-11-16:5").unwrap();
        assert!(matches!(check(&[drift], &team), Err(PlantError::TooLarge { .. })));
        let down = Plant::parse_drift("empathy:2026-11-16:-10").unwrap();
        // the cold agent has nothing to lose
        assert!(matches!(check(&[down], &team), Err(PlantError::TooLarge { .. })));
    }
}
