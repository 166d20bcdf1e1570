//! `convqa eval`: the accuracy claims of the README and the model card are one command away,
//! and the command's figures are right.

use crate::common::*;

#[test]
fn the_shipped_model_keeps_its_chat_domain_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("eval.json");
    let turns = data("eval/turns.jsonl");
    let o = convqa(&["eval", "--turns", turns.to_str().unwrap(), "--out", json.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("confusion (sentiment"), "{stdout}");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let group = |task: &str| {
        v["turns"][0]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["task"] == task && g["lang"] == "all")
            .unwrap()
            .clone()
    };
    for task in ["sentiment", "politeness"] {
        let g = group(task);
        let n: u64 = g["confusion"]["counts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .map(|c| c.as_u64().unwrap())
            .sum();
        assert_eq!(n, g["n"].as_u64().unwrap(), "{task}: every turn in the matrix");
        // the model card's figures (0.904 / 0.892); a regression below 0.88 fails
        let acc = g["binary_accuracy"].as_f64().unwrap();
        assert!(acc >= 0.88, "{task}: binary accuracy {acc}");
    }
}

#[test]
fn conversation_findings_are_counted_against_the_labels() {
    let tmp = tempfile::tempdir().unwrap();
    // zh-hans-008 (data/README.md): rude and blaming agent, fails; en-001: a model conversation
    let labels = tmp.path().join("labels.jsonl");
    std::fs::write(
        &labels,
        concat!(
            r#"{"conversation_id":"zh-hans-008","passed":false,"findings":[{"finding":"blame_customer","kind":"forbidden_phrase","turn":4},{"finding":"made_up_rule","kind":"forbidden_phrase","turn":1}]}"#,
            "\n",
            r#"{"conversation_id":"en-001","passed":true,"findings":[]}"#,
            "\n"
        ),
    )
    .unwrap();
    let json = tmp.path().join("eval.json");
    let convs = tmp.path().join("convs.jsonl");
    let pick = |file: &str, id: &str| {
        std::fs::read_to_string(data(file))
            .unwrap()
            .lines()
            .find(|l| l.contains(&format!("\"{id}\"")))
            .unwrap()
            .to_string()
    };
    std::fs::write(
        &convs,
        format!(
            "{}\n{}\n",
            pick("sample/zh-hans.jsonl", "zh-hans-008"),
            pick("sample/en.jsonl", "en-001")
        ),
    )
    .unwrap();
    let o = convqa(&[
        "eval",
        "--no-models",
        "--conversations",
        convs.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--out",
        json.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let c = &v["conversations"][0];
    assert_eq!(c["conversations"], 2);
    assert_eq!(c["pass_fail_accuracy"], 1.0);
    let finding = |name: &str| {
        c["findings"].as_array().unwrap().iter().find(|f| f["finding"] == name).unwrap().clone()
    };
    let blame = finding("blame_customer");
    assert_eq!(
        (blame["true_positives"].as_u64(), blame["same_turn"].as_f64()),
        (Some(1), Some(1.0))
    );
    let made_up = finding("made_up_rule");
    assert_eq!(
        (made_up["false_negatives"].as_u64(), made_up["recall"].as_f64()),
        (Some(1), Some(0.0))
    );
    // the rude agent's other findings (rude, dismissive, missing empathy, ...) are false
    // positives against this deliberately short label
    assert!(c["overall"]["false_positives"].as_u64().unwrap() > 0);
}

#[test]
fn turn_evaluation_without_a_model_says_so() {
    let turns = data("eval/turns.jsonl");
    let o = convqa(&["eval", "--no-models", "--turns", turns.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&o.stderr).contains("needs the model"));
}

#[test]
fn eval_without_files_says_what_to_give_not_a_file_position() {
    let o = convqa(&["eval", "--no-models"]);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("(arguments)"), "{err}");
    assert!(err.contains("nothing to evaluate: give --turns FILE"), "{err}");
    assert!(err.contains("data/eval/turns.jsonl"), "help names an example file: {err}");
}
