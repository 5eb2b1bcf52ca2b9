"""Look-alike texts for the NER evaluation (scripts/ner_eval.py): no person, address or
company in any of them, so every entity the tagger finds is damage.

Six generators, each its own frames and word lists, written apart from the training's
negatives (scripts/ner_negatives.py; ``disjoint`` checks that no brand, model, software
or heading word of these lists is one of training's): product names with model numbers,
brand plus product, headings and title-case phrases, software with versions, place names
in codes, and product lines named like streets. Seeded: the same call, the same texts.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["GENERATORS", "HAND_WRITTEN", "look_alikes"]

# Written by hand in the first round (kept: the numbers stay comparable).
HAND_WRITTEN = [
    "The Berlin-X200 router ships with firmware 3.2.",
    "Is the Paris-7 adapter compatible with the Vienna Pro 2 headset?",
    "We replaced the Salzburg-S3 units with Dakota 500 models.",
    "Our fleet has 12 Renault Clio and 4 Tesla Model 3 cars.",
    "The Opel Corsa needs new tyres before the trip.",
    "Shot on a Leica M11 with a Zeiss Otus 55mm lens.",
    "My Bose QC45 lost its left ear cushion.",
    "Buy two packs of Gillette Fusion blades.",
    "The Dodge Ram and the Chevrolet Bolt were both recalled.",
    "Use a Stihl MS 170 for small branches.",
    "The Otis Gen2 lift in building C is out of order.",
    "Citroën C3 Aircross, diesel, 2019, 80,000 km.",
    "Deploy Kubernetes 1.29 to the Frankfurt and Dublin regions.",
    "Set the Madrid-Q5 printer as default.",
    "Lisbon 300 chairs are back in stock.",
    "Dior Sauvage 100 ml is on offer this week.",
    "The Kärcher K5 pressure washer arrived damaged.",
    "Der Hamburg-Z9 Router startet ständig neu.",
    "Le modèle Lyon-4 est en rupture de stock.",
    "El Sevilla-10 ya no se fabrica.",
    "Il Torino-X2 è compatibile con Windows 11.",
    "De Utrecht-M1 fiets heeft een nieuwe ketting nodig.",
    "Weekly Report: Sales Pipeline, Churn Analysis, Hiring Update.",
    "Run the Jenkins job Nightly Build on the Ubuntu 22.04 agent.",
    "Open the Tableau dashboard and filter on Q4 2023.",
    "Use the Adobe Premiere Pro 2024 preset for 4K export.",
    "The Nikon Z6 II and Canon R6 both shoot 4K.",
    "Please file this under Project Phoenix, Milestone 3.",
    "Error 404 on /api/v2/users: see the Grafana panel Latency P99.",
    "Book the Oslo meeting room for the Stockholm-B2 demo.",
]

# Brands that are also surnames or given names, and model words shaped like names.
BRANDS = ["Zeiss", "Gillette", "Otis", "Dodge", "Renault", "Tesla", "Opel", "Bose", "Leica",
          "Kärcher", "Stihl", "Makita", "Hilti", "Garmin", "Lenovo", "Epson", "Brother",
          "Sennheiser", "Rolex", "Omega", "Barbour", "Hermès", "Chanel", "Cartier", "Bugatti",
          "Ducati", "Maserati", "Lancia", "Skoda", "Carrera", "Stanley", "Bentley"]  # fmt: skip
MODELS = ["Otus", "Fusion", "Corsa", "Clio", "Astra", "Octavia", "Fabia", "Ghibli", "Monster",
          "Speedmaster", "Daytona", "Submariner", "Tank", "Santos", "Forerunner", "Fenix",
          "Venture", "Legend", "Ranger", "Voyager", "Pilot", "Echo", "Sierra", "Delta",
          "Harmony", "Eclipse", "Rhapsody", "Meridian", "Horizon", "Vantage"]  # fmt: skip
_PRODUCT_FRAMES = [
    "The {brand} {code} arrived with a cracked screen.",
    "We ordered 20 {brand} {code} units for the warehouse.",
    "Is the {brand} {code} still under warranty?",
    "Der {brand} {code} ist wieder lieferbar.",
    "Le {brand} {code} coûte 349 euros.",
    "El {brand} {code} no enciende.",
    "Return reason: {brand} {code} too loud.",
    "Compare {brand} {code} with {brand2} {code2} on price.",
]
_BRAND_FRAMES = [
    "I bought a {brand} {model} last spring.",
    "The {brand} {model} is on sale until Sunday.",
    "Our {brand} {model} needs a service.",
    "Review: the {brand} {model} after six months.",
    "Wir haben den {brand} {model} getestet.",
    "La {brand} {model} est très fiable.",
    "Ik overweeg de {brand} {model} te kopen.",
    "Two {brand} {model} and one {brand2} {model2} in the cart.",
]
HEADINGS = ["Quarterly Outlook", "Vendor Onboarding", "Incident Review", "Growth Strategy",
            "Capacity Planning", "Migration Plan", "Pricing Update", "Partner Program",
            "Field Notes", "Retention Analysis", "Launch Checklist", "Support Backlog",
            "Travel Policy", "Holiday Schedule", "Infrastructure Roadmap", "Final Draft",
            "Open Questions", "Action Items", "Lessons Learned", "Golden Path",
            "Silver Lining", "North Star", "Blue Ocean", "Red Team", "Night Shift",
            "Morning Standup", "Project Atlas", "Project Hermes", "Operation Sunrise",
            "Phase Two", "Sales Kickoff", "Winter Release", "Iron Bridge"]  # fmt: skip
_HEADING_FRAMES = [
    "{h1}: {h2}, {h3}.",
    "Agenda\n{h1}\n{h2}\n{h3}",
    "Re: {h1}",
    "See the page {h1} under {h2}.",
    "Notes from {h1} and {h2}",
    "Tagesordnung: {h1}, {h2}",
    "Ordre du jour : {h1}",
    "Please add {h1} to the {h2} doc.",
]
SOFTWARE = ["Windows", "Ubuntu", "Kubernetes", "PostgreSQL", "Redis", "Nginx", "Terraform",
            "Ansible", "Docker", "Fedora", "Jenkins", "Grafana", "Kafka", "Elasticsearch",
            "Angular", "React", "Django", "Rails", "Gitea", "Kotlin", "Rust", "Golang",
            "Blender", "Unity", "Unreal", "Oracle", "Sonoma", "Ventura", "Monterey"]  # fmt: skip
_SOFTWARE_FRAMES = [
    "Upgrade to {sw} {ver} before the audit.",
    "The bug only shows on {sw} {ver}.",
    "We still run {sw} {ver} in staging and {sw2} {ver2} in production.",
    "Requires {sw} {ver} or later.",
    "Bitte {sw} {ver} auf allen Servern installieren.",
    "Mise à jour vers {sw} {ver} prévue lundi.",
    "Tested with {sw} {ver}, {sw2} {ver2}.",
]
PLACES = ["Dublin", "Frankfurt", "Zurich", "Warsaw", "Prague", "Milan", "Denver", "Austin",
          "Phoenix", "Dallas", "Sydney", "Toronto", "Geneva", "Lyon", "Porto", "Seville",
          "Bergen", "Tampa", "Houston", "Florence", "Victoria", "Jackson", "Charlotte"]  # fmt: skip
_PLACE_FRAMES = [
    "Move the job to the {place} region.",
    "The {place}-{code} switch is down again.",
    "Route traffic via {place}{num} and {place2}{num2}.",
    "Printer {place}-{code} on floor 3 is out of toner.",
    "Servers in {place} and {place2} are healthy.",
    "Der Standort {place} meldet keine Fehler.",
    "Use the {place} {code} gateway for EU customers.",
    "Bucket {lower}-{num} lives in {place}.",
]
STREETS = ["Abbey Road", "Park Avenue", "Baker Street", "Sunset Boulevard", "Broadway",
           "Wall Street", "Main Street", "Harbour Lane", "Ocean Drive", "Maple Court",
           "Rose Garden", "Kings Road", "Elm Street", "Mill Lane", "Bridge Road"]  # fmt: skip
_STREET_FRAMES = [
    "The {street} {num} sofa comes in three colours.",
    "Order the {street} collection lamp, model {num}.",
    "Our {street} {num} desk is back in stock.",
    "The {street} Edition {num} box set sold out.",
    "Add two {street} {num} chairs to the quote.",
    "Das Regal {street} {num} ist ausverkauft.",
    "Le canapé {street} {num} est livré en kit.",
]
_LETTERS = "ABCDFGHJKLMNPQRSTWXYZ"


def _code(rng: random.Random) -> str:
    letters = "".join(rng.choice(_LETTERS) for _ in range(rng.randint(1, 3)))
    return rng.choice([letters + str(rng.randint(1, 999)), str(rng.randint(100, 9000)), letters])


def _version(rng: random.Random) -> str:
    return rng.choice([str(rng.randint(2, 24)), f"{rng.randint(1, 20)}.{rng.randint(0, 40)}"])


def _products(rng: random.Random) -> str:
    two = rng.sample(BRANDS, 2)
    return rng.choice(_PRODUCT_FRAMES).format(
        brand=two[0], brand2=two[1], code=_code(rng), code2=_code(rng)
    )


def _brands(rng: random.Random) -> str:
    b, m = rng.sample(BRANDS, 2), rng.sample(MODELS, 2)
    return rng.choice(_BRAND_FRAMES).format(brand=b[0], brand2=b[1], model=m[0], model2=m[1])


def _headings(rng: random.Random) -> str:
    h = rng.sample(HEADINGS, 3)
    return rng.choice(_HEADING_FRAMES).format(h1=h[0], h2=h[1], h3=h[2])


def _software(rng: random.Random) -> str:
    s = rng.sample(SOFTWARE, 2)
    return rng.choice(_SOFTWARE_FRAMES).format(
        sw=s[0], sw2=s[1], ver=_version(rng), ver2=_version(rng)
    )


def _places(rng: random.Random) -> str:
    p = rng.sample(PLACES, 2)
    return rng.choice(_PLACE_FRAMES).format(
        place=p[0], place2=p[1], code=_code(rng), lower=p[0].lower(),
        num=rng.randint(1, 9), num2=rng.randint(1, 9),
    )  # fmt: skip


def _streets(rng: random.Random) -> str:
    return rng.choice(_STREET_FRAMES).format(street=rng.choice(STREETS), num=rng.randint(2, 990))


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "product+model number": _products,
    "brand+product": _brands,
    "headings, title case": _headings,
    "software+version": _software,
    "place names in codes": _places,
    "street-like products": _streets,
}


def look_alikes(per_generator: int = 40, seed: int = 11) -> dict[str, list[str]]:
    """Generator name -> its distinct texts (and "hand-written": the first round's 30)."""
    out: dict[str, list[str]] = {"hand-written": list(HAND_WRITTEN)}
    for name, make in GENERATORS.items():
        rng, texts = random.Random(f"{seed}:{name}"), dict[str, None]()
        for _ in range(per_generator * 20):
            texts[make(rng)] = None
            if len(texts) == per_generator:
                break
        out[name] = list(texts)
    return out


def disjoint(training_words: set[str]) -> list[str]:
    """This module's list words that training's negatives also use (should be none)."""
    ours = {w for group in (BRANDS, MODELS, HEADINGS, SOFTWARE, STREETS) for w in group}
    return sorted(ours & training_words)
