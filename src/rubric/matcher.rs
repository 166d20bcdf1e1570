//! Phrase matching: every rule's phrases in one Aho-Corasick automaton, run once per turn over
//! the turn's tokens, with hits aligned to token boundaries and negation detected.
//!
//! A turn's tokens are joined into a "match text": Chinese tokens that touch are joined without
//! a space, every other pair with one space. Phrases are normalized, segmented and joined the
//! same way, so `Thank   you!` matches `thank you`, `請放心` matches `请放心`, and a hit must start
//! and end on token boundaries (`hi` does not fire inside `this`, `滚` not inside `滚动`) or on
//! the edge of a dictionary word inside a longer Chinese token (`谢谢` inside `谢谢您`).

use std::collections::{HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::Rule;
use crate::segment::{Segmented, Segmenter, TokenKind};

/// Characters that end a clause: a negator before one does not reach past it.
const CLAUSE_BREAKS: &[char] = &[',', '.', '!', '?', ';', ':', '。', '、', '…', '\n', '~'];

/// One phrase found in one turn, or a turn a model or example detector matched (then
/// `source` says which, and the span is the whole turn).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub rule: u32,
    /// Index into the rule's `phrases`.
    pub phrase: u32,
    pub first_token: u32,
    pub last_token: u32,
    /// The hit's byte span in the original turn text.
    pub orig_start: u32,
    pub orig_end: u32,
    /// A negator stood before it in the same clause ("not sorry", 「不生气」).
    pub negated: bool,
    pub source: HitSource,
}

/// Which detector found a hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HitSource {
    /// Phrase `phrase` of the rule's list.
    Phrase,
    /// The model's act head: `p` reached `threshold`.
    Model { p: f32, threshold: f32 },
    /// Example sentence `example` of the rule was the nearest, at cosine `similarity` (at
    /// least `threshold`); `counter` is the nearest counter-example's similarity, if any.
    Example { example: u32, similarity: f32, threshold: f32, counter: Option<(u32, f32)> },
}

impl HitSource {
    /// The `detector` column: `phrase`, `model` or `examples`.
    pub fn detector(&self) -> &'static str {
        match self {
            HitSource::Phrase => "phrase",
            HitSource::Model { .. } => "model",
            HitSource::Example { .. } => "examples",
        }
    }
}

/// What an automaton pattern stands for.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// Phrase `phrase` of rule `rule`.
    Phrase { rule: u32, phrase: u32 },
    /// One of rule `rule`'s `except` phrases.
    Except { rule: u32 },
    /// A phrase of `[negation] except`: the negators inside it do not negate ("never been this").
    NotNegating,
}

pub struct Matcher {
    automaton: AhoCorasick,
    /// For each automaton pattern, what it stands for (several rules may share a phrase).
    targets: Vec<Vec<Target>>,
    negators: HashSet<String>,
    window: usize,
}

/// Reusable buffers for matching one turn after another without allocating.
#[derive(Default)]
pub struct MatchScratch {
    text: String,
    /// Match-text offsets of each token's start and end.
    starts: Vec<u32>,
    ends: Vec<u32>,
    /// Match-text offsets of sub-word boundaries inside Chinese tokens.
    inner: Vec<u32>,
    /// (rule, original start, original end) of the `except` phrases found in the turn.
    excepts: Vec<(u32, u32, u32)>,
    /// (pattern, start, end) in the match text of every aligned automaton match of the turn.
    found: Vec<(u32, u32, u32)>,
    /// Match-text spans of the `[negation] except` phrases found in the turn.
    not_negating: Vec<(u32, u32)>,
}

impl MatchScratch {
    fn is_start(&self, at: u32) -> bool {
        self.starts.binary_search(&at).is_ok() || self.inner.binary_search(&at).is_ok()
    }

    fn is_end(&self, at: u32) -> bool {
        self.ends.binary_search(&at).is_ok() || self.inner.binary_search(&at).is_ok()
    }

    /// The token that holds match-text byte `at`.
    fn token_at(&self, at: u32) -> usize {
        self.starts.partition_point(|&s| s <= at) - 1
    }

    /// Whether match-text bytes `start..end` lie inside a `[negation] except` phrase.
    fn not_negating(&self, start: u32, end: u32) -> bool {
        self.not_negating.iter().any(|&(s, e)| s <= start && end <= e)
    }
}

impl Matcher {
    /// Compiles the rules' phrases and `except` phrases, and the phrases in which a negator does
    /// not negate (`not_negating`). Fails with `(rule index, field, phrase)` for a phrase that
    /// has no words after normalization (no rule index for a `not_negating` phrase).
    pub(super) fn build(
        rules: &[Rule],
        negators: &[&str],
        not_negating: &[&str],
        window: u32,
        segmenter: &Segmenter,
    ) -> Result<Matcher, (Option<usize>, &'static str, String)> {
        let mut scratch = MatchScratch::default();
        let mut patterns: Vec<String> = Vec::new();
        let mut by_text: HashMap<String, usize> = HashMap::new();
        let mut targets: Vec<Vec<Target>> = Vec::new();
        let per_rule = rules.iter().enumerate().flat_map(|(r, rule)| {
            let rule_id = r as u32;
            let phrases = rule.phrases.iter().enumerate().map(move |(p, text)| {
                (
                    Some(r),
                    "zh/en",
                    text.as_str(),
                    Target::Phrase { rule: rule_id, phrase: p as u32 },
                )
            });
            let excepts = rule.except.iter().map(move |text| {
                (Some(r), "except", text.as_str(), Target::Except { rule: rule_id })
            });
            phrases.chain(excepts)
        });
        let negation =
            not_negating.iter().map(|&text| (None, "negation.except", text, Target::NotNegating));
        for (rule, field, phrase, target) in per_rule.chain(negation) {
            join_tokens(&segmenter.segment(phrase), &mut scratch);
            if scratch.text.is_empty() {
                return Err((rule, field, phrase.to_string()));
            }
            let slot = *by_text.entry(scratch.text.clone()).or_insert_with(|| {
                patterns.push(scratch.text.clone());
                targets.push(Vec::new());
                patterns.len() - 1
            });
            targets[slot].push(target);
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .expect("phrase automaton within size limits");
        let negators = negators
            .iter()
            .map(|n| {
                join_tokens(&segmenter.segment(n), &mut scratch);
                scratch.text.clone()
            })
            .filter(|n| !n.is_empty())
            .collect();
        Ok(Matcher { automaton, targets, negators, window: window as usize })
    }

    /// Number of distinct phrases compiled.
    pub fn pattern_count(&self) -> usize {
        self.targets.len()
    }

    /// Appends every phrase hit in `seg` to `out`, in order of position; a hit that one of its
    /// rule's `except` phrases covers is left out.
    pub fn find(&self, seg: &Segmented, scratch: &mut MatchScratch, out: &mut Vec<Hit>) {
        if seg.tokens.is_empty() {
            return;
        }
        join_tokens(seg, scratch);
        scratch.excepts.clear();
        scratch.not_negating.clear();
        // First every aligned match, so that negation can see all `[negation] except` spans.
        let mut found = std::mem::take(&mut scratch.found);
        found.clear();
        for m in self.automaton.find_overlapping_iter(&scratch.text) {
            let (start, end) = (m.start() as u32, m.end() as u32);
            if !scratch.is_start(start) || !scratch.is_end(end) {
                continue;
            }
            let pattern = m.pattern().as_u32();
            if self.targets[pattern as usize].iter().any(|t| matches!(t, Target::NotNegating)) {
                scratch.not_negating.push((start, end));
            }
            found.push((pattern, start, end));
        }
        let before = out.len();
        for &(pattern, start, end) in &found {
            let (first, last) = (scratch.token_at(start), scratch.token_at(end - 1));
            // Inside a token the match text is the normalized text, byte for byte.
            let norm_start = seg.tokens[first].start + (start - scratch.starts[first]);
            let norm_end = seg.tokens[last].start + (end - scratch.starts[last]);
            let orig = seg.normalized.original_range(norm_start as usize..norm_end as usize);
            let negated = self.is_negated(seg, scratch, first, start, norm_start);
            for &target in &self.targets[pattern as usize] {
                match target {
                    Target::Phrase { rule, phrase } => out.push(Hit {
                        rule,
                        phrase,
                        first_token: first as u32,
                        last_token: last as u32,
                        orig_start: orig.start as u32,
                        orig_end: orig.end as u32,
                        negated,
                        source: HitSource::Phrase,
                    }),
                    Target::Except { rule } => {
                        scratch.excepts.push((rule, orig.start as u32, orig.end as u32))
                    }
                    Target::NotNegating => {}
                }
            }
        }
        scratch.found = found;
        if !scratch.excepts.is_empty() {
            let excepts = &scratch.excepts;
            let covered = |h: &Hit| {
                excepts.iter().any(|&(rule, start, end)| {
                    rule == h.rule && start <= h.orig_start && h.orig_end <= end
                })
            };
            let mut kept = before;
            for i in before..out.len() {
                if !covered(&out[i]) {
                    out.swap(kept, i);
                    kept += 1;
                }
            }
            out.truncate(kept);
        }
        out[before..].sort_by_key(|h| (h.first_token, h.last_token, h.rule, h.phrase));
    }

    /// Whether a negator stands within `window` tokens before token `first`, in the same clause,
    /// or — for a hit starting inside token `first` at match-text `start` (normalized
    /// `norm_start`) — right before it in that token (「不生气」 kept whole by jieba). A negator
    /// inside a `[negation] except` phrase ("never been this", 「从来没这么」) does not count.
    fn is_negated(
        &self,
        seg: &Segmented,
        scratch: &MatchScratch,
        first: usize,
        start: u32,
        norm_start: u32,
    ) -> bool {
        let text = &seg.normalized.text;
        let prefix = &text[seg.tokens[first].start as usize..norm_start as usize];
        if !prefix.is_empty()
            && self.negators.iter().any(|n| {
                prefix.ends_with(n.as_str()) && !scratch.not_negating(start - n.len() as u32, start)
            })
        {
            return true;
        }
        let lowest = first.saturating_sub(self.window);
        for k in (lowest..first).rev() {
            let gap = &text[seg.tokens[k].end as usize..seg.tokens[k + 1].start as usize];
            if gap.contains(CLAUSE_BREAKS) {
                return false;
            }
            if self.negators.contains(seg.token_text(k))
                && !scratch.not_negating(scratch.starts[k], scratch.ends[k])
            {
                return true;
            }
        }
        false
    }
}

/// Builds the match text of a segmented text into `scratch`.
fn join_tokens(seg: &Segmented, scratch: &mut MatchScratch) {
    scratch.text.clear();
    scratch.starts.clear();
    scratch.ends.clear();
    scratch.inner.clear();
    let mut inner = seg.inner_boundaries.iter().peekable();
    let mut prev: Option<&crate::segment::Token> = None;
    for (i, t) in seg.tokens.iter().enumerate() {
        if let Some(p) = prev {
            let touching_chinese =
                p.kind == TokenKind::Chinese && t.kind == TokenKind::Chinese && p.end == t.start;
            if !touching_chinese {
                scratch.text.push(' ');
            }
        }
        let at = scratch.text.len() as u32;
        scratch.starts.push(at);
        scratch.text.push_str(seg.token_text(i));
        scratch.ends.push(scratch.text.len() as u32);
        while let Some(&&b) = inner.peek() {
            if b >= t.end {
                break;
            }
            if b > t.start {
                scratch.inner.push(at + (b - t.start));
            }
            inner.next();
        }
        prev = Some(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::{Position, RuleKind, Severity, SpeakerScope};
    use crate::segment::ChineseSegmenter;
    use std::sync::LazyLock;

    static SEG: LazyLock<Segmenter> = LazyLock::new(|| Segmenter::new(ChineseSegmenter::new()));

    fn rule(id: &str, phrases: &[&str]) -> Rule {
        Rule {
            id: id.into(),
            description: String::new(),
            kind: RuleKind::Forbidden,
            dimension: None,
            speaker: SpeakerScope::Any,
            position: Position::Anywhere,
            when: None,
            weight: 1.0,
            severity: Severity::Minor,
            negation: true,
            phrases: phrases.iter().map(|s| s.to_string()).collect(),
            except: Vec::new(),
            model: None,
            examples: None,
        }
    }

    fn matcher() -> Matcher {
        let rules = [
            rule("apology", &["抱歉", "sorry", "my apologies"]),
            rule("greeting", &["hi", "您好"]),
            rule("rude", &["滚", "shut up"]),
            rule("distress", &["生气", "frustrated"]),
            rule("reassure", &["请放心", "don't worry"]),
        ];
        Matcher::build(&rules, &["不", "没", "not", "never"], &[], 3, &SEG).unwrap()
    }

    /// (rule, original span, negated) of each hit.
    fn hits(text: &str) -> Vec<(u32, String, bool)> {
        let m = matcher();
        let seg = SEG.segment(text);
        let mut out = Vec::new();
        m.find(&seg, &mut MatchScratch::default(), &mut out);
        out.iter()
            .map(|h| {
                (h.rule, text[h.orig_start as usize..h.orig_end as usize].to_string(), h.negated)
            })
            .collect()
    }

    #[test]
    fn finds_phrases_across_scripts_with_original_spans() {
        assert_eq!(
            hits("您好！很抱歉，請放心"),
            vec![(1, "您好".into(), false), (0, "抱歉".into(), false), (4, "請放心".into(), false),]
        );
        assert_eq!(
            hits("Hi there, MY   Apologies!"),
            vec![(1, "Hi".into(), false), (0, "MY   Apologies".into(), false),]
        );
    }

    #[test]
    fn hits_align_to_token_boundaries() {
        assert!(hits("this is fine, history").is_empty());
        assert!(hits("请向下滚动页面").is_empty(), "{:?}", hits("请向下滚动页面"));
        assert_eq!(hits("你给我滚").len(), 1);
    }

    #[test]
    fn a_word_glued_to_a_particle_by_jieba_still_matches() {
        // jieba keeps 「谢谢您」 as one token.
        let rules = [rule("thanks", &["谢谢"])];
        let m = Matcher::build(&rules, &["不"], &[], 3, &SEG).unwrap();
        let text = "收到，謝謝您的協助";
        let seg = SEG.segment(text);
        let mut out = Vec::new();
        m.find(&seg, &mut MatchScratch::default(), &mut out);
        assert_eq!(out.len(), 1, "{seg:?}");
        assert_eq!(&text[out[0].orig_start as usize..out[0].orig_end as usize], "謝謝");
    }

    #[test]
    fn a_negator_glued_into_the_same_token_still_negates() {
        let rules = [rule("responsible", &["负责"])];
        let m = Matcher::build(&rules, &["不"], &[], 3, &SEG).unwrap();
        let seg = SEG.segment("你们太不负责任了");
        assert!(
            seg.tokens.iter().any(|t| seg.normalized.text[t.range()].eq("不负责任")),
            "{seg:?}"
        );
        let mut out = Vec::new();
        m.find(&seg, &mut MatchScratch::default(), &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].negated, "不 inside the token 不负责任 negates 负责");
    }

    #[test]
    fn negation_cancels_within_the_clause_only() {
        assert_eq!(hits("我不生气"), vec![(3, "生气".into(), true)]);
        assert_eq!(hits("I'm not frustrated"), vec![(3, "frustrated".into(), true)]);
        assert_eq!(hits("Not now. I am frustrated"), vec![(3, "frustrated".into(), false)]);
        assert_eq!(hits("never, ever frustrated"), vec![(3, "frustrated".into(), false)]);
    }

    #[test]
    fn a_negator_inside_a_negation_except_phrase_does_not_negate() {
        let rules = [rule("distress", &["frustrated", "失望"])];
        let m = Matcher::build(
            &rules,
            &["没", "never", "not"],
            &["never been this", "从来没这么"],
            3,
            &SEG,
        )
        .unwrap();
        let negated = |text: &str| {
            let mut out = Vec::new();
            m.find(&SEG.segment(text), &mut MatchScratch::default(), &mut out);
            assert_eq!(out.len(), 1, "{text:?}: {out:?}");
            out[0].negated
        };
        assert!(!negated("I have never been this frustrated"));
        assert!(!negated("我從來沒這麼失望過"));
        assert!(negated("I'm never frustrated"));
        assert!(negated("我没失望"));
    }

    #[test]
    fn a_phrase_that_contains_a_negator_is_not_negated_by_itself() {
        assert_eq!(hits("Don't worry"), vec![(4, "Don't worry".into(), false)]);
    }

    #[test]
    fn an_except_phrase_cancels_only_the_hits_it_covers_of_its_own_rule() {
        let mut closing = rule("closing", &["take care", "好了"]);
        closing.except = vec!["take care of".into(), "准备好了".into()];
        let rules = [closing, rule("other", &["take care", "好了"])];
        let m = Matcher::build(&rules, &[], &[], 3, &SEG).unwrap();
        let find = |text: &str| {
            let mut out = Vec::new();
            m.find(&SEG.segment(text), &mut MatchScratch::default(), &mut out);
            out.iter()
                .map(|h| (h.rule, text[h.orig_start as usize..h.orig_end as usize].to_string()))
                .collect::<Vec<_>>()
        };
        // The other rule keeps its hit; the closing rule's is covered by "take care of".
        assert_eq!(find("I'll take care of it"), vec![(1, "take care".into())]);
        assert_eq!(
            find("Take care of yourself, and take care!"),
            vec![(1, "Take care".into()), (0, "take care".into()), (1, "take care".into())]
        );
        assert_eq!(find("资料已经准备好了"), vec![(1, "好了".into())]);
        assert_eq!(find("网络好了"), vec![(0, "好了".into()), (1, "好了".into())]);
    }

    #[test]
    fn duplicate_phrases_across_rules_hit_each_rule() {
        let rules = [rule("a", &["sorry"]), rule("b", &["SORRY"])];
        let m = Matcher::build(&rules, &[], &[], 3, &SEG).unwrap();
        assert_eq!(m.pattern_count(), 1);
        let mut out = Vec::new();
        m.find(&SEG.segment("so sorry"), &mut MatchScratch::default(), &mut out);
        assert_eq!(out.iter().map(|h| h.rule).collect::<Vec<_>>(), [0, 1]);
    }
}
