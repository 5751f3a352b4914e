"""Score the engine against the generator's defect labels: recall and precision.

``hoso generate people --defect-rate R`` labels every injected defect with the finding a
correct engine reports (``personal_id``, ``rule_id``, ``category``, ``field``). This module
builds the same records in process, as the importer would store them (normalised by the
validator; approved unless the person carries a SONG-011 label, as the generator asks of a
loader), runs the engine and compares findings with labels. Used by ``bench/quality.py``
and the tests: a finding without a label is a false positive (an engine bug, or a defect
the generator made without labelling it), a label without a finding a false negative.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from hoso.catalog.loader import get_catalog
from hoso.quality.rules import ID

Key = tuple[str, str, str]
"""(personal_id, rule_id, field)."""


@dataclass
class Generated:
    """Generated records as a frame, with their labels and the registry's view."""

    frame: pl.DataFrame
    labels: list[dict[str, Any]]
    registry: list[dict[str, Any]]
    as_of: dt.date


def generated(
    count: int, seed: int = 1, *, defect_rate: float = 0.05, as_of: dt.date | None = None
) -> Generated:
    """``count`` generated people as the importer stores them, approved and synced (except
    the SONG-011-labelled), created and updated on the as-of date."""
    from hoso.generate.orgs import generate_orgs
    from hoso.generate.people import DEFAULT_AS_OF, iter_people
    from hoso.people.validation import get_validator
    from hoso.quality.snapshot import frame_from_documents

    as_of = as_of or DEFAULT_AS_OF
    validator = get_validator()
    orgs = generate_orgs(seed=seed)
    moment = dt.datetime.combine(as_of, dt.time(3, 0), tzinfo=dt.UTC)
    records: list[tuple[dict[str, Any], dict[str, Any]]] = []
    labels: list[dict[str, Any]] = []
    registry: list[dict[str, Any]] = []
    for i, (line, person_labels, entry) in enumerate(
        iter_people(count, seed, orgs=orgs, defect_rate=defect_rate, as_of=as_of)
    ):
        checked = validator.check_line(line)
        if not checked.ok:
            raise ValueError(f"generated line {i} refused: {checked.issues[0]}")
        labels.extend(dict(lab) for lab in person_labels)
        if entry is not None:
            registry.append(entry)
        unsigned = any(lab["rule_id"] == "SONG-011" for lab in person_labels)
        meta = {
            ID: i + 1,
            "_personal_id": checked.personal_id,
            "_agency": checked.managing_agency,
            "_unit": checked.employing_unit,
            "_version": 1,
            "_hash": f"sha256:{i:064x}",
            "_status": "DRAFT" if unsigned else "SYNCED",
            "_person_status": "active",
            "_created_at": moment,
            "_updated_at": moment,
            "_changed_at": moment,
            "_approved_at": None if unsigned else moment,
            "_approved_hash": None if unsigned else f"sha256:{i:064x}",
            "_synced_at": None if unsigned else moment,
        }
        records.append((meta, checked.data))
    return Generated(frame_from_documents(records), labels, registry, as_of)


@dataclass
class Counts:
    """True positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1 when nothing was found."""
        return 1.0 if self.tp + self.fp == 0 else self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1 when nothing was labelled."""
        return 1.0 if self.tp + self.fn == 0 else self.tp / (self.tp + self.fn)


@dataclass
class Comparison:
    """Per-category and per-rule counts, with examples of each miss."""

    by_category: dict[str, Counts] = field(default_factory=dict)
    by_rule: dict[str, Counts] = field(default_factory=dict)
    false_positives: dict[str, list[Key]] = field(default_factory=lambda: defaultdict(list))
    false_negatives: dict[str, list[Key]] = field(default_factory=lambda: defaultdict(list))


def compare(
    findings: pl.DataFrame,
    frame: pl.DataFrame,
    labels: Iterable[dict[str, Any]],
    *,
    rules: Iterable[str] | None = None,
    profile: str | None = None,
) -> Comparison:
    """Compare engine ``findings`` (``_id``, ``rule_id``, ``field``) with ``labels``.

    ``rules``: restrict to these rule ids (the rules that ran); ``profile``: keep only
    labels on leaves of that profile (the engine reports nothing outside it)."""
    catalog = get_catalog()
    category_of = {r.id: r.category for r in catalog.rules}
    only = None if rules is None else set(rules)
    pid_of = dict(zip(frame[ID].to_list(), frame["_personal_id"].to_list(), strict=True))
    found: set[Key] = {
        (pid_of[i], r, f)
        for i, r, f in findings.select(ID, "rule_id", "field").iter_rows()
        if only is None or r in only
    }
    allowed = None
    if profile is not None:
        from hoso.quality.engine import profile_paths

        allowed = profile_paths(catalog, profile)

    def in_profile(path: str) -> bool:
        leaf = re.sub(r"\[\d+\]", "", path)
        return allowed is None or leaf.startswith("meta.") or leaf in allowed

    wanted: set[Key] = {
        (lab["personal_id"], lab["rule_id"], lab["field"])
        for lab in labels
        if (only is None or lab["rule_id"] in only) and in_profile(lab["field"])
    }
    out = Comparison()
    for key in found | wanted:
        rule_id = key[1]
        cat = category_of[rule_id]
        for bucket, name in ((out.by_category, cat), (out.by_rule, rule_id)):
            counts = bucket.setdefault(name, Counts())
            if key in found and key in wanted:
                counts.tp += 1
            elif key in found:
                counts.fp += 1
            else:
                counts.fn += 1
        if key in found and key not in wanted:
            out.false_positives[rule_id].append(key)
        elif key in wanted and key not in found:
            out.false_negatives[rule_id].append(key)
    return out


def table(comparison: Comparison, by: str = "category") -> str:
    """A text table of precision and recall."""
    bucket = comparison.by_category if by == "category" else comparison.by_rule
    lines = [f"{by:<28} {'TP':>6} {'FP':>6} {'FN':>6} {'precision':>9} {'recall':>7}"]
    for name, c in sorted(bucket.items()):
        lines.append(
            f"{name:<28} {c.tp:>6} {c.fp:>6} {c.fn:>6} {c.precision:>9.3f} {c.recall:>7.3f}"
        )
    return "\n".join(lines)
