"""The CI gate: compare an eval summary with the thresholds checked into eval/thresholds.json.

The thresholds file says which run it is about (gold file, split, answerer,
retrieval mode) and the lowest acceptable value of each metric (``min``) and,
optionally, the highest (``max``, e.g. for latencies). A metric that could not
be measured (None) fails its threshold: a gate must not pass by accident.
Unknown metric names are an error, so a typo cannot switch a check off.

Thresholds are set from measured values and only ever raised; see
eval/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qa_bot.errors import ConfigError

RUN_KEYS = ("gold", "split", "llm", "retrieval")


def load_thresholds(path: str | Path) -> dict[str, Any]:
    """The thresholds file, with its `gold` path made absolute (it is relative to the file)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the thresholds file '{path}': {exc.strerror}.") from exc
    except ValueError as exc:
        raise ConfigError(f"The thresholds file '{path}' is not valid JSON ({exc}).") from exc
    bounds = [data.get(b, {}) for b in ("min", "max")] if isinstance(data, dict) else [None]
    if not all(isinstance(b, dict) for b in bounds) or not any(bounds):
        raise ConfigError(
            f'The thresholds file \'{path}\' needs a "min" (and/or "max") object mapping '
            'metric names to numbers, e.g. {"min": {"accuracy": 0.6}}.'
        )
    run = dict(data.get("run") or {})
    if run.get("gold"):
        run["gold"] = str((path.parent / run["gold"]).resolve())
    data["run"] = run
    return data


def run_settings(thresholds: Mapping[str, Any], chosen: Mapping[str, Any]) -> dict[str, Any]:
    """The run options: the gate's, unless chosen explicitly; a conflict is an error."""
    settled = dict(chosen)
    for key in RUN_KEYS:
        wanted = thresholds["run"].get(key)
        if wanted is None:
            continue
        given = chosen.get(key)
        if given is None:
            settled[key] = wanted
        elif (str(Path(given).resolve()) if key == "gold" else given) != wanted:
            raise ConfigError(
                f"--{key} {given} conflicts with the gate, which is for {key} {wanted!r}. "
                f"Drop --{key}, or run without --gate."
            )
    return settled


def gate_failures(summary: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
    """One line per metric on the wrong side of its threshold; empty when the gate passes."""
    failures = []
    for bound, fails in (("min", lambda v, t: v < t), ("max", lambda v, t: v > t)):
        for metric, threshold in (thresholds.get(bound) or {}).items():
            if metric not in summary:
                raise ConfigError(
                    f"Unknown metric {metric!r} in the thresholds. Valid metrics: "
                    f"{', '.join(sorted(summary))}."
                )
            value = summary[metric]
            if value is None:
                failures.append(f"{metric} was not measured (threshold {bound} {threshold})")
            elif fails(value, threshold):
                word = "below the minimum" if bound == "min" else "above the maximum"
                failures.append(f"{metric} = {value:.4f} is {word} {threshold}")
    return failures
