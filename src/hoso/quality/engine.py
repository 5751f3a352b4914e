"""Run the rules over a frame of records and score them (quality-rules.md §5–7). No I/O.

:func:`check` runs every rule applicable in the active profile whose inputs are available,
keeps only findings on leaves of the profile, drops repeated (rule, field) pairs and adds
the CSV's rule metadata. :func:`score_records` turns findings into the per-record scores of
§7, :func:`agency_report` into the agency report.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from hoso.catalog.loader import Catalog, QualityRule
from hoso.quality.rules import (
    ID,
    INPUT_REASONS,
    Context,
    RuleImpl,
    RuleResult,
    concat,
    implementations,
)

DIMENSIONS = ("dung", "du", "sach", "song")
WEIGHT = {"error": 3, "warning": 1}
COMPLETENESS_CATEGORIES = ("missing_mandatory", "incomplete_table")

#: (Vietnamese, English) names of the dimensions and of the overall score.
DIMENSION_LABELS: dict[str, tuple[str, str]] = {
    "dung": ("Đúng", "Correct"),
    "du": ("Đủ", "Complete"),
    "sach": ("Sạch", "Clean"),
    "song": ("Sống", "Live"),
    "overall": ("Chung", "Overall"),
}
#: (Vietnamese, English) names of the severities.
SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "error": ("Lỗi", "Error"),
    "warning": ("Cảnh báo", "Warning"),
}


class RuleFailed(RuntimeError):
    """A rule function raised: names the rule (a bug to fix, never a silent skip)."""


@dataclass(frozen=True, slots=True)
class NotEvaluated:
    """An applicable rule that could not run, and why (§5)."""

    rule_id: str
    reason_vi: str
    reason_en: str

    def as_dict(self) -> dict[str, str]:
        """The §7 report entry."""
        return {"rule_id": self.rule_id, "reason": self.reason_en, "reason_vi": self.reason_vi}


@dataclass
class CheckResult:
    """Findings of one check over a frame."""

    findings: pl.DataFrame
    """``_id``, ``rule_id``, ``field``, ``value``, ``expected``, ``related`` (JSON text)."""
    checked: pl.DataFrame
    """``_id``, ``rule_id``, ``checked`` for ratio rules."""
    rules_run: list[str] = field(default_factory=list)
    not_evaluated: list[NotEvaluated] = field(default_factory=list)


def json_column(series: pl.Series) -> pl.Series:
    """A column of values as JSON text (null stays null)."""
    dtype = series.dtype
    if dtype == pl.Null:
        return series.cast(pl.String)
    if dtype == pl.String:
        values = series.to_list()
        return pl.Series(
            series.name,
            [None if v is None else orjson.dumps(v).decode() for v in values],
            dtype=pl.String,
        )
    if dtype.is_integer() or dtype.is_float():
        return series.cast(pl.String)
    if dtype == pl.Boolean:
        return series.cast(pl.String).str.to_lowercase()
    if isinstance(dtype, pl.Struct):
        return series.struct.json_encode()
    return pl.Series(
        series.name,
        [None if v is None else orjson.dumps(v, default=str).decode() for v in series.to_list()],
        dtype=pl.String,
    )


def applicable(catalog: Catalog, profile: str) -> list[QualityRule]:
    """Rules whose ``profiles`` contain ``profile``, in CSV order."""
    return [r for r in catalog.rules if profile in r.profiles]


def profile_paths(catalog: Catalog, profile: str) -> frozenset[str]:
    """Leaf paths a finding may name in ``profile`` (tables with a leaf in it, too)."""
    paths = {leaf.path for leaf in catalog.leaves if profile in leaf.profiles}
    for table in catalog.tables:
        if profile in table.profiles or any(profile in c.profiles for c in table.columns):
            paths.add(table.code)
    return frozenset(paths)


def _in_profile(frame: pl.DataFrame, allowed: frozenset[str]) -> pl.DataFrame:
    leaf = pl.col("field").str.replace_all(r"\[\d+\]", "")
    return frame.filter(leaf.str.starts_with("meta.") | leaf.is_in(list(allowed)))


def check(
    ctx: Context,
    *,
    inputs: Collection[str],
    only: Collection[str] | None = None,
    scope: str | None = None,
    threads: int | None = None,
) -> CheckResult:
    """Run the applicable rules (``only`` those ids; ``scope`` ``record``/``dataset``).

    Rules run on ``threads`` threads (default: the CPU count, at most 4): Polars releases
    the GIL, and many of a rule's steps use one core. Results keep the rules' order."""
    impls = implementations()
    allowed = profile_paths(ctx.catalog, ctx.profile)
    found: list[pl.DataFrame] = []
    checked: list[pl.DataFrame] = []
    result = CheckResult(findings=pl.DataFrame(), checked=pl.DataFrame())
    runnable: list[tuple[QualityRule, RuleImpl]] = []
    for spec in applicable(ctx.catalog, ctx.profile):
        if only is not None and spec.id not in only:
            continue
        if scope is not None and spec.scope != scope:
            continue
        impl: RuleImpl | None = impls.get(spec.id)
        if impl is None:
            raise RuleFailed(f"{spec.id}: no implementation registered")
        missing = sorted(impl.needs - set(inputs))
        if missing:
            vi, en = INPUT_REASONS[missing[0]]
            result.not_evaluated.append(NotEvaluated(spec.id, vi, en))
            continue
        runnable.append((spec, impl))

    def run_one(item: tuple[QualityRule, RuleImpl]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        spec, impl = item
        try:
            out = impl.fn(ctx)
        except Exception as exc:  # a bug in a rule: say which
            raise RuleFailed(f"{spec.id}: {exc!r}") from exc
        rule_findings = out.findings if isinstance(out, RuleResult) else out
        frame = concat([rule_findings])
        frame = _in_profile(frame, allowed).unique(
            subset=[ID, "field"], keep="first", maintain_order=True
        )
        stored = frame.select(
            ID,
            pl.lit(spec.id).alias("rule_id"),
            "field",
            pl.col("value_json").alias("value"),
            pl.col("expected_json").alias("expected"),
            "related",
        )
        counts = None
        if isinstance(out, RuleResult) and out.checked is not None:
            counts = out.checked.select(
                pl.col(ID).cast(pl.Int64),
                pl.lit(spec.id).alias("rule_id"),
                pl.col("checked").cast(pl.Int64),
            )
        return stored, counts

    workers = threads if threads is not None else min(4, os.cpu_count() or 1)
    if workers > 1 and len(runnable) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quality-rule") as pool:
            outputs = list(pool.map(run_one, runnable))
    else:
        outputs = [run_one(item) for item in runnable]
    for (spec, _), (stored, counts) in zip(runnable, outputs, strict=True):
        found.append(stored)
        if counts is not None:
            checked.append(counts)
        result.rules_run.append(spec.id)
    columns = [ID, "rule_id", "field", "value", "expected", "related"]
    result.findings = (
        pl.concat([f.select(columns) for f in found], how="vertical")
        if found
        else pl.DataFrame(
            schema={
                ID: pl.Int64,
                "rule_id": pl.String,
                "field": pl.String,
                "value": pl.String,
                "expected": pl.String,
                "related": pl.String,
            }
        )
    )
    result.checked = (
        pl.concat(checked, how="vertical")
        if checked
        else pl.DataFrame(schema={ID: pl.Int64, "rule_id": pl.String, "checked": pl.Int64})
    )
    return result


def rule_frame(catalog: Catalog) -> pl.DataFrame:
    """The CSV's rule metadata as a frame keyed by ``rule_id``."""
    return pl.DataFrame(
        {
            "rule_id": [r.id for r in catalog.rules],
            "dimension": [r.dimension for r in catalog.rules],
            "category": [r.category for r in catalog.rules],
            "severity": [r.severity for r in catalog.rules],
            "scoring": [r.scoring for r in catalog.rules],
        }
    )


def weights_of(dimension_weights: Mapping[str, float] | None) -> dict[str, float]:
    """Dimension weights of the overall score: 0.25 each unless configured (then reported)."""
    weights = {d: 0.25 for d in DIMENSIONS}
    if dimension_weights:
        weights.update({d: float(w) for d, w in dimension_weights.items() if d in weights})
    return weights


def score_records(
    ids: pl.Series,
    findings: pl.DataFrame,
    checked: pl.DataFrame,
    *,
    catalog: Catalog,
    evaluated: Iterable[str],
    dimension_weights: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """Per-record scores (§7): ``_id``, one column per dimension, ``overall``, ``passed``,
    ``complete``, ``errors``, ``warnings``.

    ``findings`` must hold every finding of these records (all rules evaluated for them).
    """
    rules = rule_frame(catalog)
    evaluated_ids = set(evaluated)
    totals = {
        d: sum(
            WEIGHT[r.severity] for r in catalog.rules if r.id in evaluated_ids and r.dimension == d
        )
        for d in DIMENSIONS
    }
    per_rule = (
        findings.group_by(ID, "rule_id")
        .agg(pl.len().alias("failed"))
        .join(rules, on="rule_id", how="left")
        .join(checked, on=[ID, "rule_id"], how="left")
        .with_columns(
            w=pl.col("severity").replace_strict(WEIGHT, return_dtype=pl.Float64),
        )
        .with_columns(
            penalty=pl.when(pl.col("scoring") == "ratio")
            .then(
                pl.when(pl.col("checked").fill_null(0) > 0)
                .then(
                    pl.col("w")
                    * pl.min_horizontal(pl.lit(1.0), pl.col("failed") / pl.col("checked"))
                )
                .otherwise(0.0)
            )
            .otherwise(pl.col("w"))
        )
    )
    penalties = per_rule.group_by(ID).agg(
        *[
            pl.col("penalty").filter(pl.col("dimension") == d).sum().alias(f"p_{d}")
            for d in DIMENSIONS
        ],
        (pl.col("severity") == "error").any().alias("has_error"),
        pl.col("category").is_in(list(COMPLETENESS_CATEGORIES)).any().alias("incomplete"),
        pl.col("failed").filter(pl.col("severity") == "error").sum().alias("errors"),
        pl.col("failed").filter(pl.col("severity") == "warning").sum().alias("warnings"),
    )
    weights = weights_of(dimension_weights)
    base = pl.DataFrame({ID: ids.cast(pl.Int64)}).join(penalties, on=ID, how="left")
    dims = [
        (
            pl.lit(100.0)
            if totals[d] == 0
            else (100.0 * (1.0 - pl.col(f"p_{d}").fill_null(0.0) / totals[d]))
        ).alias(d)
        for d in DIMENSIONS
    ]
    scored = base.with_columns(dims)
    return scored.select(
        ID,
        *DIMENSIONS,
        sum((pl.col(d) * weights[d] for d in DIMENSIONS), pl.lit(0.0)).alias("overall"),
        (~pl.col("has_error").fill_null(False)).alias("passed"),
        (~pl.col("incomplete").fill_null(False)).alias("complete"),
        pl.col("errors").fill_null(0).cast(pl.Int64),
        pl.col("warnings").fill_null(0).cast(pl.Int64),
    )


def agency_report(
    scores: pl.DataFrame,
    findings: pl.DataFrame,
    *,
    catalog: Catalog,
    agency: str | None,
    profile: str,
    as_of: str,
    not_evaluated: Iterable[NotEvaluated],
) -> dict[str, Any]:
    """The §7 report over ``scores`` (one row per record) and their ``findings``."""
    rules = rule_frame(catalog)
    n = scores.height
    means = (
        scores.select([pl.col(d).mean().alias(d) for d in (*DIMENSIONS, "overall")]).row(
            0, named=True
        )
        if n
        else dict.fromkeys((*DIMENSIONS, "overall"), 100.0)
    )
    complete = float(scores["complete"].cast(pl.Float64).sum()) / n if n else 1.0
    joined = findings.join(rules, on="rule_id", how="left")
    by_category: dict[str, dict[str, int]] = {}
    for row in joined.group_by("category", "severity").len().iter_rows(named=True):
        by_category.setdefault(row["category"], {})[row["severity"]] = int(row["len"])
    by_rule: dict[str, dict[str, int]] = {}
    for row in joined.group_by("rule_id", "severity").len().iter_rows(named=True):
        by_rule.setdefault(row["rule_id"], {})[row["severity"]] = int(row["len"])
    return {
        "agency": agency,
        "profile": profile,
        "as_of": as_of,
        "records": n,
        "records_passed": int(scores["passed"].sum()) if n else 0,
        "complete_records": round(100.0 * complete, 1) if n else 100.0,
        "scores": {k: round(float(v or 0.0), 1) for k, v in means.items()},
        "findings_by_category": dict(sorted(by_category.items())),
        "findings_by_rule": dict(sorted(by_rule.items())),
        "not_evaluated": [ne.as_dict() for ne in not_evaluated],
    }
