"""COCO caption metrics with pycocoevalcap: BLEU-1..4, METEOR, ROUGE_L, CIDEr (no SPICE).

Captions are tokenised with pycocoevalcap's PTBTokenizer (Stanford CoreNLP, needs Java) as the
COCO evaluation does; without Java a lowercase, punctuation-stripping tokenizer stands in and
METEOR (a Java program too) is reported as None. SPICE is never computed: it needs the
Stanford SPICE jar and its models, which cannot be fetched offline.

METEOR's Java process loads a 60 MB paraphrase table, which takes 15-30 s on two cores, so one
process is kept per Python process and started early (`start_meteor`) while captions are
generated; later evaluations in the same run reuse it (about 0.3 s each).

Two aggregates: `avg_score` is the unweighted mean of the seven metrics, the reference's key
(kept so its configs and rankings still work; note it mixes CIDEr, on a 0-10 scale, with
metrics in [0, 1], so CIDEr dominates it). `caption_score` is scale-aware: the mean of BLEU_4,
METEOR, ROUGE_L and CIDEr/10, all in [0, 1]; BLEU_4 alone stands for BLEU because BLEU-1..3
are already inside it (counting all four would weigh n-gram overlap four times).
"""

from __future__ import annotations

import atexit
import re
import shutil
import threading
from typing import Any

METRICS = ("BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "METEOR", "ROUGE_L", "CIDEr")
_PUNCT = re.compile(r"[^\w\s]|_")

_meteor: Any = None
_meteor_lock = threading.Lock()


def java_available() -> bool:
    return shutil.which("java") is not None


def start_meteor() -> Any:
    """The process-wide METEOR scorer, started now if needed (None without Java)."""
    global _meteor
    if not java_available():
        return None
    with _meteor_lock:
        if _meteor is None or _meteor.meteor_p.poll() is not None:
            from pycocoevalcap.meteor.meteor import Meteor

            _meteor = Meteor()
            atexit.register(_close_meteor)
        return _meteor


def _close_meteor() -> None:
    global _meteor
    if _meteor is not None and _meteor.meteor_p.poll() is None:
        _meteor.meteor_p.stdin.close()
        _meteor.meteor_p.kill()
        _meteor.meteor_p.wait()
    _meteor = None


def simple_tokenize(text: str) -> str:
    """Lowercase, punctuation removed, single spaces (the fallback without Java)."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def tokenize(
    refs: dict[str, list[str]], preds: dict[str, list[str]]
) -> tuple[dict[str, list[str]], dict[str, list[str]], str]:
    """PTB-tokenised references and predictions (one Java call for both), and its name."""
    if java_available():
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        joined = {f"r{k}": [{"caption": c} for c in v] for k, v in refs.items()}
        joined.update({f"p{k}": [{"caption": c} for c in v] for k, v in preds.items()})
        out = PTBTokenizer().tokenize(joined)
        return ({k: out[f"r{k}"] for k in refs}, {k: out[f"p{k}"] for k in preds}, "ptb")
    return (
        {k: [simple_tokenize(c) for c in v] for k, v in refs.items()},
        {k: [simple_tokenize(c) for c in v] for k, v in preds.items()},
        "simple",
    )


def caption_score(scores: dict[str, float | None]) -> float | None:
    """Mean of BLEU_4, METEOR, ROUGE_L and CIDEr/10 (each in [0, 1]); None-valued terms skipped."""
    terms = [
        scores.get("BLEU_4"),
        scores.get("METEOR"),
        scores.get("ROUGE_L"),
        None if scores.get("CIDEr") is None else scores["CIDEr"] / 10.0,
    ]
    known = [t for t in terms if t is not None]
    return sum(known) / len(known) if known else None


def score_captions(references: list[list[str]], predictions: list[str]) -> dict[str, Any]:
    """Corpus-level metrics of `predictions[i]` against `references[i]` (one image each)."""
    if len(references) != len(predictions) or not predictions:
        raise ValueError("score_captions: need one non-empty reference list per prediction")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    meteor = start_meteor()
    refs = {str(i): list(r) for i, r in enumerate(references)}
    preds = {str(i): [p] for i, p in enumerate(predictions)}
    refs, preds, tokenizer = tokenize(refs, preds)
    # An empty hypothesis breaks nothing but scores 0; an empty reference list is invalid.
    preds = {k: [v[0] if v and v[0] else "_"] for k, v in preds.items()}
    scores: dict[str, Any] = {}
    bleu, _ = Bleu(4).compute_score(refs, preds, verbose=0)
    scores.update({f"BLEU_{n + 1}": float(b) for n, b in enumerate(bleu)})
    scores["METEOR"] = float(meteor.compute_score(refs, preds)[0]) if meteor else None
    scores["ROUGE_L"] = float(Rouge().compute_score(refs, preds)[0])
    scores["CIDEr"] = float(Cider().compute_score(refs, preds)[0])
    known = [scores[m] for m in METRICS if scores[m] is not None]
    scores["avg_score"] = sum(known) / len(known)
    scores["caption_score"] = caption_score(scores)
    scores["tokenizer"] = tokenizer
    return scores
