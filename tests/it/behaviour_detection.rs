//! Issue 17: behaviour detection that generalises. The real binary with the shipped model: model
//! acts catch blame, dismissal and distress said in other words, every turn lists what it shows,
//! example rules are calibrated and tied to the model file, and rubric mistakes stop with exit 5.
//! Needs ONNX Runtime: `bash scripts/fetch-onnxruntime.sh`.

use std::path::Path;

use crate::common::*;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// One conversation per entry: (id, [(speaker, text)]), a minute between turns.
fn jsonl(convs: &[(&str, &[(&str, &str)])]) -> String {
    let mut out = String::new();
    for (id, turns) in convs {
        let turns: Vec<serde_json::Value> = turns
            .iter()
            .enumerate()
            .map(|(i, (speaker, text))| {
                serde_json::json!({"speaker": speaker, "text": text,
                    "ts": format!("2026-11-02T09:{i:02}:00Z")})
            })
            .collect();
        let c = serde_json::json!({"conversation_id": id, "agent_id": "a1", "channel": "chat",
            "turns": turns});
        out += &format!("{c}\n");
    }
    out
}

/// A conversation's flags: (rule_id, detector, turn_index, detail, detector_score).
type Flag = (Option<String>, Option<String>, Option<i32>, String, Option<f64>);

fn flags(out: &Path, conversation_id: &str) -> Vec<Flag> {
    let t = read_table(&out.join("flags.parquet"));
    let (ids, rules, by) =
        (strings(&t, "conversation_id"), strings(&t, "rule_id"), strings(&t, "detector"));
    let (turns, details, scores) =
        (i32s(&t, "turn_index"), strings(&t, "detail"), f64s(&t, "detector_score"));
    (0..ids.len())
        .filter(|&i| ids[i].as_deref() == Some(conversation_id))
        .map(|i| {
            (rules[i].clone(), by[i].clone(), turns[i], details[i].clone().unwrap(), scores[i])
        })
        .collect()
}

const HEAD: &str = "name = \"t\"\nversion = \"1\"\npass_threshold = 70\n[weights]\nresponsiveness = 1\nempathy = 1\ncompliance = 1\n";

/// A rubric of one forbidden compliance rule `id` (weight 5) with the given extra fields.
fn one_rule(id: &str, fields: &str) -> String {
    format!(
        "{HEAD}[[rule]]\nid = \"{id}\"\nkind = \"forbidden\"\ndimension = \"compliance\"\nweight = 5\n{fields}"
    )
}

/// Writes `text` to `dir/name` and returns the path as a string.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn blame_dismissal_and_distress_in_other_words_are_flagged_by_the_model_with_their_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.jsonl",
        &jsonl(&[
            (
                "zh-blame",
                &[
                    ("customer", "你好，路由器一直连不上网"),
                    ("agent", "您好"),
                    ("customer", "我按说明书设置了还是不行"),
                    (
                        "agent",
                        "说明书上写得很清楚，您自己对照一下。一般都是您自己设置错了才会这样。",
                    ),
                ],
            ),
            (
                "en-distress",
                &[
                    (
                        "customer",
                        "Third time I'm writing about the same missing parcel. My daughter's birthday is tomorrow.",
                    ),
                    ("agent", "Hello. Parcels can take up to 10 working days."),
                ],
            ),
        ]),
    );
    let out = dir.path().join("out");
    let o = convqa(&["score", &input, "--out", path(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let zh = flags(&out, "zh-blame");
    let by_model: Vec<&Flag> = zh.iter().filter(|f| f.1.as_deref() == Some("model")).collect();
    assert!(
        by_model.iter().any(|f| matches!(f.0.as_deref(), Some("blame_customer" | "dismissive"))),
        "the model flags the blaming turn: {zh:?}"
    );
    for f in
        by_model.iter().filter(|f| matches!(f.0.as_deref(), Some("blame_customer" | "dismissive")))
    {
        assert_eq!(f.2, Some(3));
        assert!(f.3.contains("model: P("), "{f:?}");
        assert!(f.4.unwrap() > 0.0);
    }
    // the customer's distress opens the empathy gate though no listed phrase says so
    let convs = read_table(&out.join("conversations.parquet"));
    assert!(row(&convs, "en-distress").list("signals").contains(&"customer_distress".to_string()));
    assert!(row(&convs, "en-distress").f64("empathy_score").is_some(), "empathy was judged");
    // turns.parquet says what the first turn shows, with the model's probability
    let turns = read_table(&out.join("turns.parquet"));
    let detected = string_lists(&turns, "detected");
    let by = string_lists(&turns, "detected_by");
    let ids = strings(&turns, "conversation_id");
    let first = ids.iter().position(|i| i.as_deref() == Some("en-distress")).unwrap();
    let k = detected[first].iter().position(|d| d == "distress").expect("distress detected");
    assert_eq!(by[first][k], "model");
}

#[test]
fn a_rubric_naming_an_unknown_act_or_a_threshold_outside_0_1_stops_with_exit_5() {
    let dir = tempfile::tempdir().unwrap();
    let input = path(Path::new("data/sample"));
    for (rule, field) in [
        ("model = \"blaming\"\n", "model"),
        ("model = \"rude\"\nmodel_threshold = 1.5\n", "model_threshold"),
        (
            "examples = { en = [\"x y\"] }\nexample_threshold = { threshold = -0.2, model_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\" }\n",
            "example_threshold.threshold",
        ),
    ] {
        let rubric = write(dir.path(), "r.toml", &one_rule("mine", rule));
        let out = dir.path().join("out");
        let o = convqa(&["score", input, "--out", path(&out), "--rubric", &rubric, "--no-models"]);
        assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
        assert!(stderr(&o).contains(&format!("rule \"mine\": {field}: ")), "{}", stderr(&o));
        assert!(!out.join("conversations.parquet").exists(), "nothing is written");
    }
}

#[test]
fn an_example_threshold_calibrated_for_another_model_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rubric = write(
        dir.path(),
        "r.toml",
        &one_rule(
            "brush",
            &format!(
                "examples = {{ en = [\"Not our department.\"] }}\n\
                 example_threshold = {{ threshold = 0.9, model_sha256 = \"{}\" }}\n",
                "ab".repeat(32)
            ),
        ),
    );
    let out = dir.path().join("out");
    let o = convqa(&["score", "data/sample", "--out", path(&out), "--rubric", &rubric]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("rule \"brush\": example_threshold.model_sha256") && e.contains("calibrate"),
        "{e}"
    );
}

#[test]
fn without_models_the_summary_lists_the_rules_that_ran_on_phrases_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = convqa(&["score", "data/sample", "--out", path(&out), "--no-models"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("phrases only"), "said on stderr: {}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let listed: Vec<&str> = summary["rubric"]["rules_phrases_only"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for rule in ["customer_distress", "apology", "blame_customer", "sarcasm", "rude"] {
        assert!(listed.contains(&rule), "{rule} missing from {listed:?}");
    }
}

#[test]
fn a_calibrated_example_rule_scores_and_its_flags_name_the_nearest_example() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "examples = { en = [\"Rules are rules, there is nothing I can change about it.\", \"Policy is policy, sorry.\"], zh = [\"规定就是这样，我也改变不了\"] }\n\
                counter_examples = { en = [\"Policy doesn't allow a refund, but I can offer you store credit instead.\"] }\n";
    let rubric = write(dir.path(), "r.toml", &one_rule("policy_brush_off", rule));
    let mut labels = String::new();
    for (text, label) in [
        ("Policy says no, and policy is policy.", true),
        ("Those are the rules. I can't change them for you.", true),
        ("It's company policy, end of story.", true),
        ("规定就是规定，我改变不了。", true),
        ("公司规定如此，没得商量。", true),
        ("Rules are the rules, nothing to be done.", true),
        ("The policy doesn't cover it, but I can give you a voucher instead.", false),
        ("Your refund was sent this morning.", false),
        ("Let me check the order for you.", false),
        ("您的退款已经到账了。", false),
        ("Thanks for waiting, I found the parcel.", false),
        ("The store opens at nine.", false),
        ("Could you send me a photo of the damage?", false),
        ("我帮您换一个新的，明天发出。", false),
    ] {
        labels += &format!("{}\n", serde_json::json!({"text": text, "label": label}));
    }
    let labels = write(dir.path(), "labels.jsonl", &labels);
    let o = convqa(&[
        "calibrate",
        "--rubric",
        &rubric,
        "--rule",
        "policy_brush_off",
        "--labels",
        &labels,
        "--precision",
        "0.8",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let line = String::from_utf8(o.stdout).unwrap();
    let manifest = std::fs::read_to_string("models/convqa-mini/manifest.toml").unwrap();
    let sha = manifest.lines().find(|l| l.starts_with("\"model.onnx\"")).unwrap();
    assert!(line.starts_with("example_threshold = { threshold = "), "{line}");
    assert!(sha.contains(line.split('"').nth(1).unwrap()), "tied to the shipped model: {line}");
    // pasted into the rule, the rubric scores and a matching turn is flagged with its example
    let rubric =
        write(dir.path(), "r.toml", &one_rule("policy_brush_off", &format!("{rule}{line}")));
    let input = write(
        dir.path(),
        "in.jsonl",
        &jsonl(&[(
            "c",
            &[("customer", "Can I get a refund?"), ("agent", "Policy is policy, sorry.")],
        )]),
    );
    let out = dir.path().join("out");
    let o = convqa(&["score", &input, "--out", path(&out), "--rubric", &rubric, "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let found = flags(&out, "c");
    let f = found.iter().find(|f| f.0.as_deref() == Some("policy_brush_off")).expect("flagged");
    assert_eq!(f.1.as_deref(), Some("examples"));
    assert!(f.3.contains("nearest example \"Policy is policy, sorry.\""), "{f:?}");
}

#[test]
fn eval_acts_reports_every_act_per_language_group() {
    let o = convqa(&["eval", "--acts", "data/acts/dev.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    for act in convqa::model::ACTS {
        assert!(text.lines().any(|l| l.starts_with(act) && l.contains("model")), "{act}: {text}");
    }
    assert!(text.contains("zh-Hant+yue") && text.contains("mixed"), "{text}");
}

#[test]
fn a_turn_shows_what_it_says_even_when_no_rule_scope_lets_it_count() {
    // a calm customer: the empathy rules do not apply, yet the apology is recorded on its turn
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.jsonl",
        &jsonl(&[(
            "calm",
            &[
                ("customer", "Hi, can I change the delivery address for order 5521?"),
                ("agent", "I'm really sorry for the trouble this has caused you."),
            ],
        )]),
    );
    let out = dir.path().join("out");
    let o = convqa(&["score", &input, "--out", path(&out), "--quiet"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let turns = read_table(&out.join("turns.parquet"));
    let detected = string_lists(&turns, "detected");
    let rule_hits = string_lists(&turns, "rule_hits");
    assert!(detected[1].contains(&"apology".to_string()), "{:?}", detected[1]);
    assert!(!rule_hits[1].contains(&"apology".to_string()), "the gate is shut: {:?}", rule_hits[1]);
    let convs = read_table(&out.join("conversations.parquet"));
    assert_eq!(row(&convs, "calm").f64("empathy_score"), None, "nothing to judge for empathy");
}

/// The shipped model folder copied with its manifest's `[acts]` and `[embedding]` tables removed:
/// a model without act heads or sentence vector (as the teacher and 1.0.0 are).
fn model_without_acts(dir: &Path) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/convqa-mini");
    let dst = dir.join("plain-model");
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["model.onnx", "tokenizer.json"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let manifest = std::fs::read_to_string(src.join("manifest.toml")).unwrap();
    let mut kept = String::new();
    let mut skipping = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            skipping = line.starts_with("[acts") || line.starts_with("[embedding");
        }
        if !skipping {
            kept += line;
            kept.push('\n');
        }
    }
    std::fs::write(dst.join("manifest.toml"), kept).unwrap();
    dst.to_str().unwrap().to_string()
}

#[test]
fn examples_need_a_sentence_vector_and_a_model_without_acts_runs_phrases_only() {
    let dir = tempfile::tempdir().unwrap();
    let model = model_without_acts(dir.path());
    // the default rubric with a model without acts: runs, and says which rules lost their model
    let out = dir.path().join("out");
    let o = convqa(&["score", "data/sample", "--out", path(&out), "--model", &model]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("phrases only"), "{}", stderr(&o));
    // an example rule with such a model: exit 5, naming the rule and field
    let rubric = write(
        dir.path(),
        "r.toml",
        &one_rule("brush", "examples = { en = [\"Not our department.\"] }\n"),
    );
    let o = convqa(&[
        "score",
        "data/sample",
        "--out",
        path(&out),
        "--rubric",
        &rubric,
        "--model",
        &model,
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("rule \"brush\": examples: ") && stderr(&o).contains("sentence vector"),
        "{}",
        stderr(&o)
    );
}
