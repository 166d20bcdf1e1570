//! PII redaction for every output that carries text: e-mail addresses, phone numbers (mainland
//! China mobile and landline, international), payment card numbers (Luhn-checked), PRC resident
//! ID numbers (check digit) and IP addresses (v4, v6).
//!
//! Scoring sees the original text; only what is written out is redacted. Each finding becomes a
//! bracketed tag (`[PHONE]`), and [`Redacted::map_span`] carries byte spans of the original
//! (a flag's matched phrase) over to the redacted text, so evidence spans stay consistent.
//! Digits may be ASCII or full-width (`１３８…`), as customers type them.

use std::net::Ipv6Addr;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PiiKind {
    Email,
    IdNumber,
    Card,
    Ip,
    Phone,
}

impl PiiKind {
    pub const ALL: [PiiKind; 5] =
        [PiiKind::Email, PiiKind::IdNumber, PiiKind::Card, PiiKind::Ip, PiiKind::Phone];

    /// The tag that replaces a finding.
    pub fn tag(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::IdNumber => "[ID]",
            PiiKind::Card => "[CARD]",
            PiiKind::Ip => "[IP]",
            PiiKind::Phone => "[PHONE]",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::IdNumber => "id_number",
            PiiKind::Card => "card",
            PiiKind::Ip => "ip",
            PiiKind::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<PiiKind> {
        PiiKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One replaced piece: where it was in the original and where its tag is in the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub kind: PiiKind,
    pub original: Range<usize>,
    pub redacted: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub redactions: Vec<Redaction>,
}

impl Redacted {
    /// `self` followed by `next`, a redaction of `self.text`, as one redaction of the original.
    /// `next`'s findings lie between `self`'s tags (they cannot contain a bracket).
    fn then(self, next: Redacted) -> Redacted {
        // An offset of `self.text` outside the tags, back in the original.
        let to_original = |p: usize| {
            let before = self.redactions.iter().take_while(|r| r.redacted.end <= p);
            let shift: isize =
                before.map(|r| r.redacted.len() as isize - r.original.len() as isize).sum();
            p.saturating_add_signed(-shift)
        };
        let mut redactions = Vec::with_capacity(self.redactions.len() + next.redactions.len());
        let mut old = self.redactions.iter().peekable();
        for n in &next.redactions {
            while let Some(r) = old.next_if(|r| r.redacted.end <= n.original.start) {
                let (start, end) = next.map_span(r.redacted.start, r.redacted.end);
                redactions.push(Redaction { redacted: start..end, ..r.clone() });
            }
            let original = to_original(n.original.start)..to_original(n.original.end);
            redactions.push(Redaction { original, ..n.clone() });
        }
        for r in old {
            let (start, end) = next.map_span(r.redacted.start, r.redacted.end);
            redactions.push(Redaction { redacted: start..end, ..r.clone() });
        }
        Redacted { text: next.text, redactions }
    }

    /// Maps a byte span of the original text to the redacted text. A span that touches a
    /// redacted piece grows to cover its whole tag.
    pub fn map_span(&self, start: usize, end: usize) -> (usize, usize) {
        let map =
            |pos: usize, inside: &dyn Fn(&Range<usize>) -> bool, edge: fn(&Redaction) -> usize| {
                let mut shift = 0isize;
                for r in &self.redactions {
                    if inside(&r.original) {
                        return edge(r);
                    }
                    if r.original.end > pos {
                        break;
                    }
                    shift += r.redacted.len() as isize - r.original.len() as isize;
                }
                pos.saturating_add_signed(shift)
            };
        (
            map(start, &|o| o.start <= start && start < o.end, |r| r.redacted.start),
            map(end, &|o| o.start < end && end <= o.end, |r| r.redacted.end),
        )
    }
}

/// Which kinds to redact (all by default).
#[derive(Debug, Clone)]
pub struct Redactor {
    kinds: Vec<PiiKind>,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor { kinds: PiiKind::ALL.to_vec() }
    }
}

const D: &str = "[0-9０-９]";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
        .expect("valid regex")
});
/// Runs of digits with single spaces or dashes between them (cards, ids, phones), optionally
/// with a leading `+` and a trailing X (ID check character).
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"[+＋]?(?:\(\s?{D}{{1,4}}\s?\)[ \-]?)?{D}(?:[ \-]?{D})*[XxＸ]?"))
        .expect("valid regex")
});
static IPV4: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}").expect("valid regex"));
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:]*").expect("valid regex")
});

fn digit(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(c as u32 - '0' as u32),
        '０'..='９' => Some(c as u32 - '０' as u32),
        _ => None,
    }
}

fn digits(s: &str) -> Vec<u32> {
    s.chars().filter_map(digit).collect()
}

fn luhn(d: &[u32]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| if i % 2 != 0 { if x * 2 > 9 { x * 2 - 9 } else { x * 2 } } else { x })
        .sum();
    sum.is_multiple_of(10)
}

/// PRC resident ID: 17 digits, then a check character from ISO 7064 MOD 11-2; a plausible
/// birth date in positions 7–14.
fn prc_id(s: &str) -> bool {
    let chars: Vec<char> = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if chars.len() != 18 {
        return false;
    }
    let d: Vec<u32> = chars[..17].iter().filter_map(|&c| digit(c)).collect();
    if d.len() != 17 {
        return false;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = d.iter().zip(W).map(|(a, b)| a * b).sum();
    let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
    let last = match chars[17] {
        'x' | 'Ｘ' => 'X',
        c => digit(c).map(|v| char::from_digit(v, 10).expect("digit")).unwrap_or(c),
    };
    let year = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9];
    let month = d[10] * 10 + d[11];
    let day = d[12] * 10 + d[13];
    last == check
        && (1900..=2100).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
}

/// What a run of digits is, if it is PII.
fn classify_number(s: &str) -> Option<PiiKind> {
    let d = digits(s);
    let plus = s.starts_with(['+', '＋']);
    let ends_x = s.ends_with(['X', 'x', 'Ｘ']);
    if !plus && prc_id(s) {
        return Some(PiiKind::IdNumber);
    }
    if ends_x {
        return None;
    }
    if !plus
        && (13..=19).contains(&d.len())
        && luhn(&d)
        && s.chars().next().and_then(digit) != Some(0)
    {
        return Some(PiiKind::Card);
    }
    let first_two = d.get(..2).map(|p| p[0] * 10 + p[1]);
    let mobile = |d: &[u32]| d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1]);
    let phone = if plus {
        // international: + country code and 7–14 more digits
        (8..=15).contains(&d.len())
    } else {
        mobile(&d)
            || (first_two == Some(86) && mobile(&d[2..]))
            // mainland landline: 0 + 2–3 digit area code + 7–8 digit number
            || (d.first() == Some(&0) && (10..=12).contains(&d.len()) && d.get(1) != Some(&0))
            // a 00-prefixed international number
            || (first_two == Some(0) && (10..=17).contains(&d.len()))
    };
    phone.then_some(PiiKind::Phone)
}

/// Whether `r` stands alone: no `word` character right before or after it. A neighbour inside
/// an earlier finding (`taken`) is no word: it becomes a tag, so `a@b.co13812345678` loses its
/// phone number on the first pass as `[EMAIL]13812345678` would on a second (issue 8).
/// Most groups of a separated number run that are tried in sub-runs (bounds the search).
const MAX_GROUPS: usize = 12;

/// PII made of whole groups of a run of digit groups separated by single spaces or dashes
/// (byte ranges within `s`).
fn groups_pii(s: &str) -> Vec<(PiiKind, Range<usize>)> {
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        let sep = c == ' ' || c == '-';
        match (sep, start) {
            (false, None) => start = Some(i),
            (true, Some(st)) => {
                groups.push(st..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        groups.push(st..s.len());
    }
    if groups.len() < 2 || groups.len() > MAX_GROUPS {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut first = 0;
    while first < groups.len() {
        let hit = (first + 1..=groups.len()).rev().find_map(|last| {
            let r = groups[first].start..groups[last - 1].end;
            classify_number(&s[r.clone()]).map(|k| (k, r, last))
        });
        match hit {
            Some((k, r, last)) if !(first == 0 && last == groups.len()) => {
                out.push((k, r));
                first = last;
            }
            _ => first += 1,
        }
    }
    out
}

fn boundary_ok(
    text: &str,
    r: &Range<usize>,
    word: impl Fn(char) -> bool,
    taken: &[(PiiKind, Range<usize>)],
) -> bool {
    let covered = |at: usize| taken.iter().any(|(_, f)| f.start <= at && at < f.end);
    let before = text[..r.start].chars().next_back().filter(|c| !covered(r.start - c.len_utf8()));
    let after = text[r.end..].chars().next().filter(|_| !covered(r.end));
    !before.is_some_and(&word) && !after.is_some_and(&word)
}

impl Redactor {
    pub fn new(kinds: &[PiiKind]) -> Redactor {
        Redactor { kinds: kinds.to_vec() }
    }

    pub fn kinds(&self) -> &[PiiKind] {
        &self.kinds
    }

    fn wants(&self, k: PiiKind) -> bool {
        self.kinds.contains(&k)
    }

    /// The PII found in `text`, sorted and non-overlapping (earlier, then longer, wins).
    pub fn find(&self, text: &str) -> Vec<(PiiKind, Range<usize>)> {
        let mut found: Vec<(PiiKind, Range<usize>)> = Vec::new();
        if self.wants(PiiKind::Email) && text.contains('@') {
            found.extend(EMAIL.find_iter(text).map(|m| (PiiKind::Email, m.range())));
        }
        if self.wants(PiiKind::Ip) {
            for m in IPV4.find_iter(text) {
                let ok = m.as_str().split('.').all(|o| o.parse::<u8>().is_ok());
                let digit_or_dot = |c: char| c.is_ascii_digit() || c == '.';
                if ok && boundary_ok(text, &m.range(), digit_or_dot, &found) {
                    found.push((PiiKind::Ip, m.range()));
                }
            }
            if text.contains(':') {
                let emails = found.clone();
                for m in IPV6.find_iter(text) {
                    let s = m.as_str().trim_end_matches(':');
                    let is_hex = |c: char| c.is_ascii_hexdigit();
                    if s.matches(':').count() >= 2 && s.parse::<Ipv6Addr>().is_ok() {
                        let r = m.start()..m.start() + s.len();
                        if boundary_ok(text, &r, |c| is_hex(c) || c == ':', &emails) {
                            found.push((PiiKind::Ip, r));
                        }
                    }
                }
            }
        }
        let numbers = [PiiKind::IdNumber, PiiKind::Card, PiiKind::Phone];
        if numbers.iter().any(|&k| self.wants(k)) {
            for m in NUMBER.find_iter(text) {
                let s = m.as_str().trim_end_matches([' ', '-']);
                let r = m.start()..m.start() + s.len();
                let word = |c: char| c.is_alphanumeric() && !('\u{4e00}'..='\u{9fff}').contains(&c);
                if !boundary_ok(text, &r, word, &found) {
                    continue;
                }
                if let Some(k) = classify_number(s).filter(|&k| self.wants(k)) {
                    found.push((k, r));
                    continue;
                }
                // Not PII as a whole: a phone or card may sit inside a longer run of
                // space-separated numbers ("13812345678 2 units"). Try runs of whole groups,
                // longest first from each group, so a number is never split mid-group.
                found.extend(
                    groups_pii(s)
                        .into_iter()
                        .filter(|(k, _)| self.wants(*k))
                        .map(|(k, g)| (k, r.start + g.start..r.start + g.end)),
                );
            }
        }
        found.sort_by_key(|(k, r)| (r.start, std::cmp::Reverse(r.end), *k));
        let mut out: Vec<(PiiKind, Range<usize>)> = Vec::new();
        for (k, r) in found {
            if out.last().is_none_or(|(_, last)| r.start >= last.end) {
                out.push((k, r));
            }
        }
        out
    }

    /// The text with every finding replaced by its tag. Redacting the result again changes
    /// nothing (issue 8): findings compete for characters (an e-mail whose local part starts
    /// inside a number, an IPv4 address glued to a phone number), and what the winner leaves of
    /// the loser may be PII on its own, so the result is searched again until nothing is found.
    /// This ends: no finding can contain a tag's brackets, so each pass tags text that was not.
    pub fn redact(&self, text: &str) -> Redacted {
        let mut red = self.redact_once(text);
        while !red.redactions.is_empty() {
            let again = self.redact_once(&red.text);
            if again.redactions.is_empty() {
                break;
            }
            red = red.then(again);
        }
        red
    }

    fn redact_once(&self, text: &str) -> Redacted {
        let mut out = String::with_capacity(text.len());
        let mut redactions = Vec::new();
        let mut pos = 0;
        for (kind, r) in self.find(text) {
            out.push_str(&text[pos..r.start]);
            let start = out.len();
            out.push_str(kind.tag());
            redactions.push(Redaction { kind, original: r.clone(), redacted: start..out.len() });
            pos = r.end;
        }
        out.push_str(&text[pos..]);
        Redacted { text: out, redactions }
    }
}

/// Redacts a scored conversation's text in place, for output: every turn's text, and each flag's
/// evidence, matched phrase and span (mapped onto the redacted turn). Returns how many pieces
/// were replaced.
pub fn redact_score(score: &mut crate::score::ConversationScore, redactor: &Redactor) -> u64 {
    let redacted: Vec<Redacted> = score.turns.iter().map(|t| redactor.redact(&t.text)).collect();
    let mut count = 0;
    for f in &mut score.flags {
        let Some(red) = f.turn_index.and_then(|t| redacted.get(t as usize)) else { continue };
        if red.redactions.is_empty() {
            continue;
        }
        f.evidence = red.text.clone();
        if let Some((s, e)) = f.span {
            let (s, e) = red.map_span(s as usize, e as usize);
            f.span = Some((s as u32, e as u32));
            f.matched = Some(red.text[s..e].to_string());
        }
    }
    for (turn, red) in score.turns.iter_mut().zip(redacted) {
        count += red.redactions.len() as u64;
        if !red.redactions.is_empty() {
            turn.text = red.text;
        }
    }
    count
}

impl Redactor {
    /// `--redact`'s values (the CLI and the Python package): `all`, `none` (no redactor), or a
    /// comma list of email, phone, card, id_number, ip.
    pub fn from_spec(spec: &str) -> Result<Option<Redactor>, String> {
        match spec {
            "all" => Ok(Some(Redactor::default())),
            "none" => Ok(None),
            list => {
                let kinds = list
                    .split(',')
                    .map(|k| {
                        PiiKind::parse(k.trim()).ok_or_else(|| {
                            format!("unknown kind `{k}`: use all, none, or a comma list of email, phone, card, id_number, ip")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Some(Redactor::new(&kinds)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> String {
        Redactor::default().redact(text).text
    }

    #[test]
    fn emails_and_chinese_phones_are_replaced() {
        assert_eq!(r("邮箱 zhang.san+cs@example.com.cn 谢谢"), "邮箱 [EMAIL] 谢谢");
        assert_eq!(r("我的手机13812345678，打我"), "我的手机[PHONE]，打我");
        assert_eq!(r("call +86 138 1234 5678 now"), "call [PHONE] now");
        assert_eq!(r("座机 010-62345678 或 0755 2345 6789"), "座机 [PHONE] 或 [PHONE]");
        assert_eq!(r("call me at +44 20 7946 0958"), "call me at [PHONE]");
        assert_eq!(r("全角手机１３８１２３４５６７８"), "全角手机[PHONE]");
    }

    #[test]
    fn cards_need_a_valid_luhn_check() {
        assert_eq!(r("card 4111 1111 1111 1111 ok"), "card [CARD] ok");
        assert_eq!(r("卡号6222-0212-3456-7894"), "卡号[CARD]");
        // a 16-digit order number that fails Luhn is not a card (and not a phone)
        assert_eq!(r("order 4111111111111112 shipped"), "order 4111111111111112 shipped");
    }

    #[test]
    fn prc_ids_need_a_valid_check_character_and_birth_date() {
        assert_eq!(r("身份证11010519491231002X"), "身份证[ID]");
        assert_eq!(r("身份证 110105194912310021 错"), "身份证 110105194912310021 错");
    }

    #[test]
    fn ip_addresses_v4_and_v6() {
        assert_eq!(r("from 192.168.1.20, then 2001:db8::8a2e:370:7334."), "from [IP], then [IP].");
        assert_eq!(r("version 1.2.3.400 and 10:30:45"), "version 1.2.3.400 and 10:30:45");
    }

    #[test]
    fn pii_inside_a_longer_run_of_spaced_numbers_is_found() {
        assert_eq!(r("13812345678 2 units"), "[PHONE] 2 units");
        assert_eq!(r("卡 4111 1111 1111 1111 5 件"), "卡 [CARD] 5 件");
        assert_eq!(r("订单 2026 1105 0001 3 件"), "订单 2026 1105 0001 3 件");
    }

    #[test]
    fn ordinary_numbers_are_left_alone() {
        for s in [
            "订单号 202611020001 还没到",
            "refund of $1,299.00 on 2026-11-02",
            "tracking SF1029384756",
            "退款 388 元，3 到 5 个工作日",
            "ticket #48213",
        ] {
            assert_eq!(r(s), s);
        }
    }

    #[test]
    fn spans_map_to_the_redacted_text() {
        let text = "call 13812345678 about the refund, or mail a@b.co";
        let red = Redactor::default().redact(text);
        assert_eq!(red.text, "call [PHONE] about the refund, or mail [EMAIL]");
        let refund = text.find("refund").unwrap();
        let (s, e) = red.map_span(refund, refund + 6);
        assert_eq!(&red.text[s..e], "refund");
        let (s, e) = red.map_span(0, 4);
        assert_eq!(&red.text[s..e], "call");
        // a span inside a redacted piece covers the whole tag
        let (s, e) = red.map_span(7, 10);
        assert_eq!(&red.text[s..e], "[PHONE]");
    }

    #[test]
    fn only_the_chosen_kinds_are_redacted() {
        let red = Redactor::new(&[PiiKind::Email]).redact("a@b.co 13812345678");
        assert_eq!(red.text, "[EMAIL] 13812345678");
        assert_eq!(red.redactions.len(), 1);
    }

    #[test]
    fn redact_spec_is_all_none_or_a_list_of_kinds() {
        assert!(Redactor::from_spec("none").unwrap().is_none());
        assert_eq!(Redactor::from_spec("all").unwrap().unwrap().kinds().len(), PiiKind::ALL.len());
        assert_eq!(Redactor::from_spec("email, ip").unwrap().unwrap().kinds().len(), 2);
        assert!(Redactor::from_spec("emails").unwrap_err().contains("unknown kind `emails`"));
    }
}
