"""Which part of a stat's range to keep, from how models trained on its pools scored.

Pure arithmetic on one stat's pools (ascending in the stat, as `data_pool_construction`
writes them), so each strategy can be tested on constructed scores. A filter keeps one
interval of a stat, so every decision keeps a contiguous run of pools `[first, last]`; the
bounds are the first kept pool's minimum and the last kept pool's maximum, and an end pool
leaves its side open (no bound beyond data that was never seen to hurt).

Strategies:
- `best_pool`: keep only the best pool's range.
- `drop_worst`: cut only the worst pool's range (left alone when it is a middle pool: a
  min/max filter cannot cut out a middle interval).
- `noise_aware`: a pool hurts when it scores more than the noise floor below the best; the
  floor is `min_gain`, or the spread (max - min) of the scores of pools made by random
  splitting (a control trained and evaluated the same way) when larger. Stats whose pools
  all lie within the floor are left alone; otherwise the best pool and its neighbours within
  the floor are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STRATEGIES = ("best_pool", "drop_worst", "noise_aware")


@dataclass(frozen=True)
class Pool:
    """One pool of a stat: its file, its score (None: not scored) and the stat's range in it."""

    path: str
    score: float | None
    low: float
    high: float


def noise_floor(min_gain: float, control_scores: list[float] | None) -> tuple[float, str]:
    """(floor, where it comes from): the larger of `min_gain` and the control's spread."""
    if control_scores:
        spread = max(control_scores) - min(control_scores)
        if spread > min_gain:
            return spread, f"spread of {len(control_scores)} random-partition pools"
    return min_gain, "min_gain"


def _bounds(pools: list[Pool], first: int, last: int) -> tuple[float | None, float | None]:
    low = pools[first].low if first > 0 else None
    high = pools[last].high if last < len(pools) - 1 else None
    return low, high


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def decide(
    pools: list[Pool],
    strategy: str,
    *,
    higher_is_better: bool = True,
    floor: float = 0.0,
) -> dict[str, Any]:
    """{decision: keep|leave, keep: [first, last] pool indices or None, min, max (None: that
    side unchanged), gap (best - worst score), reason}."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: {strategy!r} is not one of {', '.join(STRATEGIES)}")
    n = len(pools)
    leave: dict[str, Any] = {"decision": "leave", "keep": None, "min": None, "max": None}
    if n < 2:
        return {**leave, "gap": None, "reason": "fewer than two pools: nothing to compare"}
    unscored = [i for i, p in enumerate(pools) if p.score is None]
    if unscored:
        return {**leave, "gap": None, "reason": f"pool(s) {unscored} have no score"}
    sign = 1.0 if higher_is_better else -1.0
    good = [sign * float(p.score) for p in pools]  # type: ignore[arg-type]
    best = max(range(n), key=lambda i: (good[i], -i))  # ties: the lower pool
    worst = min(range(n), key=lambda i: (good[i], i))
    gap = good[best] - good[worst]
    if gap == 0:
        return {**leave, "gap": 0.0, "reason": "every pool scored the same"}
    if strategy == "best_pool":
        first = last = best
        reason = f"pool {best} scored best ({_fmt(pools[best].score)})"  # type: ignore[arg-type]
    elif strategy == "drop_worst":
        if 0 < worst < n - 1:
            return {
                **leave,
                "gap": gap,
                "reason": f"the worst pool ({worst}) is a middle one: a min/max filter "
                "cannot cut out a middle range",
            }
        first, last = (1, n - 1) if worst == 0 else (0, n - 2)
        reason = f"pool {worst} scored worst ({_fmt(pools[worst].score)}): its range is cut"  # type: ignore[arg-type]
    else:
        if gap <= floor:
            return {
                **leave,
                "gap": gap,
                "reason": f"best - worst = {_fmt(gap)} is within the noise floor {_fmt(floor)}",
            }
        first = last = best
        while first > 0 and good[best] - good[first - 1] <= floor:
            first -= 1
        while last < n - 1 and good[best] - good[last + 1] <= floor:
            last += 1
        cut = [i for i in range(n) if not first <= i <= last]
        reason = (
            f"kept pools {first}-{last} (the best, pool {best} at "
            f"{_fmt(pools[best].score)}, and its neighbours within the noise floor "  # type: ignore[arg-type]
            f"{_fmt(floor)}); cut {cut}"
        )
    low, high = _bounds(pools, first, last)
    return {
        "decision": "keep",
        "keep": [first, last],
        "min": low,
        "max": high,
        "gap": gap,
        "reason": reason,
    }
