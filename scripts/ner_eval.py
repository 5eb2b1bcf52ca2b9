"""Evaluate keel's NER tagger on a set built apart from its training: python -m scripts.ner_eval

The set: scripts/ner_eval_templates.py's templates (other phrasings, and Polish and Swedish,
which training never saw), person names from the names-dataset package (not faker: the
training's source), addresses and companies from faker locales the training did not use
(en_AU, en_IE, de_AT, de_CH, fr_CH, es_MX, nl_BE, pt_BR, pl_PL, sv_SE; Italian keeps it_IT,
faker having no other Italian addresses), and look-alike texts with no entity at all.
Scores are per kind and per language group; a match needs the kind and the exact span.
Also: the share of look-alike texts damaged (any entity found in them), recall on names
the shipped name lists do not hold, and the cost per message on one core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from pathlib import Path

from names_dataset import NameDataset

from keel.guard.ner import MODEL_PATH, Tagger, load
from keel.guard.pii.detectors import detect
from keel.table import render_table
from scripts import ner_negatives as neg
from scripts.ner_corpus import Example, Filler, fill
from scripts.ner_eval_lookalikes import disjoint, look_alikes
from scripts.ner_eval_templates import EVAL

# Language -> (names-dataset country, faker locales for addresses and companies).
SOURCES: dict[str, tuple[str, list[str]]] = {
    "en": ("US", ["en_AU", "en_IE"]),
    "de": ("DE", ["de_AT", "de_CH"]),
    "fr": ("FR", ["fr_CH"]),
    "es": ("ES", ["es_MX"]),
    "it": ("IT", ["it_IT"]),
    "nl": ("NL", ["nl_BE"]),
    "pt": ("PT", ["pt_BR"]),
    "pl": ("PL", ["pl_PL"]),
    "sv": ("SE", ["sv_SE"]),
}
HELD_OUT = {"pl", "sv"}
EVAL_BRANDS = ["Renault", "Tesla", "Opel", "Zeiss", "Bose", "Gillette", "Dodge", "Otis"]


class NamesFiller(Filler):
    """Person names from names-dataset's lists; the rest from faker."""

    def __init__(self, locale: str, seed: int, first: list[str], last: list[str]) -> None:
        super().__init__(locale, locale, seed, EVAL_BRANDS)
        self.first, self.last = first, last

    def __call__(self, slot: str) -> str:
        if slot == "first":
            return self.rng.choice(self.first)
        if slot == "last":
            return self.rng.choice(self.last)
        return super().__call__(slot)

    def name(self) -> str:
        return self.rng.choice(self.first) + " " + self.rng.choice(self.last)


def names(nd: NameDataset, country: str) -> tuple[list[str], list[str]]:
    top = nd.get_top_names(n=300, country_alpha2=country)[country]
    first = sorted({n for g in ("M", "F") for n in top.get(g, []) if n.isalpha()})
    last = nd.get_top_names(n=300, country_alpha2=country, use_first_names=False)[country]
    return first, sorted({n for n in last if n.replace("-", "").isalpha()})


def build(per_template: int, seed: int) -> list[Example]:
    nd = NameDataset()
    out: list[Example] = []
    for lang, templates in EVAL.items():
        country, locales = SOURCES[lang]
        first, last = names(nd, country)
        group = ("held-out:" if lang in HELD_OUT else "seen:") + lang
        for t_i, template in enumerate(templates):
            for l_i, locale in enumerate(locales):
                filler = NamesFiller(locale, seed + 100 * t_i + l_i, first, last)
                out += [fill(template, filler, group) for _ in range(per_template)]
    return out


Key = tuple[int, int, str]


def score(tagger: Tagger, examples: list[Example]) -> dict[tuple[str, str], Counter[str]]:
    """(group, kind) -> counts of tp, fp, fn; group "all" and per language group."""
    counts: dict[tuple[str, str], Counter[str]] = {}
    for ex in examples:
        gold = set(ex.spans)
        got = {(e.start, e.end, e.kind.value) for e in tagger(ex.text)}
        for g in ("all", ex.group.split(":")[0], ex.group):
            _count(counts, g, gold, got)
    return counts


def _count(
    counts: dict[tuple[str, str], Counter[str]], group: str, gold: set[Key], got: set[Key]
) -> None:
    for name, keys in (("tp", gold & got), ("fn", gold - got), ("fp", got - gold)):
        for _, _, kind in keys:
            for k in (kind, "ALL"):
                counts.setdefault((group, k), Counter())[name] += 1


def prf(c: Counter[str]) -> tuple[float, float, float]:
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def unknown_recall(tagger: Tagger, examples: list[Example]) -> tuple[int, float]:
    """Recall on PERSON spans none of whose words the name lists hold."""
    gaz = tagger.gazetteer
    hit = total = 0
    for ex in examples:
        got = {(e.start, e.end, e.kind.value) for e in tagger(ex.text)}
        for s in ex.spans:
            words = ex.text[s[0] : s[1]].lower().split()
            if s[2] == "PERSON" and not any(w in gaz.first or w in gaz.last for w in words):
                total += 1
                hit += s in got
    return total, hit / total if total else 0.0


def cost(tagger: Tagger, texts: list[str], repeat: int = 3) -> list[float]:
    per: list[float] = []
    for text in texts:
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            tagger(text)
            best = min(best, time.perf_counter() - t0)
        per.append(best * 1000)
    return per


def report_look_alikes(tagger: Tagger, sets: dict[str, list[str]], show: int) -> float:
    """Per generator: texts damaged (any entity found); returns the share over all."""
    rows = [["look-alikes", "texts", "damaged", "share"]]
    total = bad = 0
    examples: list[str] = []
    for name, texts in sets.items():
        hits = [(t, tagger(t)) for t in texts]
        damaged = [(t, found) for t, found in hits if found]
        rows.append([name, str(len(texts)), str(len(damaged)), f"{len(damaged) / len(texts):.3f}"])
        total, bad = total + len(texts), bad + len(damaged)
        examples += [
            f"  {t!r} {[(e.kind.value, t[e.start : e.end]) for e in f]}" for t, f in damaged[:show]
        ]
    rows.append(["all", str(total), str(bad), f"{bad / total:.3f}"])
    print("\n" + render_table(rows, numeric_from=1))
    print("\n".join(examples))
    return bad / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-template", type=int, default=40)
    parser.add_argument("--model", type=Path, default=MODEL_PATH)
    parser.add_argument("--show", type=int, default=3, help="damaged texts shown per set")
    args = parser.parse_args()
    tagger = load(args.model)
    examples = build(args.per_template, seed=2024)
    counts = score(tagger, examples)
    rows = [["group", "kind", "gold", "precision", "recall", "F1"]]
    for (g, k), c in sorted(counts.items()):
        rows.append([g, k, str(c["tp"] + c["fn"]), *(f"{x:.3f}" for x in prf(c))])
    print(render_table(rows, numeric_from=2))
    sets = look_alikes()
    shared = disjoint({w for ws in (neg.BRANDS, neg.MODELS, neg.HEADINGS, neg.SOFTWARE_ALL,
                                    neg.LINES) for w in ws})  # fmt: skip
    print(f"\nlook-alike words also in training: {shared or 'none'}")
    report_look_alikes(tagger, sets, args.show)
    n, rec = unknown_recall(tagger, examples)
    print(f"PERSON recall on names outside the name lists: {rec:.3f} (n={n})")
    texts = [ex.text for ex in examples] + [t for ts in sets.values() for t in ts]
    ms = cost(tagger, texts)
    long = " ".join(texts[:: max(1, len(texts) // 25)])[:2000]
    ms_long = cost(tagger, [long], repeat=10)[0]
    full = cost(lambda t: detect(t, ner=tagger), texts)  # type: ignore[arg-type]
    q = statistics.quantiles(ms, n=100)
    chars = statistics.mean(len(t) for t in texts)
    print(
        f"\nms per message ({len(texts)} texts, mean {chars:.0f} chars): "
        f"mean {statistics.mean(ms):.3f}, p50 {q[49]:.3f}, p99 {q[98]:.3f}; "
        f"2,000-char text {ms_long:.2f}; detect(ner=...) mean {statistics.mean(full):.3f}"
    )


if __name__ == "__main__":
    main()
