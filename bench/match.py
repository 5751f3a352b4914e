"""Registry verification end to end: hoso on PostgreSQL, the simulator over HTTP, batches.

    .venv/bin/python bench/match.py [--count 1000000] [--seed 7] [--defect-rate 0.05]
        [--others-factor 4] [--difference-rate 0.01] [--batch-size 1000]
        [--client-rate 20] [--server-rate 50] [--prob-records 100000] [--skip-probabilistic]
        [--skip-link] [--noise realistic|harsh] [--train]

What is measured (issue 5, "Must show": 1,000,000 people against a 5,000,000-citizen
registry end to end in at most 10 minutes; precision and recall at least 0.99):

1. ``hoso generate people --count N --defect-rate R --labels --registry`` (cached in
   ``bench/out``): the dossiers, their defect labels, and the registry's true view of them.
2. A durable throwaway PostgreSQL cluster holds two databases: hoso's (the org tree and the
   N dossiers imported with ``hoso people import``) and the simulator's, seeded with
   ``python -m hoso.popsim seed --registry-file --labels-file --others-factor F
   --difference-rate D --truth`` (N civil servants, F × N other citizens, deliberate
   differences with their ground truth).
3. ``python -m hoso.popsim serve`` in its own process (uvicorn, real HTTP on loopback).
4. **The measured step**: ``hoso population match`` in its own process (default client
   settings unless given: batches of 1,000, 20 calls a second, retries; the simulator's
   own limit 50 calls a second per key) — wall time, people per second, calls, peak RSS.
   Baseline measured in the same run: bare verification calls of the same IDs with the
   same client and no database (``RegistryClient.verify`` of a sample, extrapolated);
   ratio = run / baseline.
5. **Accuracy**: the stored outcome of every person against what the ground truth says it
   must be: the seed's deliberate differences (corrected birth date, changed name → conflict;
   deceased → conflict; another old CMND number → matched with a ``legacy_id_no``
   difference; missing → not found) and the generator's labels (``population_mismatch`` on
   a field → that field differs, a conflict for birth name, date of birth and sex;
   ``not_in_population_registry`` → found through the old CMND number when the registry
   holds the dossier's number (a conflict with a ``personal_id`` difference), else not
   found; ``missing_mandatory`` on a registry-mastered field → that field differs: the
   registry keeps the value the defect removed); everyone else matched without
   differences. Precision and recall per outcome, and of the differing (person, field)
   pairs.
6. **The link step, end to end** (dossiers without a usable ID): the simulator's citizens
   exported as a registry extract (Parquet, the ``load`` columns), then ``hoso population
   link --registry EXTRACT`` in its own process over the run's ``not_found`` results. Truth:
   a dossier whose number the generator mistyped is the citizen the registry lists under
   the true number (the people and registry files are written in step); a person the seed
   removed has no match. Precision, recall, auto-accepted precision, time, peak RSS.
7. **Probabilistic part at scale**: ``--prob-records`` query records without IDs made from
   the same registry's citizens with ``bench/match_probabilistic.py``'s noise (``--noise``;
   95 % of working age, 5 % from citizens taken out of the registry so that they have no
   match), linked with ``hoso.population.probabilistic.link`` + ``best`` against the
   registry less those — time, precision, recall, auto-accepted precision. With
   ``--probabilistic-only`` (no seeded registry), its synthetic registry of 5 × N citizens.

Output: a table and ``bench/out/match_<count>.json``. The machine is shared: the load
average is printed with the figures. Works small (``--count 5000``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import psycopg

from _common import OUT, ROOT, DurableCluster, load_orgs, run_measured

CLI = [
    sys.executable,
    "-c",
    "from hoso.population.cli import app; app(prog_name='hoso population')",
]
POPSIM = [sys.executable, "-m", "hoso.popsim"]
KEY = "bench-population-key"
IDENTITY = ("birth_name", "date_of_birth", "sex")


def load() -> str:
    """The load average, for the record."""
    a, b, c = os.getloadavg()
    return f"load average {a:.2f}, {b:.2f}, {c:.2f}"


def files(count: int, seed: int, rate: float) -> tuple[Path, Path, Path]:
    """People, labels and registry view of one generator run (cached in bench/out)."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"match_{count}_{seed}_{rate}"
    people, labels, registry = (OUT / f"{stem}_{k}.jsonl" for k in ("people", "labels", "registry"))
    # bench/quality.py's files of the same run (same generator, arguments and default rate)
    # save writing another copy of the dossiers: only the registry view is generated then
    q_people = OUT / f"quality_people_{count}_{seed}.jsonl"
    q_labels = OUT / f"quality_labels_{count}_{seed}.jsonl"
    if rate == 0.05 and q_people.exists() and q_labels.exists() and not people.exists():
        people, labels = q_people, q_labels
        if not registry.exists():
            from hoso.generate.people import generate_registry

            t0 = time.perf_counter()
            tmp = Path(f"{registry}.tmp")
            with tmp.open("wb") as fh:
                for entry in generate_registry(count, seed, defect_rate=rate):
                    fh.write(orjson.dumps(entry) + b"\n")
            tmp.rename(registry)
            print(f"generated the registry view of {count:,} people in "
                  f"{time.perf_counter() - t0:.0f} s → {registry}")  # fmt: skip
        return people, labels, registry
    if not (people.exists() and labels.exists() and registry.exists()):
        t0 = time.perf_counter()
        tmp = [Path(f"{p}.tmp") for p in (people, labels, registry)]
        cmd = [sys.executable, "-m", "hoso", "generate", "people", "--count", str(count),
               "--seed", str(seed), "--defect-rate", str(rate), "--out", str(tmp[0]),
               "--labels", str(tmp[1]), "--registry", str(tmp[2])]  # fmt: skip
        run_measured(cmd, dict(os.environ))
        for t, final in zip(tmp, (people, labels, registry), strict=True):
            t.rename(final)
        print(f"generated {count:,} people in {time.perf_counter() - t0:.0f} s → {people}")
    return people, labels, registry


def create_population_tables(url: str) -> None:
    """The population tables (created from the models until a migration makes them)."""
    import hoso.db.models  # noqa: F401
    from hoso.db.base import Base
    from hoso.db.engine import make_engine

    engine = make_engine(url)
    tables = [Base.metadata.tables[n] for n in ("population_run", "population_match")]
    Base.metadata.create_all(engine, tables=tables, checkfirst=True)
    engine.dispose()


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """Start the simulator and wait until it answers."""
    import httpx

    proc = subprocess.Popen([*POPSIM, "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=30).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the simulator did not start: {proc.stderr.read().decode()[-2000:]}"
            )  # type: ignore[union-attr]
        time.sleep(0.2)


def baseline(url: str, pg_url: str, sample: int, batch: int, rate: float) -> dict[str, Any]:
    """Bare verification calls of ``sample`` dossier IDs with the same client, no database."""
    from hoso.population.client import RegistryClient

    with psycopg.connect(pg_url) as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT personal_id FROM person ORDER BY id LIMIT %s", (sample,))]  # fmt: skip
    with RegistryClient(url, KEY, rate_per_second=rate, batch_size=batch, timeout=30) as client:
        t0 = time.perf_counter()
        client.verify(ids)
        seconds = time.perf_counter() - t0
    return {"ids": len(ids), "seconds": seconds, "per_second": len(ids) / seconds,
            "calls": client.stats.calls}  # fmt: skip


def quality_views() -> dict[str, Any]:
    """Time ``registry_view`` and ``match_meta`` (what the quality engine reads) over the
    stored results, in this process."""
    from hoso.config import get_settings
    from hoso.db import engine
    from hoso.population import service

    get_settings.cache_clear()
    engine.reset()
    with engine.unit_of_work() as session:
        t0 = time.perf_counter()
        view = service.registry_view(session)
        t1 = time.perf_counter()
        meta = service.match_meta(session)
        t2 = time.perf_counter()
    engine.reset()
    rows = 0 if view is None else view.height
    print(f"quality views: registry_view {rows:,} rows in {t1 - t0:.1f} s, "
          f"match_meta {meta.height:,} rows in {t2 - t1:.1f} s")  # fmt: skip
    return {"registry_view_rows": rows, "registry_view_s": round(t1 - t0, 2),
            "match_meta_rows": meta.height, "match_meta_s": round(t2 - t1, 2)}  # fmt: skip


# --- accuracy ------------------------------------------------------------------------------------


def expectations(
    labels: Path, truth: Path, hoso_pg: str, popsim_pg: str
) -> tuple[dict[str, str], dict[str, set[str] | None]]:
    """What the ground truth says each *non-clean* person's result must be: outcome and the
    differing fields (everyone else: matched, no differences)."""
    from hoso.population.matching import MASTERED_FIELDS as MASTERED

    outcome: dict[str, str] = {}
    fields: dict[str, set[str] | None] = {}
    dropped: set[str] = set()
    """Old CMND numbers the seed took off a civil servant because another holds it."""
    with truth.open("rb") as fh:
        for raw in fh:
            t = orjson.loads(raw)
            pid, kind = t["personal_id"], t["kind"]
            if kind == "legacy_id_no" and t["registry_value"] is None and t["dossier_value"]:
                dropped.add(t["dossier_value"])
            if kind == "missing":
                outcome[pid] = "not_found"
            elif kind in ("date_of_birth", "birth_name", "deceased"):
                outcome[pid] = "conflict"
                fields.setdefault(pid, set()).add(t["field"])
            elif kind == "legacy_id_no" and t["registry_value"] is not None:
                outcome.setdefault(pid, "matched")
                fields.setdefault(pid, set()).add("legacy_id_no")
    missing_ids: set[str] = set()
    with labels.open("rb") as fh:
        for raw in fh:
            lab = orjson.loads(raw)
            pid = lab["personal_id"]
            if lab["category"] == "population_mismatch":
                fields.setdefault(pid, set()).add(lab["field"])
                if lab["field"] in IDENTITY:
                    outcome[pid] = "conflict"
                else:
                    outcome.setdefault(pid, "matched")
            elif lab["category"] == "not_in_population_registry":
                missing_ids.add(pid)
            elif lab["category"] == "missing_mandatory" and lab["field"] in MASTERED:
                # the generator's registry keeps a value the defect removed from the
                # dossier: the registry has it, so it differs (a correction fills it)
                fields.setdefault(pid, set()).add(lab["field"])
                if lab["field"] in IDENTITY:
                    outcome[pid] = "conflict"
                else:
                    outcome.setdefault(pid, "matched")
    # a number the registry does not know: found through the old CMND number when the
    # registry holds the dossier's number, else not found
    with psycopg.connect(hoso_pg) as conn:
        legacy = dict(conn.execute(
            "SELECT p.personal_id, v.data::jsonb ->> 'legacy_id_no' FROM person p JOIN "
            "person_version v ON v.person_id = p.id AND v.version = p.current_version "
            "WHERE p.personal_id = ANY(%s)", (sorted(missing_ids),)).fetchall())  # fmt: skip
    numbers = sorted({n for n in legacy.values() if n})
    with psycopg.connect(popsim_pg) as conn:
        known = dict(conn.execute(
            "SELECT legacy_id_no, personal_id FROM citizen WHERE legacy_id_no = ANY(%s)",
            (numbers,)).fetchall())  # fmt: skip
    for pid in missing_ids:
        number = legacy.get(pid)
        if number in known and number in dropped:
            # the generator gave this number to two people and the registry keeps it on the
            # other one: found through it, a different person (a conflict for review); its
            # differing fields are not scored
            outcome[pid] = "conflict"
            fields[pid] = None
        elif number in known:
            # the registry's entry (under its own number) may carry a deliberate difference
            # of the seed too: the truth names it by the registry's number
            outcome[pid] = "conflict"
            fields[pid] = {"personal_id"} | (fields.pop(known[number], set()) or set())
            outcome.pop(known[number], None)
        else:
            outcome[pid] = "not_found"
            fields.pop(pid, None)
    return outcome, fields


def accuracy(
    hoso_pg: str, outcome: dict[str, str], fields: dict[str, set[str] | None]
) -> dict[str, Any]:
    """Precision and recall of the stored outcomes and differing fields against the truth."""
    confusion: Counter[tuple[str, str]] = Counter()
    pairs_tp = pairs_fp = pairs_fn = 0
    examples: list[dict[str, Any]] = []
    seen = unscored = 0
    with psycopg.connect(hoso_pg) as conn, conn.cursor(name="results") as cur:
        cur.itersize = 20_000
        cur.execute("SELECT personal_id, outcome, differences::text FROM population_match")
        for pid, got, diffs in cur:
            seen += 1
            want = outcome.get(pid, "matched")
            confusion[(want, got)] += 1
            found = {d["field"] for d in orjson.loads(diffs)} if diffs else set()
            expected = fields.get(pid, set())
            if expected is None:  # a different person found through a shared old number
                unscored += 1
                continue
            pairs_tp += len(found & expected)
            pairs_fp += len(found - expected)
            pairs_fn += len(expected - found)
            if (want != got or found != expected) and len(examples) < 15:
                examples.append({"personal_id": pid, "expected": want, "got": got,
                                 "expected_fields": sorted(expected),
                                 "found_fields": sorted(found)})  # fmt: skip
    out: dict[str, Any] = {"people": seen, "by_outcome": {}, "examples": examples,
                           "fields_unscored": unscored}  # fmt: skip
    for o in ("matched", "conflict", "not_found", "potential_match"):
        tp = confusion[(o, o)]
        predicted = sum(n for (_, g), n in confusion.items() if g == o)
        actual = sum(n for (w, _), n in confusion.items() if w == o)
        out["by_outcome"][o] = {
            "expected": actual, "stored": predicted, "tp": tp,
            "precision": tp / predicted if predicted else 1.0,
            "recall": tp / actual if actual else 1.0,
        }  # fmt: skip
    out["differences"] = {
        "tp": pairs_tp, "fp": pairs_fp, "fn": pairs_fn,
        "precision": pairs_tp / (pairs_tp + pairs_fp) if pairs_tp + pairs_fp else 1.0,
        "recall": pairs_tp / (pairs_tp + pairs_fn) if pairs_tp + pairs_fn else 1.0,
    }  # fmt: skip
    out["confusion"] = {f"{w}->{g}": n for (w, g), n in sorted(confusion.items())}
    return out


# --- the link step, end to end (step 6) ----------------------------------------------------------

EXTRACT_COLUMNS = (
    "personal_id", "birth_name", "date_of_birth", "sex", "ethnicity_code", "religion_code",
    "hometown_ward_code", "hometown_unit_scheme", "residence_ward_code", "residence_unit_scheme",
    "status", "legacy_id_no",
)  # fmt: skip


def export_extract(popsim_pg: str, path: Path) -> tuple[int, float]:
    """The simulator's citizens as a registry extract (Parquet, the ``load`` columns)."""
    import polars as pl

    t0 = time.perf_counter()
    csv = path.with_suffix(".csv")
    with psycopg.connect(popsim_pg) as conn, csv.open("wb") as fh:
        copy_sql = f"COPY (SELECT {', '.join(EXTRACT_COLUMNS)} FROM citizen) TO STDOUT (FORMAT csv, HEADER)"
        with conn.cursor().copy(copy_sql) as copy:
            for chunk in copy:
                fh.write(chunk)
    frame = pl.read_csv(csv, schema={c: pl.String for c in EXTRACT_COLUMNS})
    frame.write_parquet(path)
    csv.unlink()
    return frame.height, time.perf_counter() - t0


def link_truth(people: Path, registry: Path, truth: Path) -> dict[str, str | None]:
    """Who each dossier really is in the registry: the registry's number of the person, or
    None when the seed removed the person (``missing``). The generator's people and registry
    files are written in step (one registry entry per dossier)."""
    missing: set[str] = set()
    with truth.open("rb") as fh:
        for raw in fh:
            t = orjson.loads(raw)
            if t["kind"] == "missing":
                missing.add(t["personal_id"])
    who: dict[str, str | None] = {}
    with people.open("rb") as pf, registry.open("rb") as rf:
        for p_line, r_line in zip(pf, rf, strict=True):
            pid = orjson.loads(p_line)["personal_id"]
            rid = orjson.loads(r_line)["personal_id"]
            who[pid] = None if rid in missing else rid
    return who


def link_part(
    args: argparse.Namespace, summary: dict[str, Any], goals: list[tuple[str, bool]],
    env: dict[str, str], hoso_pg: str, popsim_pg: str, paths: tuple[Path, Path, Path],
) -> Path:  # fmt: skip
    """``hoso population link`` over the run's ``not_found`` results, against the simulator's
    own citizens exported as an extract; precision and recall against the ground truth.
    Returns the extract (the scale part reuses it)."""
    people, registry, truth = paths
    extract = OUT / f"match_{args.count}_{args.seed}_extract.parquet"
    rows, export_s = export_extract(popsim_pg, extract)
    print(f"exported {rows:,} citizens as a registry extract in {export_s:.0f} s → {extract}")
    who = link_truth(people, registry, truth)
    with psycopg.connect(hoso_pg) as conn:
        before: dict[str, str] = dict(conn.execute(
            "SELECT personal_id, outcome FROM population_match WHERE outcome = 'not_found'"
        ).fetchall())  # fmt: skip
    print(f"linking {len(before):,} not-found dossiers against {rows:,} citizens ({load()}) …")
    seconds, peak, out = run_measured([*CLI, "link", "--registry", str(extract)], env)
    print(out.strip())
    with psycopg.connect(hoso_pg) as conn:
        after = conn.execute(
            "SELECT personal_id, outcome, registry_personal_id, candidates::text"
            " FROM population_match WHERE personal_id = ANY(%s)", (sorted(before),)
        ).fetchall()  # fmt: skip
    outcomes: Counter[str] = Counter()
    stats = Counter[str]()
    examples: list[dict[str, Any]] = []
    for pid, outcome, registry_pid, candidates in after:
        outcomes[outcome] += 1
        want = who.get(pid)
        if outcome == "matched":
            got = registry_pid
        elif outcome == "potential_match":
            got = orjson.loads(candidates)[0]["personal_id"]
        else:
            got = None
        stats["with_truth"] += want is not None
        stats["predicted"] += got is not None
        stats["correct"] += got is not None and got == want
        stats["auto"] += outcome == "matched"
        stats["auto_correct"] += outcome == "matched" and got == want
        if got != want and len(examples) < 8:
            examples.append({"personal_id": pid, "outcome": outcome, "expected": want, "got": got})
    result: dict[str, Any] = {
        "records": len(before), "citizens": rows, "seconds": round(seconds, 1),
        "peak_rss_mb": peak >> 20, "outcomes": dict(outcomes), **stats,
        "precision": stats["correct"] / stats["predicted"] if stats["predicted"] else 1.0,
        "recall": stats["correct"] / stats["with_truth"] if stats["with_truth"] else 1.0,
        "auto_precision": stats["auto_correct"] / stats["auto"] if stats["auto"] else 1.0,
        "examples": examples, "load": load(),
    }  # fmt: skip
    summary["link"] = result
    print(f"\n== hoso population link: {len(before):,} not-found dossiers, {rows:,} citizens")
    print(f"outcomes {dict(outcomes)}; {seconds:.1f} s, peak RSS {peak >> 20} MiB")
    print(f"with a true citizen {stats['with_truth']:,}; linked {stats['predicted']:,}, "
          f"correct {stats['correct']:,}; auto-accepted {stats['auto']:,}, correct "
          f"{stats['auto_correct']:,}")  # fmt: skip
    print(f"precision {result['precision']:.4f}, recall {result['recall']:.4f}, "
          f"auto-accepted precision {result['auto_precision']:.4f}")  # fmt: skip
    for ex in examples:
        print(f"  e.g. {ex}")
    # The precision/recall goal is measured at scale in step 7. Here most dossiers
    # have no true citizen (the seed deleted as many people from the registry as it made
    # of each other kind of difference), so a namesake offered for review weighs on the
    # precision far more than it would in practice: printed, not a goal. What is accepted
    # without review must be right whatever the mix.
    print("(precision and recall here are not a goal: most of these dossiers have no true "
          "citizen; the goal is step 7's)")  # fmt: skip
    goals.append(("link auto-accepted precision ≥ 0.999", result["auto_precision"] >= 0.999))
    return extract


def same_registry_records(extract: Path, records: int, seed: int, profile: str) -> tuple[Path, Any]:
    """``records`` query records without IDs made from the extract's own citizens with the
    noise of ``bench/match_probabilistic.py`` (95 % of working age; 5 % from citizens taken
    out of the registry, so that they have no match), and the registry minus those."""
    import polars as pl

    from hoso.catalog.admin_units import wards_2025

    module = _probabilistic_module()
    province = {w.code: w.province_code for w in wards_2025().values()}
    citizens = pl.read_parquet(extract).with_columns(
        pl.col("hometown_ward_code").replace_strict(province, default=None)
        .alias("hometown_province_code")
    )  # fmt: skip
    working = citizens.filter(
        pl.col("date_of_birth").str.slice(0, 4).cast(pl.Int32).is_between(1961, 2004)
        & (pl.col("status") == "alive") & pl.col("hometown_province_code").is_not_null()
    )  # fmt: skip
    n_out = records // 20
    chosen = working.sample(records, seed=seed)
    outside, inside = chosen.head(n_out), chosen.tail(records - n_out)
    reg_path = OUT / f"{extract.stem}_less_{n_out}.parquet"
    citizens.join(outside.select("personal_id"), on="personal_id", how="anti").write_parquet(
        reg_path
    )
    truth = pl.concat([inside, outside])
    recs = (
        module.noisy(truth, seed + 1, profile)
        .with_columns(
            pl.Series("truth", inside["personal_id"].to_list() + [None] * n_out, dtype=pl.String),
            pl.format("R{}", pl.int_range(pl.len())).alias("record_key"),
        )
        .sample(fraction=1.0, shuffle=True, seed=seed)
    )
    return reg_path, recs


def _probabilistic_module() -> Any:
    import importlib.util

    script = ROOT / "bench" / "match_probabilistic.py"
    spec = importlib.util.spec_from_file_location("match_probabilistic", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the probabilistic part at scale (step 7) ----------------------------------------------------


def probabilistic_part(
    registry_size: int, records: int, seed: int, extract: Path | None, profile: str,
    train: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Splink over ``records`` query records without IDs: made from the seeded registry's own
    citizens when ``extract`` is given (the same registry), else ``bench/match_probabilistic.py``'s
    synthetic registry of ``registry_size`` citizens."""
    from hoso.population import probabilistic

    module = _probabilistic_module()
    if extract is not None:
        reg_path, recs = same_registry_records(extract, records, seed, profile)
        source = f"the seeded registry ({extract.name}) less the {records // 20:,} taken out"
    else:
        reg_path, recs = module.data(registry_size, records, 0.05, seed, profile)
        source = f"a synthetic registry ({reg_path.name})"
    queries = recs.drop("truth")
    if train:
        t0 = time.perf_counter()
        trained = probabilistic.train(queries, reg_path)
        print(f"trained in {time.perf_counter() - t0:.0f} s (paste into "
              "hoso.population.probabilistic.PARAMETERS):")  # fmt: skip
        print(json.dumps(trained, indent=1))
    t0 = time.perf_counter()
    candidates = probabilistic.link(queries, reg_path)
    decisions = probabilistic.best(candidates, records=queries.get_column("record_key"))
    seconds = time.perf_counter() - t0
    result: dict[str, Any] = module.evaluate(decisions, recs)
    result |= {"registry": source, "profile": profile, "seconds": round(seconds, 1)}
    return result


def verification(
    args: argparse.Namespace, summary: dict[str, Any], goals: list[tuple[str, bool]],
    client_rate: float, server_rate: float,
) -> Path | None:  # fmt: skip
    """Steps 1-6 of the module docstring (the cluster is stopped at the end); returns the
    registry extract of step 6."""
    from hoso.generate.orgs import generate_orgs

    people, labels, registry = files(args.count, args.seed, args.defect_rate)
    cluster = DurableCluster()
    cluster.start()
    server: subprocess.Popen[bytes] | None = None
    try:
        hoso_url = cluster.create_database("hoso")
        popsim_url = cluster.create_database("popsim")
        hoso_pg = hoso_url.replace("postgresql+psycopg://", "postgresql://")
        popsim_pg = popsim_url.replace("postgresql+psycopg://", "postgresql://")
        env = {
            **os.environ, "HOSO_DATABASE_URL": hoso_url, "HOSO_POPSIM_DATABASE_URL": popsim_url,
            "HOSO_POPSIM_API_KEYS": json.dumps([KEY]), "HOSO_POPULATION_API_KEY": KEY,
            "HOSO_POPSIM_RATE_PER_SECOND": str(server_rate),
            "HOSO_POPULATION_RATE_PER_SECOND": str(client_rate),
        }  # fmt: skip
        os.environ.update({k: env[k] for k in ("HOSO_DATABASE_URL", "HOSO_POPSIM_DATABASE_URL")})

        load_orgs(hoso_url, generate_orgs(seed=args.seed))
        seconds, _, _ = run_measured(
            [sys.executable, "-m", "hoso", "people", "import", str(people), "--quiet"], env
        )
        print(f"imported {args.count:,} people in {seconds:.0f} s ({args.count / seconds:,.0f}/s)")
        create_population_tables(hoso_url)
        truth = OUT / f"match_{args.count}_{args.seed}_truth.jsonl"
        seconds, _, out = run_measured(
            [*POPSIM, "seed", "--registry-file", str(registry), "--labels-file", str(labels),
             "--others-factor", str(args.others_factor), "--difference-rate",
             str(args.difference_rate), "--seed", str(args.seed), "--truth", str(truth),
             "--quiet"], env,
        )  # fmt: skip
        print(f"seeded the simulator in {seconds:.0f} s: {out.strip()}")
        for url in (hoso_pg, popsim_pg):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        with psycopg.connect(popsim_pg) as conn:
            citizens = int(conn.execute("SELECT count(*) FROM citizen").fetchone()[0])  # type: ignore[index]
        summary["citizens"] = citizens

        port = free_port()
        registry_url = f"http://127.0.0.1:{port}"
        server = serve(env, port)
        cmd = [*CLI, "match", "--url", registry_url, "--batch-size", str(args.batch_size),
               "--quiet"]  # fmt: skip
        print(f"matching {args.count:,} people against {citizens:,} citizens ({load()}) …")
        seconds, peak, out = run_measured(cmd, env)
        print(out.strip())
        rate = args.count / seconds
        with psycopg.connect(hoso_pg) as conn:
            row = conn.execute(
                "SELECT id, done, counts::text, status FROM population_run ORDER BY id DESC LIMIT 1"
            ).fetchone()
            assert row is not None
            batches = conn.execute(
                "SELECT count(*) FROM audit_event WHERE action = 'population:match:batch'"
            ).fetchone()[0]  # type: ignore[index]
            timings = conn.execute(
                "SELECT data::jsonb -> 'timings' FROM audit_event"
                " WHERE action = 'population:run:complete' ORDER BY id DESC LIMIT 1"
            ).fetchone()[0]  # type: ignore[index]
        summary["match"] = {
            "seconds": round(seconds, 1), "per_second": round(rate), "peak_rss_mb": peak >> 20,
            "run_status": row[3], "done": row[1], "counts": orjson.loads(row[2]),
            "batches": batches, "timings": timings, "load": load(),
        }  # fmt: skip
        sample = min(args.baseline_sample, args.count)
        base = baseline(registry_url, hoso_pg, sample, args.batch_size, client_rate)
        summary["baseline_bare_http"] = base
        summary["quality_views"] = quality_views()
        outcome, fields = expectations(labels, truth, hoso_pg, popsim_pg)
        acc = accuracy(hoso_pg, outcome, fields)
        summary["accuracy"] = acc

        print(f"\n== hoso population match: {args.count:,} people, {citizens:,} citizens, "
              f"batches of {args.batch_size} ({load()})")  # fmt: skip
        print(f"{'step':<40} {'seconds':>8} {'people/s':>9} {'goal':>6} {'ratio':>6}")
        bare_s = args.count / base["per_second"]
        print(f"{'match (HTTP, compare, store, audit)':<40} {seconds:>8.1f} {rate:>9,.0f} "
              f"{'600':>6} {seconds / bare_s:>6.2f}")  # fmt: skip
        print(f"{'baseline: bare verify calls (extrap.)':<40} {bare_s:>8.1f} "
              f"{base['per_second']:>9,.0f} {'–':>6} {1.0:>6.2f}")  # fmt: skip
        print(f"run: {row[3]}, {row[1]:,} done, {batches:,} batches, counts {row[2]}; "
              f"peak RSS {peak >> 20} MiB")  # fmt: skip
        print(f"steps (s): {timings}  (registry calls overlap select/apply)")
        print("\noutcome          expected    stored  precision  recall")
        for o, m in acc["by_outcome"].items():
            print(f"{o:<16} {m['expected']:>8,} {m['stored']:>9,} {m['precision']:>10.4f} "
                  f"{m['recall']:>7.4f}")  # fmt: skip
        d = acc["differences"]
        print(f"{'differing fields':<16} {d['tp'] + d['fn']:>8,} {d['tp'] + d['fp']:>9,} "
              f"{d['precision']:>10.4f} {d['recall']:>7.4f}")  # fmt: skip
        print(f"confusion (expected->stored): {acc['confusion']}")
        if acc["fields_unscored"]:
            print(f"fields not scored for {acc['fields_unscored']} people found through an old "
                  "CMND number the registry keeps on someone else (a conflict: different person)")  # fmt: skip
        for ex in acc["examples"][:8]:
            print(f"  e.g. {ex}")
        goals.append(("match ≤ 600 s", seconds <= 600))
        goals += [(f"{o} precision/recall ≥ 0.99",
                   m["precision"] >= 0.99 and m["recall"] >= 0.99)
                  for o, m in acc["by_outcome"].items() if m["expected"]]  # fmt: skip
        goals.append(("differences precision/recall ≥ 0.99",
                      d["precision"] >= 0.99 and d["recall"] >= 0.99))  # fmt: skip
        if not args.skip_link:
            return link_part(args, summary, goals, env, hoso_pg, popsim_pg,
                             (people, registry, truth))  # fmt: skip
        return None
    finally:
        if server is not None:
            server.terminate()
            server.communicate(timeout=30)
        cluster.stop()


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    """Prepare, measure, compare and print (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--defect-rate", type=float, default=0.05)
    ap.add_argument("--others-factor", type=float, default=4.0)
    ap.add_argument("--difference-rate", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument(
        "--client-rate",
        type=float,
        default=None,
        help="client calls per second (default: HOSO_POPULATION_RATE_PER_SECOND)",
    )
    ap.add_argument(
        "--server-rate",
        type=float,
        default=None,
        help="simulator calls per second per key (default: its setting)",
    )
    ap.add_argument("--prob-records", type=int, default=100_000)
    ap.add_argument("--skip-probabilistic", action="store_true")
    ap.add_argument("--skip-link", action="store_true", help="no link step (step 6)")
    ap.add_argument("--train", action="store_true",
                    help="train the model on the step-7 records and print the parameters")  # fmt: skip
    ap.add_argument("--noise", choices=("realistic", "harsh"), default="realistic",
                    help="noise of the step-7 records (bench/match_probabilistic.py)")  # fmt: skip
    ap.add_argument(
        "--probabilistic-only",
        action="store_true",
        help="only the probabilistic part (registry of 5 x --count citizens)",
    )
    ap.add_argument("--baseline-sample", type=int, default=100_000)
    args = ap.parse_args()  # fmt: skip
    print(f"bench/match.py; {load()}; {os.cpu_count()} CPUs")
    from hoso.config import Settings

    defaults = Settings()
    client_rate = (
        args.client_rate if args.client_rate is not None else defaults.population_rate_per_second
    )
    server_rate = (
        args.server_rate if args.server_rate is not None else defaults.popsim_rate_per_second
    )
    summary: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "count": args.count,
        "seed": args.seed, "defect_rate": args.defect_rate, "batch_size": args.batch_size,
        "client_rate": client_rate, "server_rate": server_rate,
    }  # fmt: skip
    goals: list[tuple[str, bool]] = []
    extract = None
    if not args.probabilistic_only:
        extract = verification(args, summary, goals, client_rate, server_rate)

    if not args.skip_probabilistic and args.prob_records:
        registry_size = round((1 + args.others_factor) * args.count)
        print(f"\nprobabilistic: {args.prob_records:,} records without ID against "
              f"{registry_size:,} citizens ({load()}) …")  # fmt: skip
        prob = probabilistic_part(
            registry_size, args.prob_records, 11, extract, args.noise, args.train
        )
        summary["probabilistic"] = prob
        print(f"{'registry':>24}: {prob['registry']}")
        for key in ("records", "predicted", "auto", "review"):
            print(f"{key:>24}: {prob[key]:,}")
        for key in ("precision", "recall", "auto_precision"):
            print(f"{key:>24}: {prob[key]:.4f}")
        print(f"{'seconds':>24}: {prob['seconds']}")
        goals.append(("probabilistic ≤ 600 s", prob["seconds"] <= 600))
        goals.append(("probabilistic precision/recall ≥ 0.99",
                      prob["precision"] >= 0.99 and prob["recall"] >= 0.99))  # fmt: skip
        goals.append(("auto-accepted precision ≥ 0.999", prob["auto_precision"] >= 0.999))
    print()
    for name, ok in goals:
        print(f"goal {name}: {'met' if ok else 'NOT met'}")
    summary["goals"] = dict(goals)
    name = f"match_{args.count}_probabilistic" if args.probabilistic_only else f"match_{args.count}"
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    print(f"→ {path}")


if __name__ == "__main__":
    main()
