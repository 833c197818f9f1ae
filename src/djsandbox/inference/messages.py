"""How a dataset row becomes chat messages, and how a model's reply becomes the stored result.

Inference executors pick both functions by name (`build_messages_fn`, `parse_output_fn`) so a
config can switch prompt formats without code. The names are the reference DJ-Sandbox's
(`build_input`, `build_messages`, `parse_output`); users add their own with
`register_build_messages` / `register_parse_output` (from a plugin), or name any function as
"package.module:function". Stdlib only: validation looks names up without importing torch.

A build function is `fn(row, **settings) -> messages` where messages is a list of
`{"role", "content"}` dicts, or a list of such lists to ask several questions about one row
(the row's result is then the list of answers). A parse function is
`fn(output_text, row, **settings) -> result`. `settings` holds `func_kwargs` plus the executor's
`prompt_key`, `text_key` and `system_prompt` when set; functions ignore what they do not use.
The reference's `func_kwargs` name row fields: `system_key` (the system prompt, e.g. a prompt
being optimised), `query_key` (the user text) and `response_key` (an answer to grade).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
from typing import Any, Callable

Messages = list[dict[str, str]]
BuildFn = Callable[..., "Messages | list[Messages]"]
ParseFn = Callable[..., Any]

BUILD_MESSAGES: dict[str, BuildFn] = {}
PARSE_OUTPUT: dict[str, ParseFn] = {}

DEFAULT_BUILD = "build_input"
DEFAULT_PARSE = "parse_output"
# Keys tried, in order, when the config names no prompt_key/text_key.
PROMPT_KEYS = ("prompt", "query", "text", "question", "instruction")
QUESTION_KEYS = ("question", "problem", "query", "prompt", "text")
MATH_SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."


def register_build_messages(name: str) -> Callable[[BuildFn], BuildFn]:
    """Decorator adding a message builder under `name` (a duplicate name is an error)."""
    return _register(BUILD_MESSAGES, name, "build_messages_fn")


def register_parse_output(name: str) -> Callable[[ParseFn], ParseFn]:
    """Decorator adding an output parser under `name` (a duplicate name is an error)."""
    return _register(PARSE_OUTPUT, name, "parse_output_fn")


def _register(table: dict[str, Any], name: str, key: str) -> Callable[[Any], Any]:
    def decorate(fn: Any) -> Any:
        if name in table and table[name] is not fn:
            raise ValueError(f"{key}: '{name}' is already registered")
        table[name] = fn
        return fn

    return decorate


def name_problem(name: Any, key: str) -> str | None:
    """Why `name` cannot be resolved, cheaply (no import of user modules), or None."""
    table = BUILD_MESSAGES if key.startswith("build") else PARSE_OUTPUT
    if not isinstance(name, str) or not name:
        return f"{key}: expected a function name, got {name!r}; valid: {', '.join(sorted(table))}"
    if name in table:
        return None
    if ":" in name:
        module = name.partition(":")[0]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        return None if found else f"{key}: module {module!r} of {name!r} cannot be found"
    return (
        f"{key}: unknown function {name!r}; valid: {', '.join(sorted(table))} "
        f"(or 'package.module:function')"
    )


def resolve(name: Any, key: str) -> Callable[..., Any]:
    """The function a config names under `key`; a clear ValueError when there is none."""
    problem = name_problem(name, key)
    if problem:
        raise ValueError(problem)
    table = BUILD_MESSAGES if key.startswith("build") else PARSE_OUTPUT
    if name in table:
        return table[name]
    module, _, attr = name.partition(":")
    fn = getattr(importlib.import_module(module), attr, None)
    if not callable(fn):
        raise ValueError(f"{key}: {module!r} has no function {attr!r}")
    return fn


def row_text(row: dict[str, Any], settings: dict[str, Any], fallbacks: tuple[str, ...]) -> str:
    """The row's text under `prompt_key`/`text_key`, else the first fallback key present."""
    for key in ("prompt_key", "text_key"):
        if settings.get(key):
            name = settings[key]
            if name not in row:
                raise ValueError(f"{key}: row has no key {name!r}; it has {sorted(row)}")
            return str(row[name])
    for name in fallbacks:
        if name in row:
            return str(row[name])
    raise ValueError(
        f"prompt_key: not set and the row has none of {list(fallbacks)}; it has {sorted(row)}"
    )


def _field(row: dict[str, Any], settings: dict[str, Any], key: str) -> str | None:
    """The row's value under the field named by `settings[key]` (e.g. `system_key: prompt`),
    None when the setting is absent; a named field the row lacks is an error."""
    name = settings.get(key)
    if not name:
        return None
    if name not in row:
        raise ValueError(f"func_kwargs.{key}: row has no key {name!r}; it has {sorted(row)}")
    return str(row[name])


def _system(row: dict[str, Any], settings: dict[str, Any], default: str | None) -> str | None:
    """`system_prompt` (config), else the row's field named by `system_key` (the reference's
    func_kwargs, e.g. the prompt being optimised), else the row's `system`, else `default`."""
    return (
        settings.get("system_prompt")
        or _field(row, settings, "system_key")
        or row.get("system")
        or default
    )


@register_build_messages("build_input")
def build_input(row: dict[str, Any], **settings: Any) -> Messages:
    """A single user turn with the row's text (`query_key`, `prompt_key`/`text_key`, or the
    first of the usual names), after the system prompt when there is one (see `_system`)."""
    messages: Messages = []
    system = _system(row, settings, None)
    if system:
        messages.append({"role": "system", "content": str(system)})
    query = _field(row, settings, "query_key") or row_text(row, settings, PROMPT_KEYS)
    messages.append({"role": "user", "content": query})
    return messages


# The reference's other name for the same builder (its rows carry `query` and `system`).
register_build_messages("build_messages")(build_input)


@register_build_messages("build_messages_for_math_qa")
def build_messages_for_math_qa(row: dict[str, Any], **settings: Any) -> Messages:
    """A math question for a solver (step-by-step reasoning, final answer in \\boxed{}), or,
    with `response_key` set as in the reference's grader configs, a question and its answer
    to grade ("Question: ...\\nAnswer: ...") under the row's prompt named by `system_key`."""
    question = _field(row, settings, "query_key") or row_text(row, settings, QUESTION_KEYS)
    answer = _field(row, settings, "response_key")
    if answer is None:
        system = _system(row, settings, MATH_SYSTEM_PROMPT)
        return [
            {"role": "system", "content": str(system)},
            {"role": "user", "content": question},
        ]
    messages: Messages = []
    system = _system(row, settings, None)
    if system:
        messages.append({"role": "system", "content": str(system)})
    messages.append({"role": "user", "content": f"Question: {question}\nAnswer: {answer}"})
    return messages


@register_parse_output("parse_output")
def parse_output(output: str, row: dict[str, Any], **settings: Any) -> str:
    """The model's text, stripped of surrounding whitespace."""
    return output.strip()


_BOXED = re.compile(r"\\boxed\{")


@register_parse_output("extract_boxed_answer")
def extract_boxed_answer(output: str, row: dict[str, Any], **settings: Any) -> str | None:
    """The content of the last \\boxed{...} (braces balanced), or None when there is none."""
    starts = [m.end() for m in _BOXED.finditer(output)]
    if not starts:
        return None
    start, depth = starts[-1], 1
    for i in range(start, len(output)):
        depth += {"{": 1, "}": -1}.get(output[i], 0)
        if depth == 0:
            return output[start:i].strip()
    return None
