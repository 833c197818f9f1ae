"""GeneralDataExecutor components: format converters between InternVL/LLaVA captions,
Data-Juicer's multimodal format and EasyAnimate's video dataset format.

Type names, config keys and output names are the reference DJ-Sandbox's
(``specific_hooks/intervl_coco_captioning`` and ``specific_hooks/text_to_video``), so its
configs run unchanged: ``dataset_path`` (one path or a list), ``export_path`` (a folder; here it
defaults to the job folder), one output per input named ``<stem>_dj_fmt.jsonl``,
``<stem>_meta.json`` or ``<stem>_ea_fmt.json``, and the result is the list of output paths.

Deviations, each so that a mistake fails loudly rather than training on the wrong data:

- a missing input, a row without the needed key, or two inputs that would write the same
  output name is a ``ValueError`` naming file, row and key (the reference skips missing inputs
  and crashes with a bare ``KeyError``); no output file is written unless every one succeeds;
- ``coco_caption_to_dj_conversion`` also converts back (``convert_to: internvl``), so that the
  result of Data-Juicer processing can be trained on; see :func:`run_coco_caption_to_dj`;
- ``coco_caption_meta_generation`` takes ``root``, ``data_augment`` and ``repeat_time`` from
  the config (the reference hard-codes ``data/coco/``, ``false`` and ``1``) and writes an
  absolute ``annotation`` when no ``data_root_path`` is given (the reference writes it relative
  to the current directory);
- ``dj_to_easyanimate_video_dataset_conversion`` reads JSONL as well as a JSON array (the
  reference only the latter, while Data-Juicer exports JSONL), adds ``"type": "video"``
  (newer EasyAnimate datasets treat an entry without it as an image), also strips the
  chunk-end token, and splits a row with several videos into one entry per chunk instead of
  silently keeping only the first video.

Module imports are stdlib only: validation imports this module to run the checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

from ..registry import ComponentSpec

COCO_TO_DJ = "coco_caption_to_dj_conversion"
META = "coco_caption_meta_generation"
DJ_TO_EASYANIMATE = "dj_to_easyanimate_video_dataset_conversion"

DEFAULT_CAPTION_PROMPT = "<image>\nProvide a one-sentence caption for the provided image."
"""Human turn written by the reverse conversion when a row has no conversation to keep
(InternVL's COCO-caption fine-tuning prompt)."""

INTERNVL_IMAGE_TOKEN = "<image>"

_PATH_KEYS = ("dataset_path", "export_path")

# Each returns one result: the list of output paths, one per input, in input order.
SPECS = (
    ComponentSpec("GeneralDataExecutor", COCO_TO_DJ, f"{__name__}:run_coco_caption_to_dj",
                  "InternVL/LLaVA caption JSONL <-> Data-Juicer format (convert_to: dj | internvl)",
                  keys=_PATH_KEYS + ("convert_to", "image_root", "prompt"),
                  required=("dataset_path",), check=f"{__name__}:check_coco_caption_to_dj"),
    ComponentSpec("GeneralDataExecutor", META, f"{__name__}:run_coco_caption_meta",
                  "InternVL training meta JSON for caption datasets",
                  keys=_PATH_KEYS + ("data_root_path", "root", "data_augment", "repeat_time"),
                  required=("dataset_path",), check=f"{__name__}:check_coco_caption_meta"),
    ComponentSpec("GeneralDataExecutor", DJ_TO_EASYANIMATE, f"{__name__}:run_dj_to_easyanimate",
                  "Data-Juicer video rows -> EasyAnimate JSON",
                  keys=_PATH_KEYS + ("text_key", "video_key"),
                  required=("dataset_path",), check=f"{__name__}:check_dj_to_easyanimate"),
)


# --------------------------------------------------------------------------- shared helpers


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig"


def _is_mapping(value: Any) -> bool:
    return isinstance(value, dict) or type(value).__name__ == "DictConfig"


def _leaves(value: Any) -> list[Any]:
    """The paths of a nested structure (e.g. pools grouped per stat), in a stable order."""
    if _is_mapping(value):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if _is_list(value):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _rebuild(shape: Any, leaves: Iterator[Any]) -> Any:
    """`shape` with its leaves replaced, in `_leaves` order."""
    if _is_mapping(shape):
        return {k: _rebuild(v, leaves) for k, v in shape.items()}
    if _is_list(shape):
        return [_rebuild(v, leaves) for v in shape]
    return next(leaves)


def _keeps_shape(run: Callable[[dict[str, Any], Path], list[str]]
                 ) -> Callable[[dict[str, Any], Path], Any]:
    """Let a converter take pools grouped per stat ({stat: [paths]}, nested lists) and return
    its outputs in the same shape, so later jobs stay aligned with the pools."""

    def wrapper(cfg: dict[str, Any], out_dir: Path) -> Any:
        value = cfg.get("dataset_path")
        nested = _is_mapping(value) or (_is_list(value) and any(
            _is_list(v) or _is_mapping(v) for v in value))
        if not nested:
            return run(cfg, out_dir)
        outputs = run({**cfg, "dataset_path": _leaves(value)}, out_dir)
        return _rebuild(value, iter(outputs))

    wrapper.__doc__ = run.__doc__
    wrapper.__name__ = run.__name__
    return wrapper


def _check_paths(cfg: dict[str, Any], required: bool = True) -> list[str]:
    """Checks of ``dataset_path`` and ``export_path`` as far as the config alone tells."""
    problems = []
    value = cfg.get("dataset_path")
    if _is_mapping(value) or (_is_list(value) and any(_is_list(v) or _is_mapping(v)
                                                      for v in value)):
        value = _leaves(value)
    if value is None:
        if required:
            problems.append("dataset_path: missing; expected a dataset path or a list of paths")
    elif isinstance(value, str):
        if not value:
            problems.append("dataset_path: empty; expected a dataset path or a list of paths")
    elif _is_list(value):
        if len(value) == 0:
            problems.append("dataset_path: empty list; expected at least one dataset path")
        for i, p in enumerate(value):
            if not isinstance(p, str) or not p:
                problems.append(f"dataset_path: item {i} is {p!r}; expected a non-empty path")
    else:
        problems.append(f"dataset_path: got {type(value).__name__}; expected a path or a list of paths")
    export = cfg.get("export_path")
    if export is not None and (not isinstance(export, str) or not export):
        problems.append(f"export_path: got {export!r}; expected a folder path")
    return problems


def _input_paths(cfg: dict[str, Any]) -> list[Path]:
    problems = _check_paths(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    value = cfg["dataset_path"]
    paths = [Path(value)] if isinstance(value, str) else [Path(p) for p in value]
    for p in paths:
        if not p.is_file():
            raise ValueError(f"dataset_path: file {str(p)!r} does not exist")
    return paths


def _export_dir(cfg: dict[str, Any], out_dir: Path) -> Path:
    export = cfg.get("export_path")
    folder = Path(export) if export else Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"export_path: {str(folder)!r} is a file; expected a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _output_paths(inputs: list[Path], folder: Path, name: Callable[[Path], str]) -> list[Path]:
    """One output per input; two inputs with the same stem would overwrite each other."""
    outputs = [folder / name(p) for p in inputs]
    seen: dict[Path, Path] = {}
    for src, dst in zip(inputs, outputs):
        if dst in seen:
            raise ValueError(f"dataset_path: {str(seen[dst])!r} and {str(src)!r} would both be "
                             f"written to {str(dst)!r}; give the inputs different file names")
        if dst.resolve() == src.resolve():
            raise ValueError(f"export_path: output {str(dst)!r} would overwrite its input")
        seen[dst] = src
    return outputs


@contextlib.contextmanager
def _atomic_outputs(paths: list[Path]) -> Iterator[list[Any]]:
    """Text handles on temporary files beside ``paths``; all are moved into place only when
    the block succeeds, and all removed otherwise, so a failed job leaves no partial output."""
    handles: list[Any] = []
    temps: list[str] = []
    try:
        for p in paths:
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
            temps.append(tmp)
            handles.append(os.fdopen(fd, "w", encoding="utf-8"))
        yield handles
        for h in handles:
            h.flush()
            os.fsync(h.fileno())
            h.close()
        mask = os.umask(0)
        os.umask(mask)
        for tmp, p in zip(temps, paths):
            os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600
            os.replace(tmp, p)
    except BaseException:
        for h in handles:
            h.close()
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def _dump(row: Any) -> str:
    return json.dumps(row, ensure_ascii=False)


def _special_tokens() -> Any:
    """Data-Juicer's special tokens, read at run time so they always match its operators."""
    from data_juicer.utils.mm_utils import SpecialTokens

    return SpecialTokens


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, row) of a JSONL file or a JSON array file; ``where`` names file and row."""
    from .jsonl import numbered_rows

    with open(path, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc.msg})") from None
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ValueError(f"{path}: item {i} is {type(row).__name__}, not a JSON object")
            yield f"{path}: item {i}", row
        return
    for lineno, row in numbered_rows(path):
        yield f"{path}: line {lineno}", row


# ------------------------------------------------------------ coco_caption_to_dj_conversion

_DIRECTIONS = ("dj", "internvl")


def check_coco_caption_to_dj(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``coco_caption_to_dj_conversion`` config known before the run."""
    problems = _check_paths(cfg)
    direction = cfg.get("convert_to", "dj")
    if direction not in _DIRECTIONS:
        problems.append(f"convert_to: got {direction!r}; expected one of {', '.join(_DIRECTIONS)}")
    root = cfg.get("image_root")
    if root is not None and (not isinstance(root, str) or not root):
        problems.append(f"image_root: got {root!r}; expected the folder image paths are relative to")
    prompt = cfg.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or INTERNVL_IMAGE_TOKEN not in prompt):
        problems.append(f"prompt: got {prompt!r}; expected a human turn containing "
                        f"{INTERNVL_IMAGE_TOKEN!r}")
    return problems


def _caption_of(row: dict[str, Any], where: str) -> str:
    conv = row.get("conversations")
    if not _is_list(conv):
        got = "missing" if conv is None else type(conv).__name__
        raise ValueError(f"{where}: key 'conversations' is {got}; expected a list of turns "
                         "[{from: human, ...}, {from: gpt, value: caption}]")
    answers = [t for t in conv if isinstance(t, dict) and t.get("from") == "gpt"]
    if len(answers) != 1 or not isinstance(answers[0].get("value"), str):
        raise ValueError(f"{where}: key 'conversations' has {len(answers)} gpt turns with a text "
                         "'value'; a caption row needs exactly one")
    return answers[0]["value"]


def _to_dj(row: dict[str, Any], where: str, token: str, image_root: str | None) -> dict[str, Any]:
    image = row.get("image")
    if not isinstance(image, str) or not image:
        raise ValueError(f"{where}: key 'image' is {image!r}; expected an image path")
    caption = _caption_of(row, where)
    out = dict(row)
    out["images"] = [os.path.join(image_root, image) if image_root else image]
    out["text"] = f"{token} {caption}"
    return out


def _strip_tokens(text: str, tokens: tuple[str, ...]) -> str:
    for t in tokens:
        text = text.replace(t, "")
    return text.strip()


def _to_internvl(row: dict[str, Any], where: str, tokens: Any, image_root: str | None,
                 prompt: str) -> dict[str, Any]:
    images, text = row.get("images"), row.get("text")
    if not _is_list(images) or len(images) != 1 or not isinstance(images[0], str):
        raise ValueError(f"{where}: key 'images' is {images!r}; expected a list of exactly one "
                         "image path (InternVL caption rows hold one image)")
    if not isinstance(text, str):
        got = "missing" if text is None else type(text).__name__
        raise ValueError(f"{where}: key 'text' is {got}; expected the caption with Data-Juicer's "
                         "image token")
    lead = f"{tokens.image} "
    if text.startswith(lead) and tokens.image not in text[len(lead):] and tokens.eoc not in text:
        caption = text[len(lead):]  # exactly what the forward direction wrote
    else:
        caption = _strip_tokens(text, (tokens.image, tokens.eoc))
    image = images[0]
    if image_root:
        image = os.path.relpath(image, image_root)
    out = {k: v for k, v in row.items() if k not in ("images", "text")}
    out["image"] = image
    conv = row.get("conversations")
    if _is_list(conv) and any(isinstance(t, dict) and t.get("from") == "gpt" for t in conv):
        _caption_of(row, where)  # same validation as the forward direction
        out["conversations"] = [dict(t, value=caption) if isinstance(t, dict) and t.get("from") == "gpt"
                                else t for t in conv]
    else:
        out["conversations"] = [{"from": "human", "value": prompt}, {"from": "gpt", "value": caption}]
    return out


@_keeps_shape
def run_coco_caption_to_dj(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Convert InternVL/LLaVA caption JSONL to Data-Juicer's format, or back.

    ``convert_to: dj`` (default, the reference's only direction): every field is kept and two
    are added, ``images: [image]`` and ``text: "<__dj__image> <caption>"`` (the caption is the
    gpt turn of ``conversations``); output ``<stem>_dj_fmt.jsonl``.

    ``convert_to: internvl``: ``image`` from the one entry of ``images`` and the caption from
    ``text`` without Data-Juicer's tokens, written into the row's gpt turn (its human turn is
    kept; a row without conversations gets ``prompt``); ``images`` and ``text`` are dropped, so
    captions -> DJ -> captions gives back the original rows. Output ``<stem>_internvl_fmt.jsonl``.

    ``image_root`` (optional): InternVL image paths are relative to the meta file's ``root``,
    while Data-Juicer resolves ``images`` itself; with ``image_root``, ``images`` holds
    ``image_root/image`` and the reverse makes it relative again. Without it paths are copied
    as they are (the reference's behaviour).
    """
    problems = check_coco_caption_to_dj(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = _input_paths(cfg)
    direction = cfg.get("convert_to", "dj")
    image_root = cfg.get("image_root")
    prompt = cfg.get("prompt") or DEFAULT_CAPTION_PROMPT
    suffix = "_dj_fmt.jsonl" if direction == "dj" else "_internvl_fmt.jsonl"
    outputs = _output_paths(inputs, _export_dir(cfg, out_dir), lambda p: p.stem + suffix)
    tokens = _special_tokens()
    from .jsonl import numbered_rows

    with _atomic_outputs(outputs) as handles:
        for src, fh in zip(inputs, handles):
            n = 0
            for lineno, row in numbered_rows(src):
                where = f"{src}: line {lineno}"
                if direction == "dj":
                    new = _to_dj(row, where, tokens.image, image_root)
                else:
                    new = _to_internvl(row, where, tokens, image_root, prompt)
                fh.write(_dump(new) + "\n")
                n += 1
            if n == 0:
                raise ValueError(f"dataset_path: {str(src)!r} has no rows")
    return [str(p) for p in outputs]


# ------------------------------------------------------------ coco_caption_meta_generation


def check_coco_caption_meta(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``coco_caption_meta_generation`` config known before the run."""
    problems = _check_paths(cfg)
    for key in ("data_root_path", "root"):
        v = cfg.get(key)
        if v is not None and (not isinstance(v, str) or not v):
            problems.append(f"{key}: got {v!r}; expected a folder path")
    aug = cfg.get("data_augment")
    if aug is not None and not isinstance(aug, bool):
        problems.append(f"data_augment: got {aug!r}; expected true or false")
    rep = cfg.get("repeat_time")
    if rep is not None and (isinstance(rep, bool) or not isinstance(rep, (int, float)) or rep <= 0):
        problems.append(f"repeat_time: got {rep!r}; expected a positive number")
    return problems


@_keeps_shape
def run_coco_caption_meta(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Write InternVL's training meta file for each caption dataset.

    ``<stem>_meta.json`` holds ``{<stem>: {root, annotation, data_augment, repeat_time,
    length}}`` (InternVL's ``shell/data/coco_caption.json`` layout): ``annotation`` is the
    dataset path relative to ``data_root_path`` (absolute when that is not given), ``length``
    its row count (every row is parsed, so a broken file fails here rather than in training),
    ``root`` (default ``data/coco/``) where InternVL resolves the rows' image paths.
    """
    problems = check_coco_caption_meta(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = _input_paths(cfg)
    outputs = _output_paths(inputs, _export_dir(cfg, out_dir), lambda p: f"{p.stem}_meta.json")
    data_root = cfg.get("data_root_path")
    from .jsonl import numbered_rows

    metas = []
    for src in inputs:
        length = sum(1 for _ in numbered_rows(src))
        if length == 0:
            raise ValueError(f"dataset_path: {str(src)!r} has no rows; InternVL cannot train on it")
        # abspath, not resolve(): a symlinked data root must stay in the path InternVL sees
        annotation = os.path.relpath(os.path.abspath(src), os.path.abspath(data_root)) if data_root \
            else os.path.abspath(src)
        metas.append({src.stem: {
            "root": cfg.get("root", "data/coco/"),
            "annotation": annotation,
            "data_augment": bool(cfg.get("data_augment", False)),
            "repeat_time": cfg.get("repeat_time", 1),
            "length": length,
        }})
    with _atomic_outputs(outputs) as handles:
        for meta, fh in zip(metas, handles):
            json.dump(meta, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    return [str(p) for p in outputs]


# ------------------------------------------------- dj_to_easyanimate_video_dataset_conversion


def check_dj_to_easyanimate(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``dj_to_easyanimate_video_dataset_conversion`` config."""
    problems = _check_paths(cfg)
    for key in ("text_key", "video_key"):
        v = cfg.get(key)
        if v is not None and (not isinstance(v, str) or not v):
            problems.append(f"{key}: got {v!r}; expected a field name")
    return problems


def _easyanimate_entries(row: dict[str, Any], where: str, tokens: Any, text_key: str,
                         video_key: str) -> list[dict[str, Any]]:
    videos, text = row.get(video_key), row.get(text_key)
    if not _is_list(videos) or not all(isinstance(v, str) and v for v in videos):
        raise ValueError(f"{where}: key {video_key!r} is {videos!r}; expected a list of video paths")
    if not isinstance(text, str):
        got = "missing" if text is None else type(text).__name__
        raise ValueError(f"{where}: key {text_key!r} is {got}; expected the caption text")
    if len(videos) == 0:
        return []  # as the reference: a row without a video has nothing to train on
    if len(videos) == 1:
        captions = [_strip_tokens(text, (tokens.video, tokens.eoc))]
    else:
        chunks = [c for c in text.split(tokens.eoc) if c.strip()]
        if len(chunks) != len(videos) or any(c.count(tokens.video) != 1 for c in chunks):
            raise ValueError(f"{where}: key {video_key!r} holds {len(videos)} videos but {text_key!r} "
                             f"is not {len(videos)} chunks of one {tokens.video} each (ended by "
                             f"{tokens.eoc}); cannot tell which caption belongs to which video")
        captions = [_strip_tokens(c, (tokens.video,)) for c in chunks]
    out = []
    for video, caption in zip(videos, captions):
        entry = dict(row)
        entry[text_key] = caption
        entry["text"] = caption
        entry["file_path"] = video
        entry["type"] = "video"
        out.append(entry)
    return out


@_keeps_shape
def run_dj_to_easyanimate(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Convert Data-Juicer video rows to EasyAnimate's training JSON (a JSON array).

    Each row ``{videos: [v], text: "<__dj__video> caption"}`` becomes ``{file_path: v, text:
    "caption", type: "video", ...}`` with its other fields kept (as the reference); rows without
    videos are skipped (as the reference). Output ``<stem>_ea_fmt.json``. ``text_key`` and
    ``video_key`` (default ``text``/``videos``) name the source fields; EasyAnimate always
    reads ``text``.
    """
    problems = check_dj_to_easyanimate(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = _input_paths(cfg)
    outputs = _output_paths(inputs, _export_dir(cfg, out_dir), lambda p: f"{p.stem}_ea_fmt.json")
    text_key, video_key = cfg.get("text_key", "text"), cfg.get("video_key", "videos")
    tokens = _special_tokens()

    with _atomic_outputs(outputs) as handles:
        for src, fh in zip(inputs, handles):
            n = 0
            fh.write("[")
            for where, row in _rows(src):
                for entry in _easyanimate_entries(row, where, tokens, text_key, video_key):
                    fh.write(("\n" if n == 0 else ",\n") + _dump(entry))
                    n += 1
            fh.write("\n]\n")
            if n == 0:
                raise ValueError(f"dataset_path: {str(src)!r} has no row with a video in "
                                 f"{video_key!r}; EasyAnimate would get an empty dataset")
    return [str(p) for p in outputs]
