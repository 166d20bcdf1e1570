"""A small self-contained BERT encoder (the multilingual-e5-small architecture) in PyTorch.

Parameter names follow `transformers.BertModel` exactly (without the pooler), so a state dict
produced by `e5.load_state_dict()` loads into either this module or a `BertModel` built from
`BertConfig(**E5_SMALL_CONFIG)` with `add_pooling_layer=False`. No hub access anywhere.

multilingual-e5-small is a BERT-type model (post-LayerNorm, erf GELU, absolute position ids
starting at 0, token_type_ids all 0, LayerNorm eps 1e-12) over the XLM-R SentencePiece vocab.
The code below uses only ops that export cleanly to ONNX (MatMul, Softmax, LayerNorm, Erf).
"""
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class BertConfig:
    vocab_size: int = 250037          # embedding rows in the checkpoint (tokenizer uses 250002)
    hidden_size: int = 384
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 1

    def to_dict(self):
        return asdict(self)


E5_SMALL_CONFIG = BertConfig()


class BertEmbeddings(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size, padding_idx=c.pad_token_id)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, input_ids):
        seq = input_ids.shape[1]
        pos = torch.arange(seq, device=input_ids.device).unsqueeze(0)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(pos)
             + self.token_type_embeddings.weight[0])
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.nh = c.num_attention_heads
        self.hd = c.hidden_size // c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x, add_mask):
        b, t, h = x.shape

        def split(y):
            return y.view(b, t, self.nh, self.hd).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) * (self.hd ** -0.5) + add_mask
        ctx = torch.matmul(scores.softmax(dim=-1), v)
        return ctx.transpose(1, 2).reshape(b, t, h)


class BertSelfOutput(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, h, x):
        return self.LayerNorm(self.dense(h) + x)


class BertAttention(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x, add_mask):
        return self.output(self.self(x, add_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))  # exact (erf) GELU, as in e5 / BERT


class BertOutput(BertSelfOutput):
    def __init__(self, c: BertConfig):
        nn.Module.__init__(self)
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class BertLayer(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x, add_mask):
        a = self.attention(x, add_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c.num_hidden_layers)])

    def forward(self, x, add_mask):
        for layer in self.layer:
            x = layer(x, add_mask)
        return x


class BertModel(nn.Module):
    """BERT encoder without pooler. forward(input_ids, attention_mask) -> last hidden [B,T,H]."""

    def __init__(self, c: BertConfig = E5_SMALL_CONFIG):
        super().__init__()
        self.config = c
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)

    def forward(self, input_ids, attention_mask):
        add_mask = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(input_ids), add_mask)


def mean_pool(hidden, attention_mask):
    """Mean over the tokens where attention_mask==1 (specials included, as e5 does)."""
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
