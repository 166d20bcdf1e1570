//! HTML message bodies → plain text, shared by every adapter (Intercom bodies, Freshdesk and
//! Zendesk HTML, mapped exports).
//!
//! Parsed by `scraper` (html5ever, the browser-grade parser), so entities, broken markup and
//! comments are handled as a browser would. Then: block elements and `<br>` become line breaks,
//! images and scripts disappear, runs of white space collapse to one space — except that a line
//! break in the source between two CJK characters is removed, not turned into a space (CSS Text
//! 3's segment-break rule), so Chinese text is never split by the conversion.

use scraper::{Html, Node};

/// Elements whose content starts and ends on its own line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "dd",
    "dt",
    "dl",
    "hr",
    "figure",
];

/// Elements whose content is not text.
const SKIPPED: &[&str] = &["script", "style", "img", "head", "title", "template"];

/// The text of an HTML fragment, as a person reads it.
pub fn html_to_text(html: &str) -> String {
    let doc = Html::parse_fragment(html);
    let mut out = Text::default();
    walk(doc.tree.root(), &mut out);
    out.finish()
}

#[derive(Default)]
struct Text {
    out: String,
    /// White space seen since the last character: ' ' or '\n' (a source line break).
    pending_space: Option<char>,
    /// A line break is owed before the next character.
    pending_break: bool,
}

impl Text {
    fn text(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() && c != '\u{a0}' {
                if self.pending_space != Some('\n') {
                    self.pending_space = Some(if c == '\n' { '\n' } else { ' ' });
                }
                continue;
            }
            let c = if c == '\u{a0}' { ' ' } else { c };
            if self.pending_break {
                if !self.out.is_empty() {
                    self.out.push('\n');
                }
                self.pending_break = false;
                self.pending_space = None;
            }
            if let Some(space) = self.pending_space.take() {
                let prev = self.out.chars().next_back();
                let cjk_join = space == '\n' && prev.is_some_and(is_cjk) && is_cjk(c);
                if prev.is_some_and(|p| p != '\n') && !cjk_join {
                    self.out.push(' ');
                }
            }
            self.out.push(c);
        }
    }

    fn line_break(&mut self) {
        self.pending_break = true;
    }

    fn hard_break(&mut self) {
        // <br>: a line break even inside a block, kept when several follow each other.
        self.out.push('\n');
        self.pending_space = None;
        self.pending_break = false;
    }

    fn finish(self) -> String {
        self.out.trim().to_string()
    }
}

fn walk(node: ego_tree::NodeRef<'_, Node>, out: &mut Text) {
    for child in node.children() {
        match child.value() {
            Node::Text(t) => out.text(&t.text),
            Node::Element(e) => {
                let name = e.name();
                if SKIPPED.contains(&name) {
                    continue;
                }
                if name == "br" {
                    out.hard_break();
                    continue;
                }
                let block = BLOCKS.contains(&name);
                if block {
                    out.line_break();
                }
                walk(child, out);
                if block {
                    out.line_break();
                }
                if name == "td" || name == "th" {
                    out.text(" ");
                }
            }
            _ => {}
        }
    }
}

/// Han, kana, Hangul and CJK punctuation: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF |
        0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::html_to_text;

    #[test]
    fn blocks_become_lines_and_tags_go() {
        assert_eq!(
            html_to_text("<p>Hi <b>Ana</b>,</p><p>your plan is <a href=\"x\">Pro</a> now.</p>"),
            "Hi Ana,\nyour plan is Pro now."
        );
        assert_eq!(
            html_to_text("line one<br>line two<br/><br>line four"),
            "line one\nline two\n\nline four"
        );
        assert_eq!(html_to_text("<ul><li>a</li><li>b</li></ul>"), "a\nb");
    }

    #[test]
    fn entities_are_decoded_and_images_dropped() {
        assert_eq!(
            html_to_text("Tom &amp; Jerry &lt;3 &#x1F642;&nbsp;ok <img src=\"a.png\" alt=\"x\">"),
            "Tom & Jerry <3 🙂 ok"
        );
    }

    #[test]
    fn no_space_is_put_between_chinese_characters() {
        assert_eq!(
            html_to_text("<p>您好，<b>王女士</b>！</p><p>退款已经\n处理。</p>"),
            "您好，王女士！\n退款已经处理。"
        );
        assert_eq!(html_to_text("<div>订单<span>已</span>发货</div>"), "订单已发货");
        // Latin words in a source line break still get their space.
        assert_eq!(html_to_text("<p>refund\nissued</p>"), "refund issued");
    }
}
