//! The run-wide checks every conversation passes, whatever its format and entry point (the CLI's
//! reader, the in-memory tables of the Python package): at most `max_turns` turns, and one
//! conversation per id.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::RejectReason;
use crate::conversation::Conversation;

/// The turn limit and the ids seen so far.
#[derive(Debug)]
pub struct RunChecks {
    max_turns: usize,
    /// Every conversation id admitted so far, as a 128-bit digest, with where it was first read
    /// (source index, line): 32 bytes an id whatever its length, so a million-conversation night
    /// keeps a few tens of MB for duplicate detection. Two different ids share a digest with a
    /// probability of about n² / 2¹²⁹ (1e-27 for a billion ids).
    seen: HashMap<u128, (u32, u64)>,
}

impl RunChecks {
    pub fn new(max_turns: usize) -> RunChecks {
        RunChecks { max_turns, seen: HashMap::new() }
    }

    /// Admits `conv`, read at (`source`, `line`), or says why not with the reject's `raw`;
    /// `source_name` names a source for the `duplicate_id` reason (`FILE:LINE` of the first).
    pub fn admit(
        &mut self,
        conv: Conversation,
        source: u32,
        line: u64,
        source_name: impl Fn(u32) -> String,
    ) -> Result<Conversation, (RejectReason, String)> {
        let raw = || format!("conversation_id {:?}", conv.conversation_id);
        if conv.turns.len() > self.max_turns {
            let reason =
                RejectReason::TooManyTurns { turns: conv.turns.len(), limit: self.max_turns };
            return Err((reason, raw()));
        }
        match self.seen.entry(id_digest(&conv.conversation_id)) {
            Entry::Occupied(first) => {
                let (src, first_line) = *first.get();
                let first_seen = format!("{}:{first_line}", source_name(src));
                Err((RejectReason::DuplicateId { first_seen }, raw()))
            }
            Entry::Vacant(slot) => {
                slot.insert((source, line));
                Ok(conv)
            }
        }
    }
}

/// The first 128 bits of the id's SHA-256.
fn id_digest(id: &str) -> u128 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    u128::from_le_bytes(digest[..16].try_into().expect("SHA-256 has 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Origin;

    fn conv(id: &str, turns: usize) -> Conversation {
        let line = format!(
            r#"{{"conversation_id":"{id}","agent_id":"a","channel":"chat","turns":[{}]}}"#,
            vec![r#"{"speaker":"customer","text":"hi","ts":"2026-01-01T00:00:00Z"}"#; turns]
                .join(",")
        );
        super::super::parse_line(line.as_bytes(), Origin { file: "t".into(), line: 1 }).unwrap()
    }

    #[test]
    fn a_repeated_id_names_where_it_was_first_read_and_too_many_turns_is_refused() {
        let mut c = RunChecks::new(2);
        let name = |s: u32| format!("file{s}");
        assert!(c.admit(conv("x", 2), 0, 7, name).is_ok());
        let (reason, raw) = c.admit(conv("x", 1), 1, 3, name).unwrap_err();
        assert_eq!(reason.to_string(), "conversation_id: duplicate of the conversation at file0:7");
        assert_eq!(raw, "conversation_id \"x\"");
        let (reason, _) = c.admit(conv("y", 3), 0, 8, name).unwrap_err();
        assert_eq!(reason.code(), "too_many_turns");
        assert!(c.admit(conv("y", 2), 0, 9, name).is_ok(), "a refused conversation is not seen");
    }
}
