//! The rubric's TOML schema and its validation into a [`Rubric`].

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{
    Calibration, Dimension, ExampleDetector, Limits, Matcher, ModelDetector, Position, Rubric,
    RubricError, Rule, RuleKind, Severity, SpeakerScope, TimingConfig,
};
use crate::conversation::{Channel, Speaker};
use crate::segment::Segmenter;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RubricFile {
    name: String,
    version: String,
    pass_threshold: f64,
    weights: WeightsFile,
    #[serde(default)]
    timing: TimingFile,
    #[serde(default)]
    negation: NegationFile,
    #[serde(default)]
    sentiment: SentimentFile,
    #[serde(default)]
    rule: Vec<RuleFile>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SentimentFile {
    #[serde(default)]
    closing_signals: Vec<String>,
    #[serde(default)]
    unless_signals: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    responsiveness: f64,
    empathy: f64,
    compliance: f64,
    /// The model dimensions; 0 (the default) leaves them out of qa_score.
    #[serde(default)]
    sentiment: f64,
    #[serde(default)]
    politeness: f64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    first_response_limit_secs: Option<f64>,
    reply_limit_secs: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimingFile {
    #[serde(default = "default_first_limit")]
    first_response_limit_secs: f64,
    #[serde(default = "default_reply_limit")]
    reply_limit_secs: f64,
    #[serde(default = "default_first_weight")]
    first_response_weight: f64,
    #[serde(default)]
    channel: BTreeMap<String, LimitsFile>,
    #[serde(default)]
    unanswered_exempt_signals: Vec<String>,
}

fn default_first_limit() -> f64 {
    crate::timing::FALLBACK_LIMITS.first_response_secs
}
fn default_reply_limit() -> f64 {
    crate::timing::FALLBACK_LIMITS.reply_secs
}
/// The largest dimension weight and first-response weight: weights are relative, and with
/// subscores of at most 100 the weighted sums stay finite.
const MAX_WEIGHT: f64 = 100.0;

fn default_first_weight() -> f64 {
    2.0
}

impl Default for TimingFile {
    fn default() -> Self {
        TimingFile {
            first_response_limit_secs: default_first_limit(),
            reply_limit_secs: default_reply_limit(),
            first_response_weight: default_first_weight(),
            channel: BTreeMap::new(),
            unanswered_exempt_signals: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NegationFile {
    #[serde(default = "default_window")]
    window: u32,
    #[serde(default)]
    zh: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
    /// Phrases in which a negator does not negate what follows ("never been this").
    #[serde(default)]
    except: Vec<String>,
}

fn default_window() -> u32 {
    3
}

impl Default for NegationFile {
    fn default() -> Self {
        NegationFile {
            window: default_window(),
            zh: Vec::new(),
            en: Vec::new(),
            except: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    #[serde(default)]
    description: String,
    kind: String,
    dimension: Option<String>,
    speaker: Option<String>,
    first_n_agent_turns: Option<u32>,
    last_n_agent_turns: Option<u32>,
    when: Option<String>,
    weight: Option<f64>,
    severity: Option<String>,
    negation: Option<bool>,
    #[serde(default)]
    zh: Vec<String>,
    #[serde(default)]
    en: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    /// An act of the model's acts head that also detects this rule.
    model: Option<String>,
    /// Overrides the model manifest's threshold for that act (0–1).
    model_threshold: Option<f64>,
    /// Example sentences per language key (`en`, `zh`, `zh_hant`, `yue`, `mixed`, `any`).
    #[serde(default)]
    examples: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    counter_examples: BTreeMap<String, Vec<String>>,
    example_threshold: Option<CalibrationFile>,
}

/// `example_threshold`, as `convqa calibrate` writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationFile {
    threshold: f64,
    model_sha256: String,
    precision: Option<f64>,
    /// What the calibration measured: accepted so the pasted line loads, read by people only.
    #[allow(dead_code)]
    recall: Option<f64>,
    #[allow(dead_code)]
    positives: Option<u32>,
    #[allow(dead_code)]
    negatives: Option<u32>,
    #[allow(dead_code)]
    labels: Option<String>,
}

/// The language keys example lists may be filed under (all are matched against every turn).
const EXAMPLE_KEYS: [&str; 6] = ["en", "zh", "zh_hant", "yue", "mixed", "any"];

/// The rule's model and example detectors, validated.
fn detectors(
    r: &RuleFile,
    speaker: SpeakerScope,
    err: &dyn Fn(&str, String) -> RubricError,
) -> Result<(Option<ModelDetector>, Option<ExampleDetector>), RubricError> {
    let model = match (&r.model, r.model_threshold) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(err(
                "model_threshold",
                "given without `model`; add model = \"<act>\"".into(),
            ));
        }
        (Some(name), threshold) => {
            let act = crate::model::act_index(name).ok_or_else(|| {
                err(
                    "model",
                    format!(
                        "unknown act {name:?}; expected one of {}",
                        crate::model::ACTS.join(", ")
                    ),
                )
            })?;
            let customer_act = crate::model::is_customer_act(act);
            let expected = if customer_act { Speaker::Customer } else { Speaker::Agent };
            if speaker != SpeakerScope::Only(expected) {
                return Err(err(
                    "model",
                    format!(
                        "{name:?} is said by the {}: the rule needs speaker = \"{}\"",
                        expected.as_str(),
                        expected.as_str()
                    ),
                ));
            }
            let threshold = match threshold {
                None => None,
                Some(t) if (0.0..=1.0).contains(&t) => Some(t as f32),
                Some(t) => {
                    return Err(err(
                        "model_threshold",
                        format!("must be a probability from 0 to 1, got {t}"),
                    ));
                }
            };
            Some(ModelDetector { act, threshold })
        }
    };
    let list = |field: &str, map: &BTreeMap<String, Vec<String>>| {
        let mut out = Vec::new();
        for (key, sentences) in map {
            if !EXAMPLE_KEYS.contains(&key.as_str()) {
                return Err(err(
                    &format!("{field}.{key}"),
                    format!("unknown language key; expected one of {}", EXAMPLE_KEYS.join(", ")),
                ));
            }
            for s in sentences {
                if s.trim().is_empty() {
                    return Err(err(&format!("{field}.{key}"), "an empty sentence".to_string()));
                }
                out.push((key.clone(), s.clone()));
            }
        }
        Ok(out)
    };
    let examples = list("examples", &r.examples)?;
    let counter_examples = list("counter_examples", &r.counter_examples)?;
    let calibration = match &r.example_threshold {
        None => None,
        Some(c) => {
            if !(0.0..=1.0).contains(&c.threshold) {
                return Err(err(
                    "example_threshold.threshold",
                    format!("must be a similarity from 0 to 1, got {}", c.threshold),
                ));
            }
            if c.model_sha256.len() != 64 || !c.model_sha256.bytes().all(|b| b.is_ascii_hexdigit())
            {
                return Err(err(
                    "example_threshold.model_sha256",
                    format!("expected the 64 hex digits of a SHA-256, got {:?}", c.model_sha256),
                ));
            }
            if let Some(p) = c.precision.filter(|p| !(0.0..=1.0).contains(p)) {
                return Err(err(
                    "example_threshold.precision",
                    format!("must be from 0 to 1, got {p}"),
                ));
            }
            Some(Calibration {
                threshold: c.threshold as f32,
                model_sha256: c.model_sha256.to_ascii_lowercase(),
                precision: c.precision,
            })
        }
    };
    let examples = match (examples.is_empty(), counter_examples.is_empty(), calibration) {
        (true, true, None) => None,
        (true, _, _) => {
            return Err(err(
                "examples",
                "counter_examples or example_threshold without examples; add examples".into(),
            ));
        }
        (false, _, calibration) => Some(ExampleDetector {
            examples,
            counter_examples,
            calibration,
            ..ExampleDetector::default()
        }),
    };
    Ok((model, examples))
}

pub(super) fn parse(
    text: &str,
    source: &str,
    segmenter: &Segmenter,
) -> Result<Rubric, RubricError> {
    let file: RubricFile = toml::from_str(text)
        .map_err(|e| RubricError::Toml { path: source.to_string(), source: Box::new(e) })?;
    let field_err = |field: &str, message: String| RubricError::Field {
        path: source.to_string(),
        field: field.to_string(),
        message,
    };
    if !(0.0..=100.0).contains(&file.pass_threshold) {
        return Err(field_err(
            "pass_threshold",
            format!("must be from 0 to 100, got {}", file.pass_threshold),
        ));
    }
    let w = &file.weights;
    let weights = [w.responsiveness, w.empathy, w.compliance, w.sentiment, w.politeness];
    // At most 100 (like rule weights), so weight × subscore cannot overflow to an infinite or
    // NaN qa_score (issue 8: `responsiveness = 1e307` loaded and scored inf).
    for (d, v) in Dimension::ALL.iter().zip(weights) {
        if !(0.0..=MAX_WEIGHT).contains(&v) {
            return Err(field_err(
                &format!("weights.{}", d.as_str()),
                format!("must be a number from 0 to {MAX_WEIGHT}, got {v}"),
            ));
        }
    }
    if weights.iter().sum::<f64>() <= 0.0 {
        return Err(field_err("weights", "at least one weight must be above 0".to_string()));
    }
    let rules = rules(&file.rule, source)?;
    let timing = timing(&file.timing, &rules, &field_err)?;
    let s = &file.sentiment;
    let closing_signals =
        signal_rules(&s.closing_signals, &rules, "sentiment.closing_signals", &field_err)?;
    let closing_unless =
        signal_rules(&s.unless_signals, &rules, "sentiment.unless_signals", &field_err)?;
    let negators: Vec<&str> =
        file.negation.zh.iter().chain(&file.negation.en).map(String::as_str).collect();
    let not_negating: Vec<&str> = file.negation.except.iter().map(String::as_str).collect();
    let matcher = Matcher::build(&rules, &negators, &not_negating, file.negation.window, segmenter)
        .map_err(|(rule, field, phrase)| {
            let message = format!("phrase {phrase:?} has no words after normalization; remove it");
            match rule {
                Some(r) => rule_err(source, &rules[r].id, field, message),
                None => field_err(field, message),
            }
        })?;
    Ok(Rubric {
        name: file.name,
        version: file.version,
        source: source.to_string(),
        sha256: crate::digest::sha256_hex(text.as_bytes()),
        pass_threshold: file.pass_threshold,
        weights,
        timing,
        closing_signals,
        closing_unless,
        rules,
        matcher,
        binding: Default::default(),
    })
}

/// Indexes of the named signal rules; an error names the field and the id that is not one.
fn signal_rules(
    ids: &[String],
    rules: &[Rule],
    field: &str,
    field_err: &dyn Fn(&str, String) -> RubricError,
) -> Result<Vec<usize>, RubricError> {
    ids.iter()
        .map(|id| {
            rules
                .iter()
                .position(|r| &r.id == id && r.kind == RuleKind::Signal)
                .ok_or_else(|| field_err(field, format!("{id:?} is not the id of a signal rule")))
        })
        .collect()
}

fn timing(
    t: &TimingFile,
    rules: &[Rule],
    field_err: &dyn Fn(&str, String) -> RubricError,
) -> Result<TimingConfig, RubricError> {
    let positive = |field: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(field_err(field, format!("must be a number above 0, got {v}")))
        }
    };
    let base = Limits {
        first_response_secs: positive(
            "timing.first_response_limit_secs",
            t.first_response_limit_secs,
        )?,
        reply_secs: positive("timing.reply_limit_secs", t.reply_limit_secs)?,
    };
    let mut limits = [base; 3];
    for (name, l) in &t.channel {
        let channel = Channel::parse(name).ok_or_else(|| {
            field_err(
                &format!("timing.channel.{name}"),
                "unknown channel; expected chat, email or phone".to_string(),
            )
        })?;
        let slot = &mut limits[channel as usize];
        if let Some(v) = l.first_response_limit_secs {
            slot.first_response_secs =
                positive(&format!("timing.channel.{name}.first_response_limit_secs"), v)?;
        }
        if let Some(v) = l.reply_limit_secs {
            slot.reply_secs = positive(&format!("timing.channel.{name}.reply_limit_secs"), v)?;
        }
    }
    let first_response_weight = match t.first_response_weight {
        w if w > 0.0 && w <= MAX_WEIGHT => w,
        w => {
            return Err(field_err(
                "timing.first_response_weight",
                format!("must be above 0 and at most {MAX_WEIGHT}, got {w}"),
            ));
        }
    };
    let unanswered_exempt = signal_rules(
        &t.unanswered_exempt_signals,
        rules,
        "timing.unanswered_exempt_signals",
        field_err,
    )?;
    Ok(TimingConfig { limits, first_response_weight, unanswered_exempt })
}

fn rules(files: &[RuleFile], source: &str) -> Result<Vec<Rule>, RubricError> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, r) in files.iter().enumerate() {
        if r.id.trim().is_empty() {
            return Err(RubricError::Field {
                path: source.to_string(),
                field: format!("rule[{i}].id"),
                message: "every rule needs a non-empty id".to_string(),
            });
        }
        if index.insert(r.id.as_str(), i).is_some() {
            return Err(rule_err(
                source,
                &r.id,
                "id",
                "duplicate rule id; ids must be unique".to_string(),
            ));
        }
    }
    let mut rules = Vec::with_capacity(files.len());
    for r in files {
        let err = |field: &str, message: String| rule_err(source, &r.id, field, message);
        let kind = match r.kind.as_str() {
            "required" => RuleKind::Required,
            "forbidden" => RuleKind::Forbidden,
            "signal" => RuleKind::Signal,
            other => {
                return Err(err(
                    "kind",
                    format!("expected required, forbidden or signal, got {other:?}"),
                ));
            }
        };
        let dimension = match (kind, r.dimension.as_deref()) {
            (RuleKind::Signal, None) => None,
            (RuleKind::Signal, Some(_)) => {
                return Err(err(
                    "dimension",
                    "signal rules do not score; remove the dimension".to_string(),
                ));
            }
            (_, None) => {
                return Err(err("dimension", "required: empathy or compliance".to_string()));
            }
            (_, Some("empathy")) => Some(Dimension::Empathy),
            (_, Some("compliance")) => Some(Dimension::Compliance),
            (_, Some(other)) => {
                return Err(err(
                    "dimension",
                    format!("expected empathy or compliance, got {other:?}"),
                ));
            }
        };
        let default_speaker = if kind == RuleKind::Signal { "customer" } else { "agent" };
        let speaker = match r.speaker.as_deref().unwrap_or(default_speaker) {
            "any" => SpeakerScope::Any,
            s => SpeakerScope::Only(Speaker::parse(s).ok_or_else(|| {
                err("speaker", format!("expected agent, customer, system or any, got {s:?}"))
            })?),
        };
        let position = match (r.first_n_agent_turns, r.last_n_agent_turns) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "first_n_agent_turns",
                    "give first_n_agent_turns or last_n_agent_turns, not both".to_string(),
                ));
            }
            (Some(0), _) => {
                return Err(err("first_n_agent_turns", "must be at least 1".to_string()));
            }
            (_, Some(0)) => {
                return Err(err("last_n_agent_turns", "must be at least 1".to_string()));
            }
            (Some(n), None) => Position::FirstAgentTurns(n),
            (None, Some(n)) => Position::LastAgentTurns(n),
            (None, None) => Position::Anywhere,
        };
        if position != Position::Anywhere && speaker != SpeakerScope::Only(Speaker::Agent) {
            return Err(err(
                "speaker",
                "a position scope counts agent turns, so speaker must be \"agent\"".to_string(),
            ));
        }
        let when = match &r.when {
            None => None,
            Some(id) => {
                let &i = index
                    .get(id.as_str())
                    .ok_or_else(|| err("when", format!("no rule has id {id:?}")))?;
                if files[i].kind != "signal" {
                    return Err(err("when", format!("{id:?} must be a signal rule")));
                }
                if kind == RuleKind::Signal {
                    return Err(err(
                        "when",
                        "signal rules cannot depend on another rule".to_string(),
                    ));
                }
                Some(i)
            }
        };
        let weight = match (kind, r.weight) {
            (RuleKind::Signal, None) => 0.0,
            (RuleKind::Signal, Some(_)) => {
                return Err(err(
                    "weight",
                    "signal rules do not score; remove the weight".to_string(),
                ));
            }
            (_, None) => {
                return Err(err("weight", "required for required and forbidden rules".to_string()));
            }
            (_, Some(w)) if w.is_finite() && w > 0.0 && w <= 100.0 => w,
            (_, Some(w)) => {
                return Err(err("weight", format!("must be above 0 and at most 100, got {w}")));
            }
        };
        let severity = match r.severity.as_deref() {
            None if kind == RuleKind::Signal => Severity::Info,
            None if kind == RuleKind::Forbidden => Severity::Major,
            None => Severity::Minor,
            Some("info") => Severity::Info,
            Some("minor") => Severity::Minor,
            Some("major") => Severity::Major,
            Some("critical") => Severity::Critical,
            Some(other) => {
                return Err(err(
                    "severity",
                    format!("expected info, minor, major or critical, got {other:?}"),
                ));
            }
        };
        let phrases: Vec<String> = r.zh.iter().chain(&r.en).cloned().collect();
        let (model, examples) = detectors(r, speaker, &err)?;
        if phrases.is_empty() && model.is_none() && examples.is_none() {
            return Err(err(
                "zh/en",
                "a rule needs at least one detector: phrases (zh / en), model or examples"
                    .to_string(),
            ));
        }
        rules.push(Rule {
            id: r.id.clone(),
            description: r.description.clone(),
            kind,
            dimension,
            speaker,
            position,
            when,
            weight,
            severity,
            negation: r.negation.unwrap_or(true),
            phrases,
            except: r.except.clone(),
            model,
            examples,
        });
    }
    Ok(rules)
}

fn rule_err(source: &str, rule: &str, field: &str, message: String) -> RubricError {
    RubricError::Rule {
        path: source.to_string(),
        rule: rule.to_string(),
        field: field.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::ChineseSegmenter;
    use std::sync::LazyLock;

    static SEG: LazyLock<Segmenter> = LazyLock::new(|| Segmenter::new(ChineseSegmenter::new()));

    const HEAD: &str = "name = \"t\"\nversion = \"1\"\npass_threshold = 70\n[weights]\nresponsiveness = 1\nempathy = 1\ncompliance = 1\n";

    fn load(rules: &str) -> Result<Rubric, RubricError> {
        parse(&format!("{HEAD}{rules}"), "t.toml", &SEG)
    }

    fn err(rules: &str) -> String {
        match load(rules) {
            Ok(_) => panic!("expected an error for {rules}"),
            Err(e) => e.to_string(),
        }
    }

    const GREETING: &str = "[[rule]]\nid = \"greeting\"\nkind = \"required\"\ndimension = \"compliance\"\nweight = 10\nzh = [\"您好\"]\nen = [\"hello\"]\n";

    #[test]
    fn the_shipped_default_rubric_loads() {
        let r = Rubric::default_rubric(&SEG).unwrap();
        for id in ["greeting", "closing", "apology", "rude", "customer_distress"] {
            assert!(r.rule_index(id).is_some(), "default rubric lacks rule {id}");
        }
        assert_eq!(r.timing.limits(Channel::Chat).first_response_secs, 300.0);
        assert_eq!(r.timing.limits(Channel::Chat).reply_secs, 180.0);
    }

    #[test]
    fn the_default_rubric_states_the_built_in_limits_of_every_channel() {
        let r = Rubric::default_rubric(&SEG).unwrap();
        for c in Channel::ALL {
            assert_eq!(
                r.timing.limits(c),
                crate::timing::default_limits(c),
                "{c:?}: rubric/default.toml and timing::DEFAULT_LIMITS disagree; change both"
            );
        }
    }

    #[test]
    fn the_default_rubric_leaves_innocent_uses_of_listed_phrases_alone() {
        let r = Rubric::default_rubric(&SEG).unwrap();
        let rules_hit = |text: &str| {
            let mut hits = Vec::new();
            r.matcher.find(
                &SEG.segment(text),
                &mut crate::rubric::MatchScratch::default(),
                &mut hits,
            );
            hits.iter()
                .filter(|h| !h.negated)
                .map(|h| r.rules[h.rule as usize].id.as_str())
                .collect::<Vec<_>>()
        };
        for (text, rule) in [
            ("I'll take care of it right away.", "closing"),
            ("您的保证金会原路退回", "unapproved_promise"),
            ("赔偿的事我不能保证", "unapproved_promise"),
            ("资料已经准备好了吗", "resolution"),
            ("Please try again in five minutes", "repeat_contact"),
        ] {
            assert!(!rules_hit(text).contains(&rule), "{text:?} hit {rule}");
        }
        for (text, rule) in [
            ("Thanks, take care!", "closing"),
            ("我保证明天一定修好", "unapproved_promise"),
            ("好了，谢谢", "resolution"),
            ("I'm writing again about the same order", "repeat_contact"),
            ("I have never been this frustrated with a company", "customer_distress"),
            ("我從來沒這麼失望過", "customer_distress"),
        ] {
            assert!(rules_hit(text).contains(&rule), "{text:?} missed {rule}");
        }
    }

    #[test]
    fn a_valid_rule_gets_defaults() {
        let r = load(GREETING).unwrap();
        let g = &r.rules[0];
        assert_eq!(g.speaker, SpeakerScope::Only(Speaker::Agent));
        assert_eq!(g.severity, Severity::Minor);
        assert!(g.negation);
        assert_eq!(g.phrases, ["您好", "hello"]);
    }

    #[test]
    fn errors_name_the_rule_and_the_field() {
        assert_eq!(
            err(&GREETING.replace("weight = 10", "weight = -1")),
            "t.toml: rule \"greeting\": weight: must be above 0 and at most 100, got -1"
        );
        assert!(
            err(&GREETING.replace("\"compliance\"", "\"speed\""))
                .contains("rule \"greeting\": dimension:")
        );
        assert!(
            err(&format!("{GREETING}when = \"nope\"\n"))
                .contains("rule \"greeting\": when: no rule has id \"nope\"")
        );
        assert!(
            err(&format!("{GREETING}first_n_agent_turns = 1\nlast_n_agent_turns = 1\n"))
                .contains("not both")
        );
        assert!(err(&format!("{GREETING}{GREETING}")).contains("duplicate rule id"));
        assert!(
            err(&GREETING.replace("zh = [\"您好\"]\nen = [\"hello\"]\n", ""))
                .contains("zh/en: a rule needs at least one detector")
        );
        assert!(
            err(&GREETING.replace("\"hello\"", "\"!!!\"")).contains("phrase \"!!!\" has no words")
        );
        assert_eq!(
            err(&format!("[negation]\nexcept = [\"?!\"]\n{GREETING}")),
            "t.toml: negation.except: phrase \"?!\" has no words after normalization; remove it"
        );
        assert!(
            err(&format!("{GREETING}except = [\"...\"]\n"))
                .contains("rule \"greeting\": except: phrase \"...\" has no words")
        );
    }

    #[test]
    fn unknown_keys_and_bad_toml_are_reported_with_position() {
        let e = err(&format!("{GREETING}wieght = 3\n"));
        assert!(e.contains("t.toml: invalid TOML") && e.contains("wieght"), "{e}");
        let e = err("[[rule]\n");
        assert!(e.contains("line"), "{e}");
    }

    #[test]
    fn channel_overrides_apply_to_that_channel_only() {
        let r = load(
            "[timing]\nreply_limit_secs = 120\n[timing.channel.email]\nreply_limit_secs = 7200\n",
        )
        .unwrap();
        assert_eq!(r.timing.limits(Channel::Chat).reply_secs, 120.0);
        assert_eq!(r.timing.limits(Channel::Email).reply_secs, 7200.0);
        assert_eq!(r.timing.limits(Channel::Email).first_response_secs, 300.0);
    }

    #[test]
    fn unanswered_exemptions_must_name_signal_rules() {
        let e = err(&format!("[timing]\nunanswered_exempt_signals = [\"greeting\"]\n{GREETING}"));
        assert!(
            e.contains(
                "timing.unanswered_exempt_signals: \"greeting\" is not the id of a signal rule"
            ),
            "{e}"
        );
    }
}

#[cfg(test)]
mod detector_tests {
    //! Issue 17: model and example detectors in the rubric, and their mistakes.
    use super::*;
    use crate::segment::ChineseSegmenter;
    use std::sync::LazyLock;

    static SEG: LazyLock<Segmenter> = LazyLock::new(|| Segmenter::new(ChineseSegmenter::new()));
    const HEAD: &str = "name = \"t\"\nversion = \"1\"\npass_threshold = 70\n[weights]\nresponsiveness = 1\nempathy = 1\ncompliance = 1\n";
    const SHA: &str = "a2e13fb00ba4728a2bd77ac080edaddb329b56a91f4e24feee7576c41e6e2125";

    fn load(rule: &str) -> Result<Rubric, RubricError> {
        let head =
            "[[rule]]\nid = \"r\"\nkind = \"forbidden\"\ndimension = \"compliance\"\nweight = 10\n";
        parse(&format!("{HEAD}{head}{rule}"), "t.toml", &SEG)
    }

    /// The error names the file, the rule and the field.
    fn err(rule: &str, field: &str) -> String {
        let e = load(rule).err().unwrap_or_else(|| panic!("expected an error for {rule}"));
        let s = e.to_string();
        assert!(s.starts_with(&format!("t.toml: rule \"r\": {field}: ")), "{s}");
        s
    }

    #[test]
    fn a_rule_can_be_detected_by_the_model_alone() {
        let r = load("model = \"blame_customer\"\n").unwrap();
        let m = r.rules[0].model.as_ref().unwrap();
        assert_eq!((crate::model::ACTS[m.act], m.threshold), ("blame_customer", None));
        let r = load("model = \"rude\"\nmodel_threshold = 0.8\nen = [\"idiot\"]\n").unwrap();
        assert_eq!(r.rules[0].model.as_ref().unwrap().threshold, Some(0.8));
    }

    #[test]
    fn an_unknown_act_or_a_threshold_outside_0_1_stops_naming_rule_and_field() {
        assert!(err("model = \"grumpy\"\n", "model").contains("acknowledge_feelings"));
        err("model = \"rude\"\nmodel_threshold = 1.5\n", "model_threshold");
        err("model_threshold = 0.5\nen = [\"x\"]\n", "model_threshold");
        err("model = \"distress\"\n", "model");
        let examples = "examples = { en = [\"That part was on you.\"] }\n";
        err(
            &format!(
                "{examples}example_threshold = {{ threshold = 1.2, model_sha256 = \"{SHA}\" }}\n"
            ),
            "example_threshold.threshold",
        );
        err(
            &format!(
                "{examples}example_threshold = {{ threshold = 0.9, model_sha256 = \"abc\" }}\n"
            ),
            "example_threshold.model_sha256",
        );
        err("examples = { klingon = [\"x\"] }\n", "examples.klingon");
        err("counter_examples = { en = [\"x\"] }\n", "examples");
        err("examples = { en = [\"  \"] }\n", "examples.en");
    }

    #[test]
    fn example_sentences_are_kept_per_language_key_with_their_calibration() {
        let r = load(&format!(
            "examples = {{ en = [\"That part was on you.\"], zh = [\"一般都是您自己设置错了\"] }}\n\
             counter_examples = {{ en = [\"That part is on us.\"] }}\n\
             example_threshold = {{ threshold = 0.91, model_sha256 = \"{SHA}\", precision = 0.9 }}\n"
        ))
        .unwrap();
        let ex = r.rules[0].examples.as_ref().unwrap();
        assert_eq!(ex.examples.len(), 2);
        assert_eq!(ex.counter_examples, [("en".to_string(), "That part is on us.".to_string())]);
        let c = ex.calibration.as_ref().unwrap();
        assert_eq!((c.threshold, c.model_sha256.as_str()), (0.91, SHA));
    }

    #[test]
    fn a_rule_without_any_detector_is_refused() {
        let e = load("").err().unwrap().to_string();
        assert!(e.contains("at least one detector"), "{e}");
    }

    #[test]
    fn the_default_rubric_detects_the_empathy_and_conduct_rules_with_the_model_too() {
        let r = Rubric::default_rubric(&SEG).unwrap();
        for (rule, act) in [
            ("customer_distress", "distress"),
            ("acknowledge_feelings", "acknowledge_feelings"),
            ("apology", "apology"),
            ("reassurance", "reassurance"),
            ("blame_customer", "blame_customer"),
            ("dismissive", "dismissive"),
            ("sarcasm", "sarcasm"),
            ("rude", "rude"),
        ] {
            let m = r.rules[r.rule_index(rule).unwrap()].model.as_ref();
            assert_eq!(m.map(|m| crate::model::ACTS[m.act]), Some(act), "rule {rule}");
        }
    }
}
