//! Language of a turn and of a conversation: `zh-Hans`, `zh-Hant`, `en`, `mixed` (code-switched
//! Chinese and English in one turn), `other` or `none` (no words at all).
//!
//! Decided on the segmented tokens: Chinese words against Latin words (letters only, so order
//! numbers such as `DD20261027` or user names such as `lily_0918` do not count as English).
//! Traditional means the Traditional→Simplified conversion changed a character. Latin-only text
//! of at least [`MIN_WORDS_FOR_ID`] words is checked with `whatlang` against the Latin-script
//! languages a contact centre is likely to see, and only a reliable non-English verdict makes it
//! `other`: chat turns are short ("ok thx") and English is what Latin text means in our traffic.

use std::sync::LazyLock;

use whatlang::{Detector, Lang};

use super::{Token, TokenKind};
use crate::normalize::NormalizedText;

/// Shorter Latin text is taken as English: language identification is not reliable on it.
pub const MIN_WORDS_FOR_ID: u32 = 4;

/// Frequent English words that the other Latin-script languages of the allowlist below do not
/// use as common words (so not "a", "no", "in", "is", "on", "so", "die"). Two of them in a turn
/// settle it as English without running language identification, which costs ~20× more than
/// segmenting the turn. Sorted, for binary search.
const ENGLISH_MARKERS: &[&str] = &[
    "about",
    "account",
    "again",
    "all",
    "already",
    "and",
    "any",
    "app",
    "are",
    "at",
    "be",
    "been",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "charge",
    "charged",
    "could",
    "days",
    "delivery",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "don't",
    "email",
    "ever",
    "for",
    "from",
    "get",
    "got",
    "had",
    "has",
    "hasn't",
    "have",
    "haven't",
    "he",
    "hello",
    "help",
    "her",
    "here",
    "hey",
    "hi",
    "his",
    "how",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "isn't",
    "it",
    "it's",
    "just",
    "know",
    "login",
    "me",
    "money",
    "more",
    "much",
    "my",
    "need",
    "never",
    "not",
    "now",
    "of",
    "ok",
    "okay",
    "order",
    "our",
    "out",
    "package",
    "password",
    "payment",
    "please",
    "pls",
    "really",
    "received",
    "refund",
    "she",
    "should",
    "some",
    "sorry",
    "still",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "they",
    "this",
    "thx",
    "time",
    "to",
    "today",
    "up",
    "us",
    "very",
    "want",
    "was",
    "wasn't",
    "we",
    "we're",
    "week",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "won't",
    "would",
    "yeah",
    "yes",
    "yesterday",
    "yet",
    "you",
    "you're",
    "your",
];

/// Frequent function words of the other languages of the allowlist below that are not English
/// words (so not "a", "no", "in", "die", "dan", "me"). A short Latin turn with one English marker
/// and none of these is settled as English without language identification: whatlang costs a
/// fixed ~18 µs a call, most of an English turn's segmentation time. Sorted, for binary search.
const FOREIGN_MARKERS: &[&str] = &[
    "ako", "al", "ang", "bir", "bu", "che", "con", "của", "das", "de", "del", "der", "des",
    "değil", "du", "een", "el", "en", "es", "est", "et", "het", "hindi", "ich", "ik", "il", "ini",
    "itu", "için", "je", "jest", "không", "la", "las", "le", "les", "los", "là", "mga", "na", "ng",
    "nicht", "nie", "niet", "non", "não", "para", "pas", "por", "que", "sa", "saya", "se", "się",
    "sono", "tidak", "um", "uma", "una", "und", "ve", "você", "vous", "và", "y", "yang", "że",
];

/// At most this many Latin words for one English marker to settle a turn (see
/// [`FOREIGN_MARKERS`]); longer turns need two markers or language identification.
const ONE_MARKER_MAX_WORDS: u32 = 10;

/// English against the Latin-script languages most likely in zh/en customer service. A short
/// list keeps identification cheap (it was most of the pipeline's time against all languages).
static LATIN_DETECTOR: LazyLock<Detector> = LazyLock::new(|| {
    use Lang::*;
    Detector::with_allowlist(vec![Eng, Spa, Por, Fra, Deu, Ita, Nld, Ind, Tgl, Vie, Tur, Pol])
});

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
}

/// Currency codes and prefixes (normalized, lowercase) that, written before an amount
/// ("NT$1,290", "RM 156", "USD 20"), are part of the amount rather than English words. Sorted,
/// for binary search.
const CURRENCY_CODES: &[&str] = &[
    "aud", "cad", "cny", "eur", "gbp", "hk", "hkd", "jpy", "krw", "myr", "nt", "ntd", "php", "rm",
    "rmb", "s", "sgd", "thb", "twd", "us", "usd",
];

/// Whether the word at `range` of `text` is a currency code written before an amount: one of
/// [`CURRENCY_CODES`] followed by optional spaces, an optional `$` and a digit.
fn is_currency_prefix(text: &str, range: std::ops::Range<usize>) -> bool {
    if CURRENCY_CODES.binary_search(&&text[range.clone()]).is_err() {
        return false;
    }
    let rest = text[range.end..].trim_start();
    let rest = rest.strip_prefix('$').map_or(rest, str::trim_start);
    rest.starts_with(|c: char| c.is_ascii_digit())
}

/// Latin words need at least this share of a turn's words (Chinese + Latin) for the turn to be
/// mixed rather than Chinese with a borrowed word ("你们的app闪退").
const MIXED_MIN_LATIN_SHARE: f32 = 0.2;

/// The language of one turn from its normalized text and tokens.
pub fn detect(norm: &NormalizedText, tokens: &[Token]) -> Language {
    let mut chinese = 0u32;
    let mut latin = 0u32;
    let mut english_markers = 0u32;
    let mut foreign_markers = 0u32;
    for t in tokens {
        match t.kind {
            TokenKind::Chinese => chinese += 1,
            TokenKind::Word => {
                let word = &norm.text[t.range()];
                latin += (word.chars().all(|c| c.is_alphabetic() || c == '\'')
                    && !is_currency_prefix(&norm.text, t.range())) as u32;
                // only Latin-only turns use the markers, and two English ones settle it
                if chinese == 0 && english_markers < 2 {
                    english_markers += ENGLISH_MARKERS.binary_search(&word).is_ok() as u32;
                    foreign_markers += FOREIGN_MARKERS.binary_search(&word).is_ok() as u32;
                }
            }
        }
    }
    let share = latin as f32 / (chinese + latin).max(1) as f32;
    let settled_english = english_markers >= 2
        || (english_markers == 1 && foreign_markers == 0 && latin <= ONE_MARKER_MAX_WORDS);
    match (chinese, latin) {
        (0, 0) => Language::None,
        (0, n) if n < MIN_WORDS_FOR_ID || settled_english => Language::En,
        (0, _) => match LATIN_DETECTOR.detect(&norm.text) {
            Some(info) if info.is_reliable() && info.lang() != Lang::Eng => Language::Other,
            _ => Language::En,
        },
        (_, _) if share >= MIXED_MIN_LATIN_SHARE => Language::Mixed,
        _ if norm.traditional_chars > 0 => Language::ZhHant,
        _ => Language::ZhHans,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tests::SEGMENTER;

    fn lang(s: &str) -> Language {
        SEGMENTER.segment(s).language
    }

    #[test]
    fn the_marker_lists_are_sorted_for_binary_search_and_disjoint() {
        assert!(ENGLISH_MARKERS.windows(2).all(|w| w[0] < w[1]));
        assert!(CURRENCY_CODES.windows(2).all(|w| w[0] < w[1]), "CURRENCY_CODES not sorted");
        assert!(FOREIGN_MARKERS.windows(2).all(|w| w[0] < w[1]), "FOREIGN_MARKERS not sorted");
        assert!(FOREIGN_MARKERS.iter().all(|w| ENGLISH_MARKERS.binary_search(w).is_err()));
    }

    #[test]
    fn one_english_marker_settles_a_short_turn_unless_a_foreign_function_word_is_there() {
        assert_eq!(lang("Have a great day, Jason!"), Language::En);
        assert_eq!(lang("battery saver is on yeah"), Language::En);
        // one English marker ("account") in Spanish and Indonesian turns: identification decides
        // (without "saya", "tidak", "nicht" these would be settled as English by "account")
        assert_eq!(lang("saya tidak bisa masuk ke account saya hari ini"), Language::Other);
        assert_eq!(lang("ich kann mein account nicht mehr öffnen"), Language::Other);
    }

    #[test]
    fn detects_each_language() {
        assert_eq!(lang("你好，我的账单多扣了30元"), Language::ZhHans);
        assert_eq!(lang("您好，很抱歉造成您的不便，請放心"), Language::ZhHant);
        assert_eq!(lang("Hi, I was charged twice for my subscription this month."), Language::En);
        assert_eq!(lang("OK 我帮你 check 一下 order status"), Language::Mixed);
        assert_eq!(lang("12345 !!!"), Language::None);
        assert_eq!(
            lang("Hola, quiero cancelar mi suscripción porque el servicio es muy malo"),
            Language::Other
        );
        assert_eq!(lang("ok thx"), Language::En);
        assert_eq!(
            lang("Bonjour, je voudrais annuler mon abonnement s'il vous plaît"),
            Language::Other
        );
        assert_eq!(
            lang(
                "Olá, eu gostaria de cancelar a minha assinatura porque o serviço está muito lento"
            ),
            Language::Other
        );
    }

    #[test]
    fn identifiers_and_borrowed_words_do_not_make_a_turn_mixed() {
        assert_eq!(lang("订单号 DD20261027448815"), Language::ZhHans);
        assert_eq!(lang("账号是 lily_0918，原来的手机号是137****5521"), Language::ZhHans);
        assert_eq!(lang("你好，你们的app在安卓上打开就闪退"), Language::ZhHans);
        assert_eq!(lang("CK1103-0921"), Language::None);
    }

    #[test]
    fn currency_codes_before_an_amount_are_not_english_words() {
        assert_eq!(lang("已退還 NT$1,290"), Language::ZhHant);
        assert_eq!(lang("運費 HK$ 30"), Language::ZhHant);
        assert_eq!(lang("退款 S$45 已处理"), Language::ZhHans);
        assert_eq!(lang("金额 RM 156"), Language::ZhHans);
        assert_eq!(lang("共 USD 20 元"), Language::ZhHans);
        // a code that is an English word stays one without an amount after it
        assert_eq!(lang("contact us"), Language::En);
        assert_eq!(lang("请 contact us 或者 email 我们"), Language::Mixed);
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
