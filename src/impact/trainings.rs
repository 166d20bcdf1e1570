//! `trainings.csv`: one training a row, `agent_id, skill, date[, course]` (a header row naming
//! `agent_id` first is skipped). A row that cannot be used becomes a [`TrainingReject`] with its
//! line and reason; it never stops the command.

use std::path::Path;

use chrono::NaiveDate;

use crate::rubric::Dimension;

/// What a training targets: a rubric dimension (its subscore) or one rule (0 in a conversation
/// with that rule's flag, 100 otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skill {
    Dimension(Dimension),
    Rule(String),
}

impl Skill {
    pub fn name(&self) -> &str {
        match self {
            Skill::Dimension(d) => d.as_str(),
            Skill::Rule(r) => r,
        }
    }
}

/// One usable row.
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// 1-based line in the file.
    pub line: u64,
    pub agent_id: String,
    pub skill: Skill,
    pub date: NaiveDate,
    pub course: Option<String>,
}

/// A row that was not used, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TrainingReject {
    pub file: String,
    pub line: u64,
    /// `invalid_csv`, `wrong_field_count`, `missing_field`, `invalid_date`, `unknown_agent`,
    /// `unknown_skill` or `duplicate`.
    pub code: &'static str,
    pub reason: String,
    pub raw: String,
}

/// The file's rows: the usable ones and the rejected ones. `is_rule` says whether a skill that
/// is no dimension name is a rule id the data knows.
pub fn read(
    path: &Path,
    text: &[u8],
    is_rule: &dyn Fn(&str) -> bool,
) -> (Vec<Training>, Vec<TrainingReject>) {
    let file = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text);
    let (mut ok, mut rejects) = (Vec::<Training>::new(), Vec::new());
    let mut record = csv::ByteRecord::new();
    loop {
        let line_before = reader.position().line();
        let reject = |line: u64, code, reason: String, raw: String| TrainingReject {
            file: file.clone(),
            line,
            code,
            reason,
            raw,
        };
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(line_before, |p| line_of(text, p.byte()));
                rejects.push(reject(line, "invalid_csv", e.to_string(), String::new()));
                continue;
            }
        }
        // the line from the byte offset (the csv reader's own line count skips blank lines)
        let line = record.position().map_or(line_before, |p| line_of(text, p.byte()));
        let raw = record.iter().map(String::from_utf8_lossy).collect::<Vec<_>>().join(",");
        let fields: Vec<&str> = match record.iter().map(std::str::from_utf8).collect() {
            Ok(f) => f,
            Err(_) => {
                rejects.push(reject(line, "invalid_csv", "not valid UTF-8".into(), raw));
                continue;
            }
        };
        if fields.iter().all(|f| f.is_empty()) {
            continue; // a blank line
        }
        if ok.is_empty() && rejects.is_empty() && fields[0].eq_ignore_ascii_case("agent_id") {
            continue; // the header
        }
        match row(&fields, is_rule) {
            Err((code, reason)) => rejects.push(reject(line, code, reason, raw)),
            Ok((agent_id, skill, date, course)) => {
                let same =
                    |t: &&Training| t.agent_id == agent_id && t.skill == skill && t.date == date;
                match ok.iter().find(same) {
                    Some(first) => {
                        let reason =
                            format!("the same agent, skill and date as line {}", first.line);
                        rejects.push(reject(line, "duplicate", reason, raw));
                    }
                    None => ok.push(Training { line, agent_id, skill, date, course }),
                }
            }
        }
    }
    (ok, rejects)
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &[u8], offset: u64) -> u64 {
    let mut end = (offset as usize).min(text.len());
    // a record's offset can point at the blank lines before it
    while end < text.len() && matches!(text[end], b'\n' | b'\r') {
        end += 1;
    }
    1 + text[..end].iter().filter(|b| **b == b'\n').count() as u64
}

type Row = (String, Skill, NaiveDate, Option<String>);

fn row(fields: &[&str], is_rule: &dyn Fn(&str) -> bool) -> Result<Row, (&'static str, String)> {
    if !(3..=4).contains(&fields.len()) {
        return Err((
            "wrong_field_count",
            format!("{} fields; expected agent_id, skill, date[, course]", fields.len()),
        ));
    }
    for (i, name) in ["agent_id", "skill", "date"].iter().enumerate() {
        if fields[i].is_empty() {
            return Err(("missing_field", format!("{name} is empty")));
        }
    }
    let skill = match Dimension::ALL.iter().find(|d| d.as_str() == fields[1]) {
        Some(d) => Skill::Dimension(*d),
        None if is_rule(fields[1]) => Skill::Rule(fields[1].to_string()),
        None => {
            let dims: Vec<&str> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
            return Err((
                "unknown_skill",
                format!(
                    "skill {:?} is neither a dimension ({}) nor a rule id found in this folder's flags",
                    fields[1],
                    dims.join(", ")
                ),
            ));
        }
    };
    let date = NaiveDate::parse_from_str(fields[2], "%Y-%m-%d").map_err(|_| {
        ("invalid_date", format!("date {:?}: expected YYYY-MM-DD, e.g. 2026-11-16", fields[2]))
    })?;
    let course = fields.get(3).filter(|c| !c.is_empty()).map(|c| c.to_string());
    Ok((fields[0].to_string(), skill, date, course))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<Training>, Vec<TrainingReject>) {
        read(Path::new("t.csv"), text.as_bytes(), &|s| s == "apology")
    }

    #[test]
    fn rows_with_and_without_course_and_a_header() {
        let (ok, rejects) = parse(
            "agent_id,skill,date,course\nsyn-cold,empathy,2026-11-16,Empathy 101\n\n a , apology , 2026-12-01 \n",
        );
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].line, 2);
        assert_eq!(ok[0].skill, Skill::Dimension(Dimension::Empathy));
        assert_eq!(ok[0].course.as_deref(), Some("Empathy 101"));
        assert_eq!(ok[1].agent_id, "a");
        assert_eq!(ok[1].skill, Skill::Rule("apology".into()));
        assert_eq!((ok[1].line, ok[1].course.clone()), (4, None));
    }

    #[test]
    fn bad_rows_are_rejected_with_line_and_reason() {
        let (ok, rejects) = parse(
            "a,empathy,2026-11-16\na,empathy\na,clarity,2026-11-16\na,empathy,16/11/2026\n,empathy,2026-11-16\na,empathy,2026-11-16\na,b,c,d,e\n",
        );
        assert_eq!(ok.len(), 1);
        let got: Vec<(u64, &str)> = rejects.iter().map(|r| (r.line, r.code)).collect();
        assert_eq!(
            got,
            [
                (2, "wrong_field_count"),
                (3, "unknown_skill"),
                (4, "invalid_date"),
                (5, "missing_field"),
                (6, "duplicate"),
                (7, "wrong_field_count")
            ]
        );
        assert!(rejects[1].reason.contains("clarity"), "{}", rejects[1].reason);
        assert_eq!(rejects[2].raw, "a,empathy,16/11/2026");
        assert!(rejects[4].reason.contains("line 1"), "{}", rejects[4].reason);
    }

    #[test]
    fn invalid_utf8_is_a_reject_not_a_crash() {
        let (ok, rejects) = read(
            Path::new("t.csv"),
            b"a,empathy,2026-11-16\n\xff\xfe,empathy,2026-11-16\n",
            &|_| false,
        );
        assert_eq!(ok.len(), 1);
        assert_eq!((rejects[0].line, rejects[0].code), (2, "invalid_csv"));
    }
}
