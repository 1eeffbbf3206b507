"""Pure arithmetic of the benchmarks: latency summaries, rates over a window, ratios, and the
top functions of a py-spy profile. No I/O, so tests/unit/test_bench_math.py can check it."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any


def percentile(values: Iterable[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1) by the nearest-rank method; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be within [0, 1], not {q}")
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def summarize_ms(seconds: Iterable[float]) -> dict[str, float | int]:
    """count, p50, p90, p99, max and mean of durations given in seconds, in milliseconds."""
    values = list(seconds)
    if not values:
        return {"count": 0}
    ms = [v * 1000.0 for v in values]
    return {
        "count": len(ms),
        "p50": round(percentile(ms, 0.50), 1),
        "p90": round(percentile(ms, 0.90), 1),
        "p99": round(percentile(ms, 0.99), 1),
        "max": round(max(ms), 1),
        "mean": round(sum(ms) / len(ms), 1),
    }


def rate_in_window(times: Iterable[float], start: float, end: float) -> float:
    """Events per second among `times` that fall within [start, end)."""
    if end <= start:
        raise ValueError("the window must end after it starts")
    return sum(1 for t in times if start <= t < end) / (end - start)


def steady_window(start: float, end: float, skip_share: float = 0.2) -> tuple[float, float]:
    """The window [start, end) without its first `skip_share`: the ramp-up is left out."""
    if not 0.0 <= skip_share < 1.0:
        raise ValueError("skip_share must be within [0, 1)")
    return start + (end - start) * skip_share, end


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline to 3 significant digits; None when either is missing, NaN or the
    baseline is 0."""
    if value is None or baseline is None or math.isnan(value) or math.isnan(baseline):
        return None
    if baseline == 0:
        return None
    return float(f"{value / baseline:.3g}")


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::\d+)?\)$")
_ROOTS = ("site-packages/", "/src/", "/lib/python3.11/", "/lib/python3.12/", "/lib/python3.13/")


def frame_name(frame: str) -> tuple[str, str]:
    """A py-spy frame `func (pkg/mod.py:42)` as (`func (pkg/mod.py)`, `pkg`).

    Lines are dropped so that one function's samples add up. py-spy shortens paths to the
    module's own; a long path is cut after site-packages/, src/ or the standard library's root.
    """
    match = _FRAME.match(frame)
    if match is None:
        return frame, "?"
    func, path = match["func"], match["file"]
    for root in _ROOTS:
        _, found, rest = path.rpartition(root)
        if found:
            path = rest
            break
    path = path.lstrip("/")
    package = path.partition("/")[0].removesuffix(".py") if "/" in path else path
    return f"{func} ({path})", package


def collapse_speedscope(doc: dict[str, Any]) -> str:
    """py-spy's speedscope document as collapsed stacks (`root;...;leaf count` per line)."""
    frames = [f"{f['name']} ({f['file']}:{f['line']})" for f in doc["shared"]["frames"]]
    stacks: Counter[str] = Counter()
    for profile in doc["profiles"]:  # one per thread
        for sample in profile["samples"]:
            stacks[";".join(frames[i] for i in sample)] += 1
    return "".join(f"{stack} {count}\n" for stack, count in stacks.items())


def top_functions(
    collapsed: str, limit: int = 10, inclusive_package: str = ""
) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """From py-spy's raw (collapsed) output: total samples, the frames with most samples on
    top of the stack (self), and the frames of packages starting with `inclusive_package`
    with most samples anywhere in the stack (inclusive)."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(f) for f in stack.split(";")]
        total += count
        self_counts[frames[-1][0]] += count
        for name, package in set(frames):  # a recursive frame counts once per sample
            if package.startswith(inclusive_package):
                inclusive[name] += count
    return total, self_counts.most_common(limit), inclusive.most_common(limit)


def by_package(collapsed: str, limit: int = 10) -> list[tuple[str, float]]:
    """Share of samples (percent) per package of the frame on top of the stack."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if stack and count_text.isdigit():
            counts[frame_name(stack.split(";")[-1])[1]] += int(count_text)
    total = sum(counts.values())
    return [(name, round(100.0 * n / total, 1)) for name, n in counts.most_common(limit)]


def per_lead(counts: Mapping[str, int], leads: int) -> dict[str, float]:
    """Each count divided by the number of leads (e.g. commits or records per lead)."""
    if leads <= 0:
        return {}
    return {name: round(count / leads, 2) for name, count in counts.items()}
