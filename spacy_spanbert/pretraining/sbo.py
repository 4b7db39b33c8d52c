"""The span boundary objective (SBO) head, and BERT + MLM + SBO as one pretraining model.

SBO predicts each masked token from the encoder outputs of the two tokens just outside its
span, ``x_{s-1}`` and ``x_{e+1}``, plus a relative-position embedding (size 200):
Linear(2H + 200 -> H), GeLU, LayerNorm, Linear(H -> H), GeLU, LayerNorm, then an output
projection tied to the input word embeddings (with its own bias). The loss is the MLM mean
plus ``sbo_weight`` x the SBO mean; there is no next-sentence prediction.

Both heads run only at the positions that carry a label (15% of them), not at every position:
the vocabulary projection is the costliest part of a small encoder's step.
"""

from pathlib import Path
from typing import Dict, Optional, Union, cast

import torch
from torch import nn
from transformers import PreTrainedModel

SBO_WEIGHTS = "sbo_head.bin"


class SpanBoundaryHead(nn.Module):
    def __init__(
        self,
        word_embeddings: nn.Embedding,
        hidden_size: int,
        *,
        max_targets: int = 15,
        position_size: int = 200,
        layer_norm_eps: float = 1e-12,
    ) -> None:
        super().__init__()
        self.position_embeddings = nn.Embedding(max_targets, position_size)
        self.mlp = nn.Sequential(
            nn.Linear(2 * hidden_size + position_size, hidden_size),
            nn.GELU(),
            nn.LayerNorm(hidden_size, eps=layer_norm_eps),
            nn.Linear(hidden_size, hidden_size),
            nn.GELU(),
            nn.LayerNorm(hidden_size, eps=layer_norm_eps),
        )
        self.word_embeddings = word_embeddings  # tied output projection
        self.bias = nn.Parameter(torch.zeros(word_embeddings.num_embeddings))

    def forward(
        self, hidden: torch.Tensor, left: torch.Tensor, right: torch.Tensor, position: torch.Tensor
    ) -> torch.Tensor:
        """Logits over the vocabulary for every token with ``position >= 0`` (flattened)."""
        rows, cols = torch.nonzero(position >= 0, as_tuple=True)
        features = torch.cat(
            [
                hidden[rows, left[rows, cols]],
                hidden[rows, right[rows, cols]],
                self.position_embeddings(position[rows, cols]),
            ],
            dim=-1,
        )
        return self.mlp(features) @ self.word_embeddings.weight.T + self.bias


# the masked-LM head's attribute in each family's *ForMaskedLM: BERT, DeBERTa (cls);
# RoBERTa, XLM-R (lm_head)
MLM_HEADS = ("cls", "lm_head")


def mlm_head(masked_lm: PreTrainedModel) -> nn.Module:
    """The module that maps encoder outputs to vocabulary logits."""
    for name in MLM_HEADS:
        head = getattr(masked_lm, name, None)
        if isinstance(head, nn.Module):
            return head
    raise ValueError(
        f"Pretraining supports masked-LM models whose head is one module named "
        f"{' or '.join(MLM_HEADS)} (BERT, RoBERTa, XLM-R, DeBERTa); "
        f"{type(masked_lm).__name__} has neither."
    )


class SpanBertForPreTraining(nn.Module):
    """A masked-LM model (encoder + MLM head) with an SBO head beside the MLM head."""

    def __init__(
        self, masked_lm: PreTrainedModel, *, sbo_weight: float = 1.0, max_sbo_targets: int = 15
    ):
        super().__init__()
        self.masked_lm = masked_lm
        self.mlm_head = mlm_head(masked_lm)
        config = masked_lm.config
        self.sbo = SpanBoundaryHead(
            cast(nn.Embedding, masked_lm.get_input_embeddings()),
            config.hidden_size,
            max_targets=max_sbo_targets,
            layer_norm_eps=config.layer_norm_eps,
        )
        self.sbo_weight = sbo_weight

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor,
        sbo_left: torch.Tensor,
        sbo_right: torch.Tensor,
        sbo_position: torch.Tensor,
    ) -> Dict[str, torch.Tensor]:
        hidden = self.masked_lm.base_model(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state
        labelled = labels != -100
        mlm_logits = self.mlm_head(hidden[labelled])
        mlm_loss = _cross_entropy(mlm_logits, labels[labelled], hidden)
        out = {
            "mlm_loss": mlm_loss.detach(),
            "mlm_accuracy": _accuracy(mlm_logits, labels[labelled]),
        }
        loss = mlm_loss
        if self.sbo_weight:
            sbo_labels = labels[sbo_position >= 0]
            sbo_logits = self.sbo(hidden, sbo_left, sbo_right, sbo_position)
            sbo_loss = _cross_entropy(sbo_logits, sbo_labels, hidden)
            loss = loss + self.sbo_weight * sbo_loss
            out.update(sbo_loss=sbo_loss.detach(), sbo_accuracy=_accuracy(sbo_logits, sbo_labels))
        return {"loss": loss, **out}

    def save_pretrained(self, directory: Union[str, Path]) -> None:
        """A Hugging Face checkpoint (encoder + MLM head) plus ``sbo_head.bin``."""
        self.masked_lm.save_pretrained(str(directory), safe_serialization=False)
        sbo_state = {
            k: v for k, v in self.sbo.state_dict().items() if not k.startswith("word_embeddings")
        }
        torch.save(sbo_state, Path(directory) / SBO_WEIGHTS)

    def load_sbo_head(self, directory: Union[str, Path]) -> bool:
        """Load ``sbo_head.bin`` from ``directory`` if present; return whether it was."""
        path = Path(directory) / SBO_WEIGHTS
        if not path.is_file():
            return False
        self.sbo.load_state_dict(torch.load(path, map_location="cpu"), strict=False)
        return True


def _cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, hidden: torch.Tensor
) -> torch.Tensor:
    """Mean cross-entropy; 0 (still in the graph) when no position carries a label."""
    if labels.numel():
        return nn.functional.cross_entropy(logits, labels)
    return hidden.sum() * 0.0


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Share of rows whose highest logit is the label (0 with no rows)."""
    if not labels.numel():
        return labels.new_zeros((), dtype=torch.float)
    return (logits.detach().argmax(-1) == labels).float().mean()


def mlm_head_present(directory: Optional[Union[str, Path]]) -> bool:
    """Whether a checkpoint directory's weights include an MLM head (``cls.predictions``)."""
    if directory is None:
        return False
    for name in ("pytorch_model.bin", "model.safetensors"):
        path = Path(directory) / name
        if path.is_file():
            if name.endswith(".bin"):
                keys = torch.load(path, map_location="cpu", weights_only=True).keys()
            else:
                from safetensors import safe_open

                with safe_open(str(path), framework="pt") as f:
                    keys = f.keys()
            return any(key.startswith("cls.predictions") for key in keys)
    return False
