//! Language of a turn and of a conversation: `zh-Hans`, `zh-Hant`, `en`, `mixed` (code-switched
//! Chinese and Latin text in one turn), `other` or `none` (no letters at all).
//!
//! Script shares come from the normalizer's counts (Unicode script property); Latin-only text is
//! checked with `whatlang`, and only a reliable non-English verdict makes it `other`, because chat
//! turns are short ("ok thx") and English is what Latin text means in our traffic.

use crate::normalize::NormalizedText;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    ZhHans,
    ZhHant,
    En,
    Mixed,
    Other,
    None,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhHans => "zh-Hans",
            Language::ZhHant => "zh-Hant",
            Language::En => "en",
            Language::Mixed => "mixed",
            Language::Other => "other",
            Language::None => "none",
        }
    }

    fn is_zh(self) -> bool {
        matches!(self, Language::ZhHans | Language::ZhHant)
    }
}

/// A script needs at least this share of the letters (Han characters + Latin letters) for a
/// turn to count as mixed rather than as the other script with a borrowed word.
const MIXED_MIN_SHARE: f32 = 0.15;

/// The language of one turn.
pub fn detect(norm: &NormalizedText) -> Language {
    let han = norm.han_chars as f32;
    let latin = norm.latin_letters as f32;
    let total = han + latin;
    if total == 0.0 {
        return Language::None;
    }
    let han_share = han / total;
    if han_share > 0.0 && han_share < 1.0 && han >= 2.0 && latin >= 2.0 {
        if han_share >= MIXED_MIN_SHARE && han_share <= 1.0 - MIXED_MIN_SHARE {
            return Language::Mixed;
        }
    }
    if han_share >= 0.5 {
        return if norm.traditional_chars > 0 {
            Language::ZhHant
        } else {
            Language::ZhHans
        };
    }
    match whatlang::detect(&norm.text) {
        Some(info) if info.is_reliable() && info.lang() != whatlang::Lang::Eng => Language::Other,
        _ => Language::En,
    }
}

/// The language of a whole conversation from its turns' languages: `mixed` when it has a mixed
/// turn or both Chinese and English turns, otherwise the most frequent (ties: Traditional, since a
/// Traditional turn is never a false positive of Simplified text).
pub fn conversation_language(turns: impl IntoIterator<Item = Language>) -> Language {
    let mut counts = [0u32; 6];
    for l in turns {
        counts[l as usize] += 1;
    }
    let zh = counts[Language::ZhHans as usize] + counts[Language::ZhHant as usize];
    if counts[Language::Mixed as usize] > 0 || (zh > 0 && counts[Language::En as usize] > 0) {
        return Language::Mixed;
    }
    if zh > 0 {
        return if counts[Language::ZhHant as usize] >= counts[Language::ZhHans as usize] {
            Language::ZhHant
        } else {
            Language::ZhHans
        };
    }
    [Language::En, Language::Other]
        .into_iter()
        .filter(|l| counts[*l as usize] > 0)
        .max_by_key(|l| counts[*l as usize])
        .unwrap_or(Language::None)
}

impl Language {
    /// Whether matching needs the Chinese segmenter for this turn.
    pub fn has_chinese(self) -> bool {
        self.is_zh() || self == Language::Mixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn lang(s: &str) -> Language {
        detect(&normalize(s))
    }

    #[test]
    fn detects_each_language() {
        assert_eq!(lang("你好，我的账单多扣了30元"), Language::ZhHans);
        assert_eq!(lang("您好，很抱歉造成您的不便，請放心"), Language::ZhHant);
        assert_eq!(
            lang("Hi, I was charged twice for my subscription this month."),
            Language::En
        );
        assert_eq!(lang("OK 我帮你 check 一下 order status"), Language::Mixed);
        assert_eq!(lang("12345 !!!"), Language::None);
    }

    #[test]
    fn a_borrowed_word_does_not_make_a_turn_mixed() {
        assert_eq!(
            lang("我已经在网上提交了退款申请，但是一直显示处理中，请问需要多久才能到账呢？OK"),
            Language::ZhHans
        );
    }

    #[test]
    fn conversation_language_rules() {
        use Language::*;
        assert_eq!(conversation_language([ZhHans, ZhHans, None]), ZhHans);
        assert_eq!(conversation_language([ZhHans, ZhHant, ZhHant]), ZhHant);
        assert_eq!(conversation_language([ZhHans, En]), Mixed);
        assert_eq!(conversation_language([En, Mixed, En]), Mixed);
        assert_eq!(conversation_language([None]), None);
    }
}
