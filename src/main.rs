//! The `convqa` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use convqa::run::{RunError, RunOptions, run};

#[derive(Parser)]
#[command(
    name = "convqa",
    version,
    about = "QA scoring for customer-service conversations (zh + en)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score conversations (JSONL, one conversation a line, or another tool's export with
    /// --from) and write Parquet results.
    Score {
        /// Input files, directories (every *.jsonl below them, also .gz / .zst; with --from, the
        /// format's files) or - for stdin.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Read another tool's export directly, streamed, without converting it first.
        #[arg(long, value_enum, default_value_t = FormatArg::Jsonl)]
        from: FormatArg,
        #[command(flatten)]
        adapter_args: AdapterArgs,
        /// Output directory (created if missing).
        #[arg(long, short)]
        out: PathBuf,
        /// Rubric TOML file [default: the built-in rubric/default.toml].
        #[arg(long)]
        rubric: Option<PathBuf>,
        /// Scoring worker threads, one model session each [default: one per CPU core]; reading
        /// and writing run on two more threads.
        #[arg(long, default_value_t = 0, hide_default_value = true)]
        threads: usize,
        /// Conversations per parallel batch.
        #[arg(long, default_value_t = convqa::run::DEFAULT_BATCH_SIZE)]
        batch_size: usize,
        /// Longest input line accepted; longer lines are rejected.
        #[arg(long, default_value_t = convqa::input::DEFAULT_MAX_LINE_BYTES)]
        max_line_bytes: usize,
        /// Most turns in a conversation; longer conversations are rejected.
        #[arg(long, default_value_t = convqa::input::DEFAULT_MAX_TURNS)]
        max_turns: usize,
        /// Any rejected line stops the run (exit code 7) and keeps the previous outputs.
        #[arg(long)]
        strict: bool,
        /// Progress on stderr: `bar` (terminal only), `json` (a JSON object per line, for
        /// schedulers) or `none`.
        #[arg(long, value_enum, default_value_t = ProgressArg::Bar)]
        progress: ProgressArg,
        /// No progress bar, no closing summary line, only errors on stderr.
        #[arg(long, short)]
        quiet: bool,
        /// Say what the run does on stderr (rubric, model, rejects); RUST_LOG=convqa=debug for more.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        model_args: ModelArgs,
        /// Personal data replaced in every text written out: `all`, `none`, or a comma list of
        /// email, phone, card, id_number, ip. Scoring always sees the original text.
        #[arg(long, default_value = "all", value_parser = parse_redact)]
        redact: RedactArg,
        /// The nightly layout: Hive-style date partitions (conversations/date=YYYY-MM-DD/...);
        /// unchanged conversations are skipped, changed ones (same id, new content) replaced.
        #[arg(long)]
        incremental: bool,
        /// Also write the reports (review queue, agents, skill gaps, follow-ups, report.html).
        #[arg(long)]
        report: bool,
        #[command(flatten)]
        report_args: ReportArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Measure convqa on labelled files: the model on labelled turns (accuracy, macro-F1,
    /// confusion, flag precision/recall per task and language) and the rubric on labelled
    /// conversations (pass/fail accuracy, precision/recall per finding).
    Eval {
        /// Labelled turns (JSONL: text, lang, task, label), e.g. data/eval/turns.jsonl.
        #[arg(long)]
        turns: Vec<PathBuf>,
        /// Turns labelled with agent acts and customer distress (JSONL: text, speaker, lang,
        /// labels), e.g. data/acts/eval/zh.jsonl; repeat for several files.
        #[arg(long)]
        acts: Vec<PathBuf>,
        /// Conversations (input schema) to score, with --labels.
        #[arg(long, requires = "labels")]
        conversations: Option<PathBuf>,
        /// What a reviewer expects of each conversation (JSONL: conversation_id, passed, findings).
        #[arg(long, requires = "conversations")]
        labels: Option<PathBuf>,
        /// Rubric TOML file [default: the built-in rubric/default.toml].
        #[arg(long)]
        rubric: Option<PathBuf>,
        #[command(flatten)]
        model_args: ModelArgs,
        /// Also write the results as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Calibrate a rubric example rule on labelled turns: prints the `example_threshold` line
    /// (tied to the model file's SHA-256) to paste into the rule.
    Calibrate {
        /// The rubric file holding the rule.
        #[arg(long)]
        rubric: PathBuf,
        /// The id of the rule with `examples`.
        #[arg(long)]
        rule: String,
        /// Labelled turns (JSONL: text, and label true/false or labels [...]; speaker optional).
        #[arg(long)]
        labels: PathBuf,
        /// With `labels` lists: the label that makes a turn positive [default: the rule's
        /// model act, else its id].
        #[arg(long)]
        positive: Option<String>,
        /// The precision the threshold must keep on the labelled turns.
        #[arg(long, default_value_t = 0.9)]
        precision: f64,
        #[command(flatten)]
        model_args: ModelArgs,
    },
    /// Write the reports for people from a `convqa score` output folder: review_queue.parquet
    /// and .csv, agents.parquet, skill_gaps.parquet, follow_ups.parquet and report.html.
    Report {
        /// The output folder of `convqa score`.
        dir: PathBuf,
        #[command(flatten)]
        report_args: ReportArgs,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Check a `convqa score` output folder: no unfinished commit or leftover temporary file,
    /// every part file readable, no conversation stored twice, counts equal to the run
    /// manifests. Exit 0 when sound, 9 with each problem and how to repair it.
    Verify {
        /// The output folder of `convqa score`.
        dir: PathBuf,
        /// First finish an interrupted commit and remove leftover temporary files.
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Convert an export of another tool to convqa's JSONL schema (then `convqa score` it, or
    /// score it directly with `convqa score --from FORMAT`); see the README's Adapters.
    Convert {
        /// The export's format.
        #[arg(value_enum)]
        format: FormatArg,
        /// Export files, folders (every matching .json / .jsonl / .csv below them, also .gz /
        /// .zst, in sorted order) or - for stdin.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        adapter_args: AdapterArgs,
        /// Output JSONL file, or - for stdout (written atomically).
        #[arg(long, short)]
        out: PathBuf,
        /// Rejected rows, one JSON object a line [default: OUT with .rejects.jsonl; stderr with
        /// --out -].
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// No closing summary line.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write a synthetic corpus (input JSONL) with agents of known skill profiles, for benches
    /// and for checking reports against the truth. Deterministic: same options, same bytes.
    Generate {
        /// How many conversations.
        #[arg(long)]
        conversations: u64,
        /// Seed of the random stream.
        #[arg(long)]
        seed: u64,
        /// Output JSONL file (- for stdout); parent directories are created.
        #[arg(long, short)]
        out: PathBuf,
        /// Also write the ground truth (agents, profiles, expected weaknesses) as JSON.
        #[arg(long)]
        truth: Option<PathBuf>,
        /// First day (conversations are spread evenly over --days days from it).
        #[arg(long, default_value = convqa::generate::DEFAULT_START_DATE)]
        start_date: chrono::NaiveDate,
        /// Number of days.
        #[arg(long, default_value_t = convqa::generate::DEFAULT_DAYS,
              value_parser = clap::value_parser!(u32).range(1..))]
        days: u32,
        /// The team as profile[:count] items [default: good:5,average:2,slow,cold,rude,scriptless,improver].
        /// Profiles: good, average, slow, cold, rude, scriptless, improver.
        #[arg(long, value_delimiter = ',')]
        agents: Vec<convqa::generate::AgentSpec>,
        /// No closing summary line.
        #[arg(long, short)]
        quiet: bool,
    },
}

/// Export formats `convqa convert` and `convqa score --from` read.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FormatArg {
    /// convqa's own JSONL schema (what `convqa score` reads by default).
    Jsonl,
    /// Amazon Connect chat transcripts (one contact per file) and Contact Lens chat analysis.
    ConnectChat,
    /// Zendesk Support: {"ticket", "comments", "users"} per JSON object or JSONL line.
    Zendesk,
    /// Intercom conversation objects (GET /conversations/{id}), per file or JSONL line.
    Intercom,
    /// Freshdesk: {"ticket", "conversations", "satisfaction_ratings"} per object or line.
    Freshdesk,
    /// LiveChat archives (list_archives items, one chat thread each).
    Livechat,
    /// WeCom chat archive: decrypted messages, one per line, grouped by participants and --gap.
    WecomArchive,
    /// CSV, one row per message: conversation id, role, text, timestamp (+ agent, customer, …).
    MessagesCsv,
    /// Any JSON export, read through a mapping file (--mapping FILE.toml).
    Json,
}

impl FormatArg {
    fn format(self) -> convqa::input::adapters::Format {
        use convqa::input::adapters::Format;
        match self {
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::ConnectChat => Format::ConnectChat,
            FormatArg::Zendesk => Format::Zendesk,
            FormatArg::Intercom => Format::Intercom,
            FormatArg::Freshdesk => Format::Freshdesk,
            FormatArg::Livechat => Format::Livechat,
            FormatArg::WecomArchive => Format::WecomArchive,
            FormatArg::MessagesCsv => Format::MessagesCsv,
            FormatArg::Json => Format::Json,
        }
    }
}

/// What an adapter keeps.
#[derive(clap::Args)]
struct AdapterArgs {
    /// Keep internal notes and agent-only whispers as system turns (dropped by default).
    #[arg(long)]
    keep_notes: bool,
    /// wecom-archive: a silence longer than this between two messages of the same participants
    /// starts a new conversation (`30m`, `2h`, `90s`).
    #[arg(long, default_value = "30m", value_parser = parse_gap)]
    gap: std::time::Duration,
    /// json: the mapping file (JSON Pointer paths, role map, time format); examples in
    /// data/adapters/mappings/.
    #[arg(long)]
    mapping: Option<PathBuf>,
}

impl AdapterArgs {
    /// The adapter's options; an error is (exit code, message).
    fn options(
        &self,
        format: convqa::input::adapters::Format,
    ) -> Result<convqa::input::adapters::AdapterOptions, (u8, String)> {
        use convqa::input::adapters::{AdapterOptions, Format, mapping::Mapping};
        let mapping = match (&self.mapping, format) {
            (Some(path), Format::Json) => Some(std::sync::Arc::new(
                Mapping::load(path).map_err(|e| (exit::RUBRIC, e.to_string()))?,
            )),
            (None, Format::Json) => {
                return Err((2, "the json format needs --mapping FILE.toml (examples in data/adapters/mappings/)".into()));
            }
            (Some(_), other) => {
                return Err((2, format!("--mapping is for the json format, not {other}")));
            }
            (None, _) => None,
        };
        Ok(AdapterOptions { keep_notes: self.keep_notes, gap: self.gap, mapping })
    }
}

/// `30m`, `2h`, `90s`, or a number of minutes.
fn parse_gap(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "m"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 30m, 2h or 90s, got {s:?}"))?;
    let secs = match unit {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}: use s, m or h")),
    };
    if secs == 0 {
        return Err("the gap must be longer than 0".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[derive(Clone)]
struct RedactArg(Option<convqa::redact::Redactor>);

fn parse_redact(s: &str) -> Result<RedactArg, String> {
    use convqa::redact::{PiiKind, Redactor};
    match s {
        "all" => Ok(RedactArg(Some(Redactor::default()))),
        "none" => Ok(RedactArg(None)),
        list => {
            let kinds = list
                .split(',')
                .map(|k| {
                    PiiKind::parse(k.trim()).ok_or_else(|| {
                        format!("unknown kind `{k}`: use all, none, or a comma list of email, phone, card, id_number, ip")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(RedactArg(Some(Redactor::new(&kinds))))
        }
    }
}

/// Waiting for the output folder's lock (held by another convqa run).
#[derive(clap::Args)]
struct LockArgs {
    /// When another convqa run holds the folder's lock, wait up to SECS seconds for it instead
    /// of stopping at once with exit code 8.
    #[arg(long, value_name = "SECS")]
    wait_lock: Option<u64>,
}

impl LockArgs {
    fn wait(&self) -> Option<std::time::Duration> {
        self.wait_lock.map(std::time::Duration::from_secs)
    }
}

/// Options of the reports (`convqa report`, `convqa score --report`).
#[derive(clap::Args)]
struct ReportArgs {
    /// Review queue: at most this many conversations chosen by priority.
    #[arg(long, default_value_t = 50)]
    queue_top: usize,
    /// Review queue: at most this many priority entries per agent (0: no limit).
    #[arg(long, default_value_t = 10)]
    queue_per_agent: usize,
    /// Review queue: percent of passed conversations added at random for calibration audits.
    #[arg(long, default_value_t = 5.0)]
    sample_percent: f64,
    /// Seed of that random sample.
    #[arg(long, default_value_t = 0)]
    sample_seed: u64,
    /// Review queue: at most this many sampled conversations (0: no limit).
    #[arg(long, default_value_t = 50)]
    sample_max: usize,
    /// Time zone of days, weeks and months (IANA name, e.g. Asia/Shanghai).
    #[arg(long, default_value = "UTC")]
    tz: chrono_tz::Tz,
    /// A contact by the same customer within this many days counts against first-contact
    /// resolution of the earlier one.
    #[arg(long, default_value_t = 7)]
    repeat_days: u32,
    /// Skill gaps: fewest conversations of an agent in a period to judge a dimension.
    #[arg(long, default_value_t = 3)]
    gap_min_conversations: usize,
    /// Only conversations that started in the last N days of the data (UTC days back from the
    /// newest conversation not after the last run); an --incremental store is then read only
    /// from those partitions.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    days: Option<u32>,
    /// Placeholder customer ids that count as no id for first-contact resolution and follow-ups,
    /// comma-separated, any case [default: "", -, 0, anonymous, guest, n/a, na, none, null,
    /// unknown, visitor].
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    unknown_customer_ids: Option<Vec<String>>,
}

impl ReportArgs {
    fn options(&self) -> convqa::report::ReportOptions {
        use convqa::report::{GapOptions, QueueOptions, ReportOptions};
        ReportOptions {
            queue: QueueOptions {
                top_n: self.queue_top,
                per_agent: self.queue_per_agent,
                sample_percent: self.sample_percent.clamp(0.0, 100.0),
                sample_max: self.sample_max,
                seed: self.sample_seed,
            },
            tz: self.tz,
            repeat_window_days: self.repeat_days,
            gaps: GapOptions {
                min_conversations: self.gap_min_conversations.max(1),
                ..GapOptions::default()
            },
            days: self.days,
            unknown_customer_ids: self
                .unknown_customer_ids
                .clone()
                .unwrap_or_else(|| ReportOptions::default().unknown_customer_ids),
            ..ReportOptions::default()
        }
    }
}

/// The rubric (a file or the built-in one) and the model, loaded once and bound together.
fn load_engine(
    rubric: Option<&std::path::Path>,
    model_args: &ModelArgs,
    thresholds: convqa::rubric::ExampleThresholds,
) -> Result<convqa::Engine, convqa::eval::EvalError> {
    use convqa::segment::{ChineseSegmenter, Segmenter};
    let segmenter = Segmenter::new(ChineseSegmenter::new());
    let rubric = match rubric {
        Some(p) => convqa::rubric::Rubric::load(p, &segmenter)?,
        None => convqa::rubric::Rubric::default_rubric(&segmenter)?,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = match model_args.dir() {
        Some(dir) => {
            Some(convqa::model::ModelStage::load(&dir, model_args.ort_lib.as_deref(), workers)?)
        }
        None => None,
    };
    Ok(convqa::Engine::new_with(segmenter, rubric, model, thresholds)?)
}

/// `convqa eval`: loads the engine once, evaluates each file, prints tables, writes JSON.
fn eval(
    turns: &[PathBuf],
    acts: &[PathBuf],
    conversations: Option<(PathBuf, PathBuf)>,
    rubric: Option<PathBuf>,
    model_args: &ModelArgs,
    out: Option<PathBuf>,
) -> Result<(), convqa::eval::EvalError> {
    use convqa::eval::{EvalError, EvalReport};
    if turns.is_empty() && acts.is_empty() && conversations.is_none() {
        return Err(EvalError::NothingToEvaluate);
    }
    let engine =
        load_engine(rubric.as_deref(), model_args, convqa::rubric::ExampleThresholds::Required)?;
    let mut report = EvalReport {
        model: engine.model.as_ref().map(|m| format!("{} {}", m.manifest.name, m.manifest.version)),
        rubric: format!("{} {}", engine.rubric.name, engine.rubric.version),
        ..Default::default()
    };
    for path in turns {
        let m = engine.model.as_ref().ok_or(EvalError::NoModel)?;
        report.turns.push(convqa::eval::eval_turns(path, m)?);
    }
    for path in acts {
        report.acts.push(convqa::eval::eval_acts(path, &engine)?);
    }
    if let Some((convs, labels)) = conversations {
        report.conversations.push(convqa::eval::eval_conversations(&convs, &labels, &engine)?);
    }
    print!("{}", report.render());
    if let Some(path) = out {
        let json = serde_json::to_string_pretty(&report).expect("serializable");
        std::fs::write(&path, json + "\n")
            .map_err(|source| EvalError::Read { path: path.clone(), source })?;
    }
    Ok(())
}

/// Writes the reports of `dir`; prints where, or the error. Returns the exit code.
fn report(dir: &std::path::Path, args: &ReportArgs, lock: &LockArgs, quiet: bool) -> ExitCode {
    let opts = convqa::report::ReportOptions { wait_lock: lock.wait(), ..args.options() };
    match convqa::report::write_report(dir, &opts) {
        Ok(paths) => {
            if !quiet {
                eprintln!(
                    "convqa: wrote {} report files, open {}",
                    paths.len(),
                    dir.join(convqa::report::REPORT_HTML).display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("convqa: error: {e}");
            ExitCode::from(match e {
                convqa::report::ReportError::Load(_) => exit::INPUT,
                convqa::report::ReportError::Output(e) => exit::output(&e),
            })
        }
    }
}

/// Which model runs (`score`, `eval`).
#[derive(clap::Args)]
struct ModelArgs {
    /// Model folder (model.onnx, tokenizer.json, manifest.toml).
    #[arg(long, default_value = convqa::model::DEFAULT_MODEL_DIR, conflicts_with = "no_models")]
    model: PathBuf,
    /// Skip the model stage: sentiment and politeness are null and left out of qa_score (`eval`
    /// then measures the rubric only).
    #[arg(long)]
    no_models: bool,
    /// ONNX Runtime library [default: $ORT_DYLIB_PATH, next to the executable, or
    /// runtime/libonnxruntime.so.1.31.1 as placed by scripts/fetch-onnxruntime.sh].
    #[arg(long)]
    ort_lib: Option<PathBuf>,
}

impl ModelArgs {
    /// The model folder, or `None` with `--no-models`.
    fn dir(&self) -> Option<PathBuf> {
        (!self.no_models).then(|| self.model.clone())
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProgressArg {
    Bar,
    Json,
    None,
}

/// stderr logging: `RUST_LOG` when set, else warnings (errors only with --quiet, info with
/// --verbose).
fn init_logging(quiet: bool, verbose: bool) {
    let default = if quiet {
        "error"
    } else if verbose {
        "info"
    } else {
        "warn"
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format_target(false)
        .format_timestamp_secs()
        .init();
}

/// Exit codes (documented in the README).
mod exit {
    pub const INPUT: u8 = 3;
    pub const OUTPUT: u8 = 4;
    pub const RUBRIC: u8 = 5;
    pub const MODEL: u8 = 6;
    pub const STRICT: u8 = 7;
    pub const LOCKED: u8 = 8;
    pub const UNSOUND: u8 = 9;
    pub const INTERNAL: u8 = 1;

    /// 8 when another run holds the folder's lock, else 4.
    pub fn output(e: &convqa::output::OutputError) -> u8 {
        match e {
            convqa::output::OutputError::Locked { .. } => LOCKED,
            _ => OUTPUT,
        }
    }
}

/// `convqa verify`: prints what it found and how to repair it. Returns the exit code.
fn verify(dir: &std::path::Path, repair: bool, lock: &LockArgs) -> ExitCode {
    use convqa::output::verify::{VerifyError, verify};
    match verify(dir, repair, lock.wait()) {
        Ok(v) => {
            for r in &v.repaired {
                eprintln!("convqa: repaired: {r}");
            }
            for f in &v.findings {
                eprintln!("convqa: problem: {}\n  repair: {}", f.problem, f.repair);
            }
            eprintln!(
                "convqa: {} store {}: {} conversations in {} data files{}; {} problems",
                v.layout,
                dir.display(),
                v.conversations,
                v.data_files,
                if v.layout == "incremental" {
                    format!(", {} runs", v.runs)
                } else {
                    String::new()
                },
                v.findings.len()
            );
            if v.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(exit::UNSOUND) }
        }
        Err(e) => {
            eprintln!("convqa: error: {e}");
            ExitCode::from(match e {
                VerifyError::NotAStore { .. } => exit::INPUT,
                VerifyError::Output(e) => exit::output(&e),
            })
        }
    }
}

/// The exit code of an `eval` or `calibrate` error.
fn eval_exit_code(e: &convqa::eval::EvalError) -> u8 {
    use convqa::eval::EvalError;
    match e {
        EvalError::Model(_) | EvalError::NoModel => exit::MODEL,
        EvalError::Rubric(_) => exit::RUBRIC,
        _ => exit::INPUT,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Score {
            inputs,
            out,
            rubric,
            threads,
            batch_size,
            max_line_bytes,
            max_turns,
            strict,
            progress,
            quiet,
            verbose,
            model_args,
            redact,
            incremental,
            report: with_report,
            report_args,
            from,
            adapter_args,
            lock,
        } => {
            init_logging(quiet, verbose);
            let adapter = match adapter_args.options(from.format()) {
                Ok(a) => a,
                Err((code, message)) => {
                    eprintln!("convqa: error: {message}");
                    return ExitCode::from(code);
                }
            };
            use convqa::progress::ProgressMode;
            let opts = RunOptions {
                inputs,
                out: out.clone(),
                rubric,
                threads,
                batch_size: batch_size.max(1),
                max_line_bytes,
                progress: match (quiet, progress) {
                    (_, ProgressArg::Json) => ProgressMode::Json,
                    (true, _) | (_, ProgressArg::None) => ProgressMode::None,
                    (false, ProgressArg::Bar) => ProgressMode::Bar,
                },
                max_turns: max_turns.max(1),
                strict,
                model: model_args.dir(),
                ort_lib: model_args.ort_lib,
                redact: redact.0,
                incremental,
                format: from.format(),
                adapter,
                wait_lock: lock.wait(),
            };
            match run(&opts) {
                Ok(summary) => {
                    if matches!(progress, ProgressArg::Json) {
                        let done = serde_json::json!({"event": "done", "counts": summary.counts});
                        eprintln!("{done}");
                    }
                    if !quiet {
                        let c = &summary.counts;
                        eprintln!(
                            "convqa: scored {} conversations ({} passed, {} failed), rejected {} lines, {} flags -> {}",
                            c.scored,
                            c.passed,
                            c.failed,
                            c.rejected,
                            c.flags,
                            out.display()
                        );
                        if c.rejected > 0 {
                            eprintln!(
                                "convqa: see {} for why each line was rejected",
                                out.join("rejects.jsonl").display()
                            );
                        }
                    }
                    if with_report {
                        return report(&out, &report_args, &lock, quiet);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("convqa: error: {e}");
                    let code = match e {
                        RunError::Input(_) | RunError::InputChanged { .. } => exit::INPUT,
                        RunError::Output(e) => exit::output(&e),
                        RunError::Rubric(_) => exit::RUBRIC,
                        RunError::Model(_) => exit::MODEL,
                        RunError::Threads { .. } => exit::INTERNAL,
                        RunError::Strict { .. } => exit::STRICT,
                    };
                    ExitCode::from(code)
                }
            }
        }
        Command::Report { dir, report_args, lock } => report(&dir, &report_args, &lock, false),
        Command::Verify { dir, repair, lock } => verify(&dir, repair, &lock),
        Command::Calibrate { rubric, rule, labels, positive, precision, model_args } => {
            init_logging(false, false);
            let result = load_engine(
                Some(&rubric),
                &model_args,
                convqa::rubric::ExampleThresholds::Optional,
            )
            .and_then(|engine| {
                convqa::eval::calibrate(&engine, &rule, &labels, positive.as_deref(), precision)
            });
            match result {
                Ok(c) => {
                    eprintln!(
                        "convqa: rule {:?}: {} positive and {} negative turns; at similarity {:.4} \
                         precision {:.3}, recall {:.3}. Paste into the rule:",
                        c.rule, c.positives, c.negatives, c.threshold, c.precision, c.recall
                    );
                    println!("{}", c.toml());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("convqa: error: {e}");
                    ExitCode::from(eval_exit_code(&e))
                }
            }
        }
        Command::Eval { turns, acts, conversations, labels, rubric, model_args, out } => {
            init_logging(false, false);
            match eval(&turns, &acts, conversations.zip(labels), rubric, &model_args, out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("convqa: error: {e}");
                    ExitCode::from(eval_exit_code(&e))
                }
            }
        }
        Command::Convert { format, inputs, out, rejects, quiet, adapter_args } => {
            use convqa::convert::{ConvertError, ConvertOptions, convert};
            let format = format.format();
            let adapter = match adapter_args.options(format) {
                Ok(a) => a,
                Err((code, message)) => {
                    eprintln!("convqa: error: {message}");
                    return ExitCode::from(code);
                }
            };
            let opts = ConvertOptions {
                format,
                inputs,
                out: out.clone(),
                rejects,
                adapter,
                max_line_bytes: convqa::input::DEFAULT_MAX_LINE_BYTES,
                max_turns: convqa::input::DEFAULT_MAX_TURNS,
            };
            match convert(&opts) {
                Ok(summary) => {
                    if !quiet {
                        eprintln!("{}", summary.closing_line(format, &out));
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("convqa: error: {e}");
                    ExitCode::from(match e {
                        ConvertError::Input(_) => exit::INPUT,
                        ConvertError::Output(_) => exit::OUTPUT,
                    })
                }
            }
        }
        Command::Generate { conversations, seed, out, truth, start_date, days, agents, quiet } => {
            use convqa::generate::{GenerateError, GenerateOptions, generate_files};
            let opts = GenerateOptions { conversations, seed, start_date, days, team: agents };
            match generate_files(&opts, &out, truth.as_deref()) {
                Ok(stats) => {
                    if !quiet {
                        eprintln!(
                            "convqa: generated {} synthetic conversations ({} turns, {:.1} MB){} -> {}",
                            stats.conversations,
                            stats.turns,
                            stats.bytes as f64 / 1e6,
                            truth
                                .as_ref()
                                .map(|t| format!(", truth in {}", t.display()))
                                .unwrap_or_default(),
                            out.display()
                        );
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("convqa: error: {e}");
                    ExitCode::from(match e {
                        GenerateError::NoDays | GenerateError::NoAgents => 2,
                        GenerateError::Write { .. } | GenerateError::Output(_) => exit::OUTPUT,
                    })
                }
            }
        }
    }
}
