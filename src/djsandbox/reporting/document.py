"""The document model of every report: blocks rendered to Markdown and to self-contained HTML.

One model, two renderings, so the HTML never drifts from the Markdown; run and sweep reports
both write through `Doc`. `fmt` is how a document writes a value, `number` which values it can
plot. Figures use matplotlib's object API (`matplotlib.figure.Figure`, imported lazily): no
global pyplot state and no backend switch, so reports are safe from any thread or process.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import logging
import math
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

log = logging.getLogger("djsandbox.report")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Doc:
    """Blocks of a report; one model, two renderings, so the HTML never drifts from the Markdown.

    `section()` guards a part of the report: if anything inside raises, the blocks it added
    are dropped and a warning is logged, so one broken plot never costs the whole report.
    """

    def __init__(self, out_dir: Path, title: str) -> None:
        self.out_dir = Path(out_dir)
        self.fig_dir = self.out_dir / "figures"
        self.title = title
        self.blocks: list[tuple[str, Any]] = []
        self.skipped: list[str] = []
        for old in self.fig_dir.glob("*.png"):  # a rebuilt report must not keep stale figures
            with contextlib.suppress(OSError):
                old.unlink()

    def build(self, sections: Sequence[Any], *args: Any) -> None:
        """Run each `section(doc, *args)`; a section that raises is logged and left out, and
        the report says which parts are missing."""
        for section in sections:
            try:
                section(self, *args)
            except Exception as exc:  # noqa: BLE001 - sections guard themselves; belt and braces
                log.warning("%s: %s failed: %s", self.title, section.__name__, exc)
        if self.skipped:
            self.heading("Left out", 2)
            self.para(
                "These sections could not be built (see the log for why): "
                + ", ".join(self.skipped)
            )

    # -- blocks -----------------------------------------------------------------------------
    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("h", (level, text)))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: Sequence[str]) -> None:
        if items:
            self.blocks.append(("ul", list(items)))

    def code(self, text: str) -> None:
        self.blocks.append(("pre", text))

    def table(self, rows: Sequence[dict[str, Any]], cols: Sequence[str] | None = None) -> None:
        if not rows:
            return
        if cols is None:
            cols = []
            for row in rows:
                cols += [c for c in row if c not in cols]
        self.blocks.append(("table", (list(cols), [dict(r) for r in rows])))

    def figure(
        self,
        name: str,
        draw: Callable[[Any], None],
        caption: str = "",
        size: tuple[float, float] = (8.0, 4.5),
    ) -> bool:
        """Draw into a fresh Figure and save `figures/<name>.png`; referenced only if the file
        was written and is a real PNG. Returns whether the figure made it into the report."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=size, dpi=100)
        try:
            draw(fig)
            self.fig_dir.mkdir(parents=True, exist_ok=True)
            path = self.fig_dir / f"{_slug(name)}.png"
            fig.savefig(path, format="png", bbox_inches="tight")
        except Exception as exc:  # noqa: BLE001 - a plot must never break the report
            log.warning("report: figure %r left out: %s: %s", name, type(exc).__name__, exc)
            return False
        finally:
            fig.clear()
        if not _is_png(path):
            log.warning("report: figure %r was not written as a PNG; left out", name)
            return False
        self.blocks.append(("img", (path, caption or name)))
        return True

    @contextlib.contextmanager
    def section(self, title: str, level: int = 2) -> Iterator[None]:
        start = len(self.blocks)
        self.heading(title, level)
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - leave the section out, keep the report
            del self.blocks[start:]
            self.skipped.append(title)
            log.warning(
                "report: section %r left out: %s: %s",
                title,
                type(exc).__name__,
                exc,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
        else:
            if len(self.blocks) == start + 1:  # nothing to say: drop the bare heading
                del self.blocks[start:]

    # -- rendering --------------------------------------------------------------------------
    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "h":
                level, text = value
                out += ["#" * level + " " + text, ""]
            elif kind == "p":
                out += [value, ""]
            elif kind == "ul":
                out += [f"- {item}" for item in value] + [""]
            elif kind == "pre":
                out += ["```", value.rstrip("\n"), "```", ""]
            elif kind == "table":
                cols, rows = value
                out.append("| " + " | ".join(_md_cell(c) for c in cols) + " |")
                out.append("|" + "|".join("---" for _ in cols) + "|")
                out += [
                    "| " + " | ".join(_md_cell(fmt(r.get(c))) for c in cols) + " |" for r in rows
                ]
                out.append("")
            elif kind == "img":
                path, caption = value
                rel = path.relative_to(self.out_dir).as_posix()
                out += [f"![{caption}]({rel})", ""]
        return "\n".join(out).rstrip() + "\n"

    def html(self) -> str:
        esc = html.escape
        body = [f"<h1>{esc(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "h":
                level, text = value
                body.append(f"<h{level}>{esc(text)}</h{level}>")
            elif kind == "p":
                body.append(f"<p>{_inline_code(esc(value))}</p>")
            elif kind == "ul":
                body.append(
                    "<ul>" + "".join(f"<li>{_inline_code(esc(i))}</li>" for i in value) + "</ul>"
                )
            elif kind == "pre":
                body.append(f"<pre>{esc(value)}</pre>")
            elif kind == "table":
                cols, rows = value
                head = "".join(f"<th>{esc(str(c))}</th>" for c in cols)
                trs = "".join(
                    "<tr>" + "".join(f"<td>{esc(fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
                    for r in rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>")
            elif kind == "img":
                path, caption = value
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                body.append(
                    f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,'
                    f'{data}"><figcaption>{esc(caption)}</figcaption></figure>'
                )
        style = (
            "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;margin:1em 0;font-size:90%}"
            "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
            "th{background:#f3f3f3}img{max-width:100%}pre{background:#f6f6f6;padding:8px;"
            "overflow-x:auto}figcaption{color:#555;font-size:90%}"
        )
        return (
            f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{esc(self.title)}"
            f"</title><style>{style}</style></head><body>\n"
            + "\n".join(body)
            + "\n</body></html>\n"
        )

    def write(self, html_too: bool = True) -> Path:
        from ..atomic import atomic_write_text

        self.out_dir.mkdir(parents=True, exist_ok=True)
        md = self.out_dir / "report.md"
        atomic_write_text(md, self.markdown())
        if html_too:
            try:
                atomic_write_text(self.out_dir / "report.html", self.html())
            except Exception as exc:  # noqa: BLE001
                log.warning("report: report.html not written: %s", exc)
        return md

    def save(self, html_too: bool, what: str) -> Path:
        """`write`, but a failure is a warning naming `what` (a report must never break the
        run); returns where report.md is, or would be."""
        try:
            return self.write(html_too)
        except Exception as exc:  # noqa: BLE001 - a report must never break the run
            log.warning("%s: could not write %s: %s", what, self.out_dir, exc)
            return self.out_dir / "report.md"


def _is_png(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == PNG_MAGIC
    except OSError:
        return False


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:120] or "figure"


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _inline_code(escaped: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def fmt(value: Any) -> str:
    """A value as a report cell: floats to about four significant digits, containers as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.4g}"
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def number(value: Any) -> float | None:
    """A finite number as a float (for plots and metrics); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
