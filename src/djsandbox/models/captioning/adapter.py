"""One interface over the two InternVL implementations: batches in, loss or captions out.

`kind="hf"` is transformers' native `InternVLForConditionalGeneration` (the tiny model built in
code and HF-format checkpoints); `kind="remote"` is the original InternVL2 release whose
`InternVLChatModel` comes as remote code. They differ only in argument names, where the
vision/projector/language parts live and what `generate` returns; training, evaluation and
saving go through this adapter and never look at the model class.

Prompt and answer are tokenised separately and concatenated, so the label mask starts exactly
at the answer and generation sees the very same prompt ids that training saw.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .templates import Template, expand_image

IGNORE_INDEX = -100
SETTINGS_FILE = "djsandbox_caption.json"


@dataclass
class CaptionAdapter:
    model: Any
    tokenizer: Any
    template: Template
    kind: str  # "hf" | "remote"
    settings: dict[str, Any]
    num_image_token: int
    source_path: str | None = None  # remote code files are copied from here when saving
    _prompt_ids: dict[str, list[int]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ parts of the model
    def parts(self) -> dict[str, Any]:
        """The vision encoder, MLP projector and language model (with its LM head)."""
        if self.kind == "remote":
            return {
                "vision": self.model.vision_model,
                "projector": self.model.mlp1,
                "llm": self.model.language_model,
            }
        inner = self.model.model
        return {
            "vision": inner.vision_tower,
            "projector": inner.multi_modal_projector,
            "llm": inner.language_model,
            "lm_head": self.model.lm_head,
        }

    def set_llm(self, module: Any) -> None:
        """Swap the language model (LoRA wrapping / merging)."""
        if self.kind == "remote":
            self.model.language_model = module
        else:
            self.model.model.language_model = module

    # ------------------------------------------------------------------------- tokenising
    def prompt_ids(self, question: str) -> list[int]:
        """Token ids of the full prompt (system, user turn with the image span, role)."""
        ids = self._prompt_ids.get(question)
        if ids is None:
            text = self.template.prompt(
                expand_image(question, self.num_image_token), self.settings.get("system_message")
            )
            ids = self.tokenizer(text, add_special_tokens=True)["input_ids"]
            self._prompt_ids[question] = ids
        return ids

    def answer_ids(self, caption: str) -> list[int]:
        text = self.template.answer(caption, self.tokenizer.eos_token)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode(self, questions: list[str], captions: list[str]) -> dict[str, torch.Tensor]:
        """Right-padded input ids, attention mask and labels (-100 on prompt and padding)."""
        max_len = int(self.settings["max_seq_length"])
        rows = []
        for question, caption in zip(questions, captions):
            prompt, answer = self.prompt_ids(question), self.answer_ids(caption)
            if len(prompt) >= max_len:
                raise ValueError(
                    f"model.max_seq_length: {max_len} tokens leave no room for the "
                    f"caption after a {len(prompt)}-token prompt"
                )
            answer = answer[: max_len - len(prompt)]
            rows.append((prompt + answer, [IGNORE_INDEX] * len(prompt) + answer))
        width = max(len(ids) for ids, _ in rows)
        pad = self.pad_id
        input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (ids, lab) in enumerate(rows):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, : len(lab)] = torch.tensor(lab)
            mask[i, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}

    @property
    def pad_id(self) -> int:
        tok = self.tokenizer
        return int(tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id)

    def stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        if self.template.stop:
            ids.add(self.tokenizer.convert_tokens_to_ids(self.template.stop))
        return sorted(i for i in ids if i is not None and i >= 0)

    # --------------------------------------------------------------------- model calls
    def _pixels(self, pixel_values: torch.Tensor) -> torch.Tensor:
        param = next(self.parts()["vision"].parameters())
        return pixel_values.to(device=param.device, dtype=param.dtype)

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean token cross-entropy of the answers in `batch` (pixel_values + `encode`)."""
        kwargs = {
            "input_ids": batch["input_ids"],
            "attention_mask": batch["attention_mask"],
            "labels": batch["labels"],
            "pixel_values": self._pixels(batch["pixel_values"]),
        }
        if self.kind == "remote":  # one tile per image, all real
            kwargs["image_flags"] = torch.ones(
                len(batch["input_ids"]), dtype=torch.long, device=batch["input_ids"].device
            )
        return self.model(**kwargs).loss

    @torch.no_grad()
    def generate(
        self,
        pixel_values: torch.Tensor,
        questions: list[str],
        max_new_tokens: int = 32,
        num_beams: int = 1,
    ) -> list[str]:
        """Greedy (or beam) captions, one per image; prompts are left-padded."""
        prompts = [self.prompt_ids(q) for q in questions]
        width = max(len(p) for p in prompts)
        device = next(self.model.parameters()).device
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):
            input_ids[i, width - len(p) :] = torch.tensor(p)
            mask[i, width - len(p) :] = 1
        stop = self.stop_ids()
        out = self.model.generate(
            pixel_values=self._pixels(pixel_values),
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            max_new_tokens=max_new_tokens,
            num_beams=num_beams,
            do_sample=False,
            eos_token_id=stop,
            pad_token_id=self.pad_id,
            min_new_tokens=1,
        )  # a caption is never empty (an undertrained model's first guess
        # is often the stop token, the most frequent target)
        # The native model returns prompt + answer; InternVLChatModel (inputs_embeds) the answer.
        new = out if self.kind == "remote" else out[:, width:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        if self.template.stop:
            texts = [t.split(self.template.stop)[0] for t in texts]
        return [" ".join(t.split()) for t in texts]

    # --------------------------------------------------------------------------- saving
    def save(self, folder: Path) -> Path:
        """Write a folder the evaluator loads alone: weights (LoRA merged), tokenizer, settings.

        With LoRA the adapter is also kept in `folder/lora_adapter` (small; to reuse on the
        base weights), then merged so the folder is a plain model of the same kind.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        llm = self.parts()["llm"]
        if hasattr(llm, "merge_and_unload"):  # a peft model
            with warnings.catch_warnings():  # peft asks a transformers API deprecated in v5
                warnings.filterwarnings(
                    "ignore", category=FutureWarning, message=r".*is_gradient_checkpointing.*"
                )
                llm.save_pretrained(str(folder / "lora_adapter"))
            self.set_llm(llm.merge_and_unload())
        self.model.save_pretrained(str(folder))
        self.tokenizer.save_pretrained(str(folder))
        if self.kind == "remote" and self.source_path:
            for src in Path(self.source_path).glob("*.py"):  # trust_remote_code needs them
                if not (folder / src.name).exists():
                    shutil.copy2(src, folder / src.name)
        facts = {
            k: self.settings.get(k)
            for k in ("name", "size", "system_message", "image_size", "max_seq_length", "dtype")
        }
        facts.update(
            kind=self.kind, template=self.template.name, num_image_token=self.num_image_token
        )
        (folder / SETTINGS_FILE).write_text(
            json.dumps(facts, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return folder
