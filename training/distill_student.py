"""distill.py, part 1: defaults, the student's shape and its initialisation from the teacher.

Moved out of distill.py unchanged (see distill.py for the whole method).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import paths as work_paths  # noqa: E402
import train  # noqa: E402
from train import TASKS  # noqa: E402

# Defaults under the work directory (paths.py: $CONVQA_WORK, else <repo>/target/training); the
# distill.py command line changes them with --work-root.
TEACHER_CKPT = os.path.join(work_paths.sub("train"), "best.pt")
# the teacher's shipped int8 file: restored from git history by scripts/fetch-teacher.sh
TEACHER_ONNX = os.path.join(REPO, "target", "models", "convqa-e5-small", "model.onnx")
WORK = work_paths.sub("distill")
DEFAULT_OUT = os.path.join(WORK, "run")
SPEED_TURNS = [os.path.join(REPO, "data", "eval", "turns.jsonl"),
               os.path.join(REPO, "data", "dev", "turns.jsonl")]
HEAD_DIM = 32
OUTPUTS = ["sentiment_logits", "politeness_logits"]


# ----------------------------------------------------------------------------------------------
# student shape and initialisation


def student_config(layers, hidden, ff=0, max_len=128, vocab=42426):
    from model import BertConfig
    return BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers,
                      num_attention_heads=hidden // HEAD_DIM, intermediate_size=ff or 4 * hidden,
                      max_position_embeddings=max_len)


def parse_shape(shape):
    """"4x384" -> (4, 384)."""
    import re
    m = re.fullmatch(r"(\d+)x(\d+)", shape)
    if not m:
        raise ValueError(f"shape {shape!r}: expected LAYERSxHIDDEN, e.g. 4x384")
    return int(m.group(1)), int(m.group(2))


def spread(n_teacher, n_student):
    """Evenly spread layer indexes, first and last included: 12 -> 4 gives 0,4,7,11."""
    if n_student == 1:
        return [n_teacher - 1]
    return [round(i * (n_teacher - 1) / (n_student - 1)) for i in range(n_student)]


class ProjectedEmbedding(torch.nn.Module):
    """Frozen teacher table [vocab, 384] followed by a learned Linear(384, hidden, bias=False)."""

    def __init__(self, table, proj):
        super().__init__()
        self.register_buffer("table", table)
        self.proj = torch.nn.Linear(table.shape[1], proj.shape[1], bias=False)
        self.proj.weight.data.copy_(proj.T)

    def forward(self, ids):
        return self.proj(torch.nn.functional.embedding(ids, self.table))

    def folded(self):
        with torch.no_grad():
            return self.proj(self.table).detach().clone()


def teacher_hidden_pca(teacher, tok, texts, hidden):
    """[384, hidden] orthonormal basis: top principal directions of the teacher's token states
    (embedding output and every layer output, padding excluded), uncentred."""
    teacher.eval()
    states = []
    with torch.inference_mode():
        enc = train.encode(tok, texts)
        for b in range(0, len(enc), 32):
            ids, att = train.pad_batch(enc[b:b + 32])
            x = teacher.encoder.embeddings(ids)
            m = att.bool()
            states.append(x[m])
            add = (1.0 - att[:, None, None, :].float()) * torch.finfo(torch.float32).min
            for layer in teacher.encoder.encoder.layer:
                x = layer(x, add)
                states.append(x[m])
    X = torch.cat(states).double()
    cov = X.T @ X / len(X)
    evals, evecs = torch.linalg.eigh(cov)
    P = evecs[:, torch.argsort(evals, descending=True)[:hidden]].float()
    kept = float(evals.sort(descending=True).values[:hidden].sum() / evals.sum())
    return P, kept


def init_student(teacher, cfg, layers_from, proj=None):
    """A train.Classifier of shape cfg with weights taken from the teacher.

    hidden == 384: layers `layers_from` copied as they are. hidden < 384: `proj` [384, hidden]
    maps the residual stream; per layer the attention heads with the largest output-weight norm
    and the FFN neurons with the largest |w_in|*|w_out| are kept."""
    from model import BertModel
    tsd = teacher.state_dict()
    enc = BertModel(cfg)
    student = train.Classifier(enc)
    sd = student.state_dict()
    T = teacher.encoder.config.hidden_size
    P = torch.eye(T) if proj is None else proj
    nh = cfg.num_attention_heads

    def ln(prefix_s, prefix_t):
        w, b = tsd[prefix_t + ".weight"], tsd[prefix_t + ".bias"]
        sd[prefix_s + ".weight"] = (P ** 2).T @ w if proj is not None else w.clone()
        sd[prefix_s + ".bias"] = P.T @ b

    with torch.no_grad():
        e = "encoder.embeddings."
        sd[e + "word_embeddings.weight"] = tsd[e + "word_embeddings.weight"] @ P
        sd[e + "position_embeddings.weight"] = tsd[e + "position_embeddings.weight"][:cfg.max_position_embeddings] @ P
        sd[e + "token_type_embeddings.weight"] = tsd[e + "token_type_embeddings.weight"] @ P
        ln(e + "LayerNorm", e + "LayerNorm")
        for s, t in enumerate(layers_from):
            ps, pt = f"encoder.encoder.layer.{s}.", f"encoder.encoder.layer.{t}."
            wo = tsd[pt + "attention.output.dense.weight"]  # [T, T(heads)]
            norms = wo.view(T, -1, HEAD_DIM).norm(dim=(0, 2))
            heads = sorted(torch.argsort(norms, descending=True)[:nh].tolist())
            rows = torch.cat([torch.arange(h * HEAD_DIM, (h + 1) * HEAD_DIM) for h in heads])
            for qkv in ("query", "key", "value"):
                w, b = tsd[pt + f"attention.self.{qkv}.weight"], tsd[pt + f"attention.self.{qkv}.bias"]
                sd[ps + f"attention.self.{qkv}.weight"] = w[rows] @ P
                sd[ps + f"attention.self.{qkv}.bias"] = b[rows].clone()
            sd[ps + "attention.output.dense.weight"] = P.T @ wo[:, rows]
            sd[ps + "attention.output.dense.bias"] = P.T @ tsd[pt + "attention.output.dense.bias"]
            ln(ps + "attention.output.LayerNorm", pt + "attention.output.LayerNorm")
            wi, bi = tsd[pt + "intermediate.dense.weight"], tsd[pt + "intermediate.dense.bias"]
            wout = tsd[pt + "output.dense.weight"]
            imp = wi.norm(dim=1) * wout.norm(dim=0)
            keep = sorted(torch.argsort(imp, descending=True)[:cfg.intermediate_size].tolist())
            sd[ps + "intermediate.dense.weight"] = wi[keep] @ P
            sd[ps + "intermediate.dense.bias"] = bi[keep].clone()
            sd[ps + "output.dense.weight"] = P.T @ wout[:, keep]
            sd[ps + "output.dense.bias"] = P.T @ tsd[pt + "output.dense.bias"]
            ln(ps + "output.LayerNorm", pt + "output.LayerNorm")
        for task in TASKS:
            sd[f"heads.{task}.weight"] = tsd[f"heads.{task}.weight"] @ P
            sd[f"heads.{task}.bias"] = tsd[f"heads.{task}.bias"].clone()
    student.load_state_dict(sd, strict=True)
    return student


def load_teacher(path=TEACHER_CKPT):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    return train.classifier_from_state_dict(ck["model"]).eval()


def shipped_teacher(path):
    """`path`, or exit saying how to restore the teacher (no longer in models/ since the student ships)."""
    if not os.path.isfile(path):
        sys.exit(f"{path}: no teacher model here; restore it with `bash scripts/fetch-teacher.sh`")
    return path
