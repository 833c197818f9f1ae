"""Conversation templates: how a caption question and answer are written for each InternVL2.

A fine-tuned model only answers well in the format it was pre-trained with, so the real sizes
use the templates of InternVL2's own fine-tune scripts (1B: Hermes-2, 2B and 26B:
internlm2-chat, 4B: phi3-chat). All three are "MPT style": the system turn, then each turn as
role + message + separator; the prompt ends with the assistant role and the model writes the
caption followed by the separator, which is also its stop token. The tiny model has no chat
pre-training and uses a plain template (question, newline; answer, end-of-sequence token).

Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_PLACEHOLDER = "<image>"
IMG_START = "<img>"
IMG_END = "</img>"
IMG_CONTEXT = "<IMG_CONTEXT>"

INTERNVL2_SYSTEM_MESSAGE = (
    "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
    "是一个有用无害的人工智能助手。"
)
"""The default system message of InternVL2's chat templates (kept: the weights expect it)."""


@dataclass(frozen=True)
class Template:
    """An MPT-style template; `sep` empty means the plain template (answers end with EOS)."""

    name: str
    system_template: str = ""
    system_message: str = ""
    user_role: str = ""
    assistant_role: str = ""
    sep: str = ""

    def prompt(self, question: str, system_message: str | None = None) -> str:
        """Everything before the answer: system turn, user turn, assistant role."""
        if not self.sep:
            return f"{question}\n"
        system = self.system_template.format(
            system_message=self.system_message if system_message is None else system_message
        )
        return f"{system}{self.sep}{self.user_role}{question}{self.sep}{self.assistant_role}"

    def answer(self, caption: str, eos_token: str | None) -> str:
        """The supervised part: the caption and the token that ends it."""
        return f"{caption}{self.sep or eos_token or ''}"

    @property
    def stop(self) -> str | None:
        """The token string that ends an answer (None: the tokenizer's EOS)."""
        return self.sep.strip() or None


def _chatml(name: str) -> Template:
    return Template(
        name,
        "<|im_start|>system\n{system_message}",
        INTERNVL2_SYSTEM_MESSAGE,
        "<|im_start|>user\n",
        "<|im_start|>assistant\n",
        "<|im_end|>",
    )


TEMPLATES: dict[str, Template] = {
    "plain": Template("plain"),
    "Hermes-2": _chatml("Hermes-2"),
    "internlm2-chat": _chatml("internlm2-chat"),
    "phi3-chat": Template(
        "phi3-chat",
        "<|system|>\n{system_message}",
        INTERNVL2_SYSTEM_MESSAGE,
        "<|user|>\n",
        "<|assistant|>\n",
        "<|end|>",
    ),
}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ValueError(
            f"model.template: unknown template {name!r}; expected one of {', '.join(TEMPLATES)}"
        ) from None


def expand_image(question: str, num_image_token: int) -> str:
    """Replace `<image>` by the image's token span (prepended when the question lacks one).

    InternVL feeds one `<IMG_CONTEXT>` per visual token between `<img>` and `</img>`; the model
    swaps their embeddings for the projected vision features.
    """
    if IMAGE_PLACEHOLDER not in question:
        question = f"{IMAGE_PLACEHOLDER}\n{question}"
    span = IMG_START + IMG_CONTEXT * num_image_token + IMG_END
    return question.replace(IMAGE_PLACEHOLDER, span, 1).replace(IMAGE_PLACEHOLDER, "")
