"""Evaluate the prompt embedding drift test: python -m scripts.embedding_drift_eval [--quick]

Prompts come from scripts/embedding_drift_corpus.py's sources (topic families in four
languages), embedded once with the monitor's own embedding thread (keel.monitor.embedder).
Every check compares a reference window of base traffic with a current window, as the monitor
does (keel.monitor.mmd, the configured default of 300 permutations):

- false alarms: both windows drawn from the base source, disjoint, many seeds;
- rephrased traffic: the same topic mixture worded by the other half of the templates (not a
  null of the test: a change a user may not care about, and how often it is flagged);
- power: the current window with a share (10, 25, 50%) of a new family mixed in;

at two current window sizes, against a 500-vector reference. Also the cost: prompts embedded
per second by the thread, and the time of one check. Writes
bench/results/<date>-embedding-drift.json.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from keel.monitor.embedder import Embedder, Pending, minilm_encoder
from keel.monitor.embeddings import as_matrix
from keel.monitor.mmd import Vectors, mmd_test
from scripts.embedding_drift_corpus import DRIFTS, prompts

RESULTS = Path(__file__).parents[1] / "bench" / "results"
REFERENCE = 500
CURRENT = (100, 500)
SHARES = (0.1, 0.25, 0.5)
PERMUTATIONS = 300
ALPHAS = (0.01, 0.05)


def embed(texts: list[str]) -> tuple[Vectors, float]:
    """Vectors of ``texts`` through the monitor's thread, and its prompts per second."""
    unique = sorted(set(texts))
    embedder = Embedder(minilm_encoder, size=len(unique) + 1)
    embedder.submit(Pending(0.0, "warm", "-", "-", "warm up the model"))
    while embedder.embedded < 1:
        time.sleep(0.01)
    started = time.perf_counter()
    for i, text in enumerate(unique):
        embedder.submit(Pending(float(i), "m", "-", "-", text))
    while embedder.embedded < len(unique) + 1:
        time.sleep(0.01)
    rate = len(unique) / (time.perf_counter() - started)
    rows = sorted((r for r in embedder.take() if r.model == "m"), key=lambda r: r.ts)
    embedder.close()
    index = {text: i for i, text in enumerate(unique)}
    vectors = as_matrix(rows)
    return vectors[[index[t] for t in texts]], rate


def one_by_one_rate(texts: list[str]) -> float:
    """Prompts per second when each arrives alone (light traffic: a model run per prompt)."""
    encode = minilm_encoder()
    encode(["warm up"])
    started = time.perf_counter()
    for text in texts:
        encode([text])
    return len(texts) / (time.perf_counter() - started)


def draw(pool: Vectors, rng: np.random.Generator, n: int) -> Vectors:
    return pool[rng.choice(len(pool), size=n, replace=False)]


def rates(p_values: list[float]) -> dict[str, Any]:
    p = np.array(p_values)
    out: dict[str, Any] = {"trials": len(p)}
    for alpha in ALPHAS:
        k = int(np.sum(p < alpha))
        out[f"rate_{alpha}"] = k / len(p)
        out[f"ci95_{alpha}"] = wilson(k, len(p))
    # Under no drift P(p <= q) is at most q: the share at each decile shows it.
    out["share_p_at_most"] = {
        f"{q:.1f}": float(np.mean(p <= q + 1e-9)) for q in np.arange(1, 10) / 10
    }
    return out


def wilson(k: int, n: int, z: float = 1.96) -> list[float]:
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def null_row(base: Vectors, m: int, trials: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ps = []
    for _ in range(trials):
        picked = base[rng.choice(len(base), size=REFERENCE + m, replace=False)]
        ps.append(mmd_test(picked[:REFERENCE], picked[REFERENCE:], PERMUTATIONS, rng).p_value)
    return rates(ps)


def mixed_row(
    reference: Vectors, base: Vectors, drift: Vectors, share: float, m: int, trials: int, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    k = round(share * m)
    ps = []
    for _ in range(trials):
        current = np.vstack([draw(base, rng, m - k), draw(drift, rng, k)])
        ps.append(mmd_test(draw(reference, rng, REFERENCE), current, PERMUTATIONS, rng).p_value)
    return rates(ps)


def check_seconds(base: Vectors, m: int) -> float:
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for _ in range(5):
        mmd_test(draw(base, rng, REFERENCE), draw(base, rng, m), PERMUTATIONS, rng)
    return (time.perf_counter() - started) / 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials (a smoke run)")
    args = parser.parse_args()
    null_trials, power_trials = (60, 20) if args.quick else (500, 100)
    sources = {"base": prompts("base", 6000, 0), "half0": prompts("base", 3000, 1, half=0),
               "half1": prompts("base", 3000, 2, half=1)}  # fmt: skip
    sources |= {d: prompts(d, 1500, 3) for d in DRIFTS}
    texts = [t for pool in sources.values() for t in pool]
    vectors, thread_rate = embed(texts)
    pools, at = {}, 0
    for name, pool in sources.items():
        pools[name], at = vectors[at : at + len(pool)], at + len(pool)
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.node(),
        "cpus": os.cpu_count(), "reference": REFERENCE, "permutations": PERMUTATIONS,
        "distinct_prompts": {k: len(set(v)) for k, v in sources.items()},
        "cost": {"thread_prompts_per_s": round(thread_rate, 1),
                 "one_by_one_prompts_per_s": round(one_by_one_rate(sources["base"][:300]), 1),
                 "check_s": {str(m): round(check_seconds(pools["base"], m), 4) for m in CURRENT}},
        "null": {}, "rephrased": {}, "power": {},
    }  # fmt: skip
    for m in CURRENT:
        result["null"][str(m)] = null_row(pools["base"], m, null_trials, seed=m)
        result["rephrased"][str(m)] = mixed_row(
            pools["half0"], pools["half1"], pools["half1"], 0.0, m, power_trials, seed=m + 1
        )
        for d, drift in enumerate(DRIFTS):
            for s, share in enumerate(SHARES):
                seed = m * 100 + d * 10 + s
                row = mixed_row(pools["base"], pools["base"], pools[drift], share, m,
                                power_trials, seed)  # fmt: skip
                result["power"].setdefault(drift, {}).setdefault(str(m), {})[str(share)] = row
        print(f"window {m}: null {result['null'][str(m)]}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    label = "-quick" if args.quick else ""
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-embedding-drift{label}.json"
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
