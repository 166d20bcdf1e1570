//! The `convqa` command line: parses arguments and calls the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use convqa::engine::EngineOptions;
use convqa::exit;
use convqa::impact::ImpactOptions;
use convqa::job::RunOptions;
use convqa::report::{GapOptions, QueueOptions, ReportOptions};
use convqa::rubric::ExampleThresholds;

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
    Score(ScoreArgs),
    /// Measure convqa on labelled files: the model on labelled turns (accuracy, macro-F1,
    /// confusion, flag precision/recall per task and language) and the rubric on labelled
    /// conversations (pass/fail accuracy, precision/recall per finding).
    Eval(EvalArgs),
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
    /// Did training work? For each row of a trainings CSV (agent_id, skill, date[, course]):
    /// the skill before and after, against untrained agents of the team, with a verdict.
    /// Writes training_impact.parquet and training_rejects.jsonl into DIR.
    Impact(ImpactArgs),
    /// Coaching sheets for a 1:1: an agent's two weakest dimensions against the team in a month,
    /// two flagged examples each to discuss and one done well, and what changed since the month
    /// before. Writes DIR/coaching/<agent>_<month>.html and .md.
    Coach(CoachArgs),
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
        /// Profiles: good, average, slow, cold, rude, scriptless, uneven, improver.
        #[arg(long, value_delimiter = ',')]
        agents: Vec<convqa::generate::AgentSpec>,
        /// Plant a training effect: AGENT[+AGENT…]:SKILL:DATE:POINTS (repeatable), e.g.
        /// syn-cold:empathy:2026-11-30:15 — those agents score POINTS more in SKILL from DATE.
        #[arg(long = "plant-training")]
        plant_training: Vec<convqa::generate::Plant>,
        /// Plant a team-wide drift: SKILL:DATE:POINTS (repeatable), every agent moves by POINTS.
        #[arg(long = "plant-drift", value_parser = convqa::generate::Plant::parse_drift)]
        plant_drift: Vec<convqa::generate::Plant>,
        /// No closing summary line.
        #[arg(long, short)]
        quiet: bool,
    },
}

#[derive(clap::Args)]
struct ScoreArgs {
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
    #[arg(long, default_value_t = convqa::job::DEFAULT_BATCH_SIZE)]
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
}

#[derive(clap::Args)]
struct EvalArgs {
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
}

impl ScoreArgs {
    /// The job's options (the one place arguments become [`RunOptions`]); an error is (exit
    /// code, message).
    fn options(&self) -> Result<RunOptions, (u8, String)> {
        use convqa::progress::ProgressMode;
        Ok(RunOptions {
            inputs: self.inputs.clone(),
            out: self.out.clone(),
            rubric: self.rubric.clone(),
            threads: self.threads,
            batch_size: self.batch_size.max(1),
            max_line_bytes: self.max_line_bytes,
            progress: match (self.quiet, self.progress) {
                (_, ProgressArg::Json) => ProgressMode::Json,
                (true, _) | (_, ProgressArg::None) => ProgressMode::None,
                (false, ProgressArg::Bar) => ProgressMode::Bar,
            },
            max_turns: self.max_turns.max(1),
            strict: self.strict,
            model: self.model_args.dir(),
            ort_lib: self.model_args.ort_lib.clone(),
            redact: self.redact.0.clone(),
            incremental: self.incremental,
            format: self.from.format(),
            adapter: self.adapter_args.options(self.from.format())?,
            wait_lock: self.lock.wait(),
        })
    }
}

impl EvalArgs {
    fn options(&self) -> convqa::eval::EvalOptions {
        convqa::eval::EvalOptions {
            turns: self.turns.clone(),
            acts: self.acts.clone(),
            conversations: self.conversations.clone().zip(self.labels.clone()),
            engine: self.model_args.engine(self.rubric.clone(), ExampleThresholds::Required),
        }
    }
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
                return Err((
                    exit::USAGE,
                    format!("--mapping is for the json format, not {other}"),
                ));
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
    convqa::redact::Redactor::from_spec(s).map(RedactArg)
}

/// `convqa coach`'s arguments.
#[derive(clap::Args)]
struct CoachArgs {
    /// The output folder of `convqa score`.
    dir: PathBuf,
    /// The agent's id.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    agent: Option<String>,
    /// One sheet per agent with conversations in the month.
    #[arg(long)]
    all: bool,
    /// The month (YYYY-MM, UTC) [default: the newest month with conversations].
    #[arg(long, value_parser = convqa::coach::parse_month)]
    month: Option<chrono::NaiveDate>,
    /// No closing line.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    lock: LockArgs,
}

impl CoachArgs {
    fn options(&self) -> convqa::coach::CoachOptions {
        convqa::coach::CoachOptions {
            agent: self.agent.clone(),
            month: self.month,
            wait_lock: self.lock.wait(),
        }
    }
}

/// `convqa impact`'s arguments.
#[derive(clap::Args)]
struct ImpactArgs {
    /// The output folder of `convqa score`.
    dir: PathBuf,
    /// CSV, one training a row: agent_id, skill (a dimension or rule id), date (YYYY-MM-DD)[,
    /// course]; a header row is skipped; bad rows go to DIR/training_rejects.jsonl.
    #[arg(long)]
    trainings: PathBuf,
    /// Days of the window before the training.
    #[arg(long, default_value_t = ImpactOptions::default().before_days)]
    before_days: u32,
    /// Days of the window after it.
    #[arg(long, default_value_t = ImpactOptions::default().after_days)]
    after_days: u32,
    /// Days from the training to the start of the after window.
    #[arg(long, default_value_t = ImpactOptions::default().gap_days)]
    gap_days: u32,
    /// Fewest scored conversations of the trained agent in each window for a verdict.
    #[arg(long, default_value_t = ImpactOptions::default().min_conversations)]
    min_conversations: usize,
    /// Bootstrap replicates of each interval.
    #[arg(long, default_value_t = ImpactOptions::default().replicates)]
    replicates: usize,
    /// Seed of the bootstrap (same data and seed, same intervals).
    #[arg(long, default_value_t = ImpactOptions::default().seed)]
    seed: u64,
    /// No table on stdout and no closing line.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    lock: LockArgs,
}

impl ImpactArgs {
    fn options(&self) -> ImpactOptions {
        ImpactOptions {
            before_days: self.before_days,
            after_days: self.after_days,
            gap_days: self.gap_days,
            min_conversations: self.min_conversations,
            replicates: self.replicates,
            seed: self.seed,
            wait_lock: self.lock.wait(),
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

/// Options of the reports (`convqa report`, `convqa score --report`); the defaults are the
/// report options' `Default`s.
#[derive(clap::Args)]
struct ReportArgs {
    /// Also measure the trainings of this CSV (as `convqa impact` with its defaults) and add
    /// "Did training work?" to report.html.
    #[arg(long)]
    trainings: Option<PathBuf>,
    /// Review queue: at most this many conversations chosen by priority.
    #[arg(long, default_value_t = QueueOptions::default().top_n)]
    queue_top: usize,
    /// Review queue: at most this many priority entries per agent (0: no limit).
    #[arg(long, default_value_t = QueueOptions::default().per_agent)]
    queue_per_agent: usize,
    /// Review queue: percent of passed conversations added at random for calibration audits.
    #[arg(long, default_value_t = QueueOptions::default().sample_percent)]
    sample_percent: f64,
    /// Seed of that random sample.
    #[arg(long, default_value_t = QueueOptions::default().seed)]
    sample_seed: u64,
    /// Review queue: at most this many sampled conversations (0: no limit).
    #[arg(long, default_value_t = QueueOptions::default().sample_max)]
    sample_max: usize,
    /// Time zone of days, weeks and months (IANA name, e.g. Asia/Shanghai).
    #[arg(long, default_value_t = ReportOptions::default().tz)]
    tz: chrono_tz::Tz,
    /// A contact by the same customer within this many days counts against first-contact
    /// resolution of the earlier one.
    #[arg(long, default_value_t = ReportOptions::default().repeat_window_days)]
    repeat_days: u32,
    /// Skill gaps: fewest conversations of an agent in a period to judge a dimension.
    #[arg(long, default_value_t = GapOptions::default().min_conversations)]
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
    fn options(&self) -> ReportOptions {
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

    /// The engine of `rubric` and this model, one session per CPU core.
    fn engine(&self, rubric: Option<PathBuf>, thresholds: ExampleThresholds) -> EngineOptions {
        EngineOptions {
            rubric,
            rubric_text: None,
            model: self.dir(),
            ort_lib: self.ort_lib.clone(),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            example_thresholds: thresholds,
        }
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

/// Prints `convqa: error: …` and returns the exit code.
fn fail(message: &dyn std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("convqa: error: {message}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Score(args) => score(&args),
        Command::Report { dir, report_args, lock } => report(&dir, &report_args, &lock, false),
        Command::Verify { dir, repair, lock } => verify(&dir, repair, &lock),
        Command::Coach(a) => ExitCode::from(convqa::coach::command(&a.dir, &a.options(), a.quiet)),
        Command::Impact(a) => {
            ExitCode::from(convqa::impact::command(&a.dir, &a.trainings, &a.options(), a.quiet))
        }
        Command::Calibrate { rubric, rule, labels, positive, precision, model_args } => {
            init_logging(false, false);
            let engine = model_args.engine(Some(rubric), ExampleThresholds::Optional);
            calibrate(&engine, &rule, &labels, positive.as_deref(), precision)
        }
        Command::Eval(args) => {
            init_logging(false, false);
            eval(&args)
        }
        Command::Convert { format, inputs, out, rejects, quiet, adapter_args } => {
            convert(format, inputs, out, rejects, quiet, &adapter_args)
        }
        Command::Generate {
            conversations,
            seed,
            out,
            truth,
            start_date,
            days,
            agents,
            plant_training,
            plant_drift,
            quiet,
        } => {
            let opts = convqa::generate::GenerateOptions {
                conversations,
                seed,
                start_date,
                days,
                team: agents,
                plants: [plant_training, plant_drift].concat(),
            };
            generate(&opts, &out, truth.as_deref(), quiet)
        }
    }
}

/// `convqa score`: runs the job, prints its closing lines, then the reports if asked.
fn score(args: &ScoreArgs) -> ExitCode {
    init_logging(args.quiet, args.verbose);
    let opts = match args.options() {
        Ok(opts) => opts,
        Err((code, message)) => return fail(&message, code),
    };
    let summary = match convqa::job::run(&opts) {
        Ok(summary) => summary,
        Err(e) => return fail(&e, e.exit_code()),
    };
    if matches!(args.progress, ProgressArg::Json) {
        let done = serde_json::json!({"event": "done", "counts": summary.counts});
        eprintln!("{done}");
    }
    if !args.quiet {
        let c = &summary.counts;
        eprintln!(
            "convqa: scored {} conversations ({} passed, {} failed), rejected {} lines, {} flags -> {}",
            c.scored,
            c.passed,
            c.failed,
            c.rejected,
            c.flags,
            args.out.display()
        );
        if c.rejected > 0 {
            eprintln!(
                "convqa: see {} for why each line was rejected",
                args.out.join("rejects.jsonl").display()
            );
        }
    }
    if args.report {
        return report(&args.out, &args.report_args, &args.lock, args.quiet);
    }
    ExitCode::SUCCESS
}

/// `convqa eval`: evaluates each file, prints the tables, writes the JSON if asked.
fn eval(args: &EvalArgs) -> ExitCode {
    let result = convqa::eval::evaluate(&args.options()).and_then(|report| {
        print!("{}", report.render());
        args.out.as_deref().map_or(Ok(()), |path| report.write_json(path))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, e.exit_code()),
    }
}

/// `convqa calibrate`: prints the threshold line to paste into the rule.
fn calibrate(
    engine: &EngineOptions,
    rule: &str,
    labels: &std::path::Path,
    positive: Option<&str>,
    precision: f64,
) -> ExitCode {
    let result = convqa::Engine::load(engine)
        .map_err(convqa::eval::EvalError::from)
        .and_then(|engine| convqa::eval::calibrate(&engine, rule, labels, positive, precision));
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
        Err(e) => fail(&e, e.exit_code()),
    }
}

/// Writes the reports of `dir`; prints where, or the error. Returns the exit code.
fn report(dir: &std::path::Path, args: &ReportArgs, lock: &LockArgs, quiet: bool) -> ExitCode {
    let opts = convqa::report::ReportOptions { wait_lock: lock.wait(), ..args.options() };
    if let Some(trainings) = &args.trainings {
        return ExitCode::from(convqa::impact::report_command(dir, &opts, trainings, quiet));
    }
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
        Err(e) => fail(&e, e.exit_code()),
    }
}

/// `convqa verify`: prints what it found and how to repair it. Returns the exit code.
fn verify(dir: &std::path::Path, repair: bool, lock: &LockArgs) -> ExitCode {
    let v = match convqa::output::verify::verify(dir, repair, lock.wait()) {
        Ok(v) => v,
        Err(e) => return fail(&e, e.exit_code()),
    };
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
        if v.layout == "incremental" { format!(", {} runs", v.runs) } else { String::new() },
        v.findings.len()
    );
    if v.findings.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(exit::UNSOUND) }
}

/// `convqa convert`: writes the JSONL and prints the closing line.
fn convert(
    format: FormatArg,
    inputs: Vec<PathBuf>,
    out: PathBuf,
    rejects: Option<PathBuf>,
    quiet: bool,
    adapter_args: &AdapterArgs,
) -> ExitCode {
    let format = format.format();
    let adapter = match adapter_args.options(format) {
        Ok(a) => a,
        Err((code, message)) => return fail(&message, code),
    };
    let opts = convqa::convert::ConvertOptions {
        format,
        inputs,
        out,
        rejects,
        adapter,
        max_line_bytes: convqa::input::DEFAULT_MAX_LINE_BYTES,
        max_turns: convqa::input::DEFAULT_MAX_TURNS,
    };
    match convqa::convert::convert(&opts) {
        Ok(summary) => {
            if !quiet {
                eprintln!("{}", summary.closing_line(format, &opts.out));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, e.exit_code()),
    }
}

/// `convqa generate`: writes the corpus (and its truth) and prints the closing line.
fn generate(
    opts: &convqa::generate::GenerateOptions,
    out: &std::path::Path,
    truth: Option<&std::path::Path>,
    quiet: bool,
) -> ExitCode {
    match convqa::generate::generate_files(opts, out, truth) {
        Ok(stats) => {
            if !quiet {
                eprintln!(
                    "convqa: generated {} synthetic conversations ({} turns, {:.1} MB){} -> {}",
                    stats.conversations,
                    stats.turns,
                    stats.bytes as f64 / 1e6,
                    truth.map(|t| format!(", truth in {}", t.display())).unwrap_or_default(),
                    out.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, e.exit_code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from([&["convqa"], args].concat()).unwrap_or_else(|e| panic!("{e}")).command
    }

    #[test]
    fn report_arguments_left_out_give_the_report_options_defaults() {
        let Command::Report { report_args, .. } = parse(&["report", "out"]) else { unreachable!() };
        assert_eq!(report_args.options(), ReportOptions::default());
    }

    #[test]
    fn score_arguments_become_the_job_options_in_one_place() {
        let Command::Score(args) = parse(&["score", "in.jsonl", "--out", "o", "--no-models"])
        else {
            unreachable!()
        };
        let opts = args.options().unwrap_or_else(|(_, m)| panic!("{m}"));
        let defaults = RunOptions::new(vec!["in.jsonl".into()], "o".into());
        assert_eq!(opts.model, None, "--no-models");
        assert_eq!(
            (opts.threads, opts.batch_size, opts.max_line_bytes, opts.max_turns),
            (defaults.threads, defaults.batch_size, defaults.max_line_bytes, defaults.max_turns)
        );
        assert_eq!((opts.strict, opts.incremental, opts.wait_lock), (false, false, None));
        assert!(opts.redact.is_some(), "redaction is on by default");
        let Command::Score(args) =
            parse(&["score", "-", "--out", "o", "--batch-size", "0", "--max-turns", "0"])
        else {
            unreachable!()
        };
        let opts = args.options().unwrap_or_else(|(_, m)| panic!("{m}"));
        assert_eq!((opts.batch_size, opts.max_turns), (1, 1), "zero is raised to one");
        assert_eq!(opts.model, Some(PathBuf::from(convqa::model::DEFAULT_MODEL_DIR)));
    }
}
