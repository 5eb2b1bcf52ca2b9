"""Training sentences with look-alikes in them (scripts/ner_corpus.py): products named after
people or places, brands with model words, headings and other title-case phrases, software
with versions, place names in codes, and product lines named like streets, in the
training's seven languages, some beside a real name or company.

Their slots ({brand} {model} {heading} {sw} {ver} {line} {code} {city} {num}) are no
entity; {name} {first} {last} {org} are. Written apart from the evaluation's look-alikes
(scripts/ner_eval_lookalikes.py, which checks that its words are none of these).
"""

from __future__ import annotations

import random
import zlib
from functools import cache

from scripts.ner_templates import BRANDS as NAMED_BRANDS
from scripts.ner_templates import MODEL_WORDS, SOFTWARE, TOPICS

__all__ = ["BRANDS", "FRAMES", "HEADINGS", "LINES", "MODELS", "SOFTWARE_ALL", "held_out", "value"]

BRANDS = [*NAMED_BRANDS, "Hudson", "Carter", "Harrison", "Morgan", "Jensen", "Lotus",
          "Rover", "Hamilton", "Tissot", "Longines", "Seiko", "Citizen", "Montblanc",
          "Parker", "Waterman", "Kenwood", "Sharp", "Pioneer", "Denon", "Marantz",
          "Gardena", "Festool", "Metabo", "Ryobi", "Husqvarna", "Electrolux", "Gaggia",
          "Smeg", "Rowenta", "Krups", "Volvo", "Saab", "Fiat", "Mazda", "Nissan", "Cadillac",
          "Chrysler", "Pontiac", "McLaren", "Triumph", "Norton", "Vespa", "Benelli",
          "Aprilia", "Kawasaki", "Roland", "Korg", "Steinway", "Bechstein", "Leitz",
          "Faber", "Staedtler", "Moleskine", "Samsonite", "Rimowa", "Bugaboo", "Graco",
          "Lego", "Playmobil", "Ravensburger", "Haribo", "Lindt", "Milka", "Barilla"]  # fmt: skip
MODELS = [*MODEL_WORDS, "Puma", "Kuga", "Fiesta", "Golf", "Polo", "Passat", "Corolla",
          "Civic", "Accord", "Leaf", "Juke", "Yaris", "Picasso", "Spider", "Panda", "Punto",
          "Duster", "Logan", "Megane", "Prestige", "Ambassador", "Navigator", "Regent",
          "Baron", "Duke", "Marquis", "Monarch", "Sovereign", "Nomad", "Scout", "Mariner",
          "Sentinel", "Guardian", "Phantom", "Spirit", "Ghost", "Dawn", "Aria", "Luna",
          "Stella", "Bella", "Elise", "Esprit", "Traveller", "Royal", "Imperial", "Crown",
          "Signature", "Heritage", "Select", "Elite", "Premier", "Executive", "Studio"]  # fmt: skip
HEADINGS = [*TOPICS, "Sprint Review", "Roadmap Update", "Budget Planning", "Team Charter",
            "Customer Journey", "Release Train", "Hiring Pipeline", "Cloud Migration",
            "Security Review", "Cost Report", "Data Strategy", "Marketing Plan",
            "Brand Refresh", "Product Vision", "Tech Debt", "Year End", "Spring Campaign",
            "Autumn Update", "Project Falcon", "Project Orion", "Project Aurora",
            "Big Picture", "Deep Dive", "Quick Wins", "Next Steps", "Key Results",
            "Status Report", "Exit Interview", "Performance Review", "Office Move",
            "Green Team", "Safety Week", "Kick Off", "Go Live", "Dry Run", "Hot Fix",
            "Blue Sky", "White Paper", "Black Friday", "Happy Hour", "Open House",
            "Demo Day", "Hack Week", "Offene Punkte", "Neue Kunden", "Plan Stratégique",
            "Compte Rendu", "Orden del Día", "Nuovi Clienti", "Open Punten", "Novos Clientes",
            "Operation Blackbird", "Project Mercury", "Project Titan", "Silver Arrow",
            "Golden Gate", "Iron Man", "Red Line", "Night Train", "Early Bird"]  # fmt: skip
SOFTWARE_ALL = [*SOFTWARE, "Linux", "macOS", "Mint", "CentOS", "Alpine", "MySQL", "MariaDB",
                "Mongo", "Cassandra", "Spark", "Hadoop", "Airflow", "Jira", "Confluence",
                "Slack", "Zoom", "Word", "PowerPoint", "Vue", "Svelte", "Flask", "Spring",
                "Laravel", "Symfony", "Perl", "Ruby", "Scala", "Haskell", "Erlang", "Elixir",
                "Julia", "Dart", "Flutter", "Gradle", "Maven", "Helm", "Istio", "Envoy",
                "Prometheus", "Vault", "Consul", "Vagrant", "Puppet", "Chef", "Catalina",
                "Mojave", "Sequoia", "Yosemite", "Jammy", "Bookworm", "Bullseye"]  # fmt: skip
LINES = ["Carnaby Street", "Fifth Avenue", "Oxford Street", "Rodeo Drive", "Penny Lane",
         "Downing Street", "Portobello Road", "Savile Row", "Bourbon Street", "Lombard Street",
         "Beale Street", "Melrose Place", "Mulholland Drive", "Ocean Avenue", "Lakeside Drive",
         "Riverside Lane", "Oak Lane", "Willow Court", "Cedar Grove", "Birch Avenue",
         "Hollywood Boulevard", "Kensington", "Chelsea", "Montmartre", "Via Roma"]  # fmt: skip
_CODE = "ABCDEGHKMPRSTVXZ"

FRAMES: dict[str, list[str]] = {
    "en": [
        "I just bought the {brand} {model} and love it.",
        "The {brand} {model} {num} is back in stock.",
        "Our office uses {brand} {code} printers.",
        "Which is better, the {brand} {model} or the {brand2} {model2}?",
        "Return the {brand} {code} if it still rattles.",
        "{num} x {brand} {model}, {num2} x {brand2} {code}",
        "{name} ordered a {brand} {model} for the team.",
        "{first} says the {brand} {code} overheats.",
        "{org} replaced its {brand} {model} fleet.",
        "The {line} {num} lamp ships flat-packed.",
        "Add the {line} collection sofa to the order.",
        "Our {line} {num} armchair comes in grey.",
        "{heading}: {heading2}, {heading3}",
        "{heading}\n{heading2}\n{heading3}",
        "Re: {heading}",
        "Please see {heading} in the {heading2} folder.",
        "Minutes of the {heading} meeting.",
        "{name} will present {heading} on Friday.",
        "Upgrade {sw} to {ver} on every node.",
        "It crashes on {sw} {ver} but not on {sw2} {ver2}.",
        "Requires {sw} {ver} and {sw2} {ver2}.",
        "{first} pinned {sw} {ver} in the lock file.",
        "Move the workload to the {city} region.",
        "The {city}-{code} switch is offline.",
        "Router {city}{num} and {city2}{num2} are up.",
        "Printer {city}-{code} on floor {num} is jammed.",
        "Data centres in {city} and {city2} are green.",
        "Spare parts for the {brand} {code}, {brand2} {code2} and {brand3} {code3}.",
        "We sold {num} {brand} {code} and {num2} {brand2} {model} this month.",
        "{num} {brand} {code} units were shipped to {city}.",
        "The {brand} {code} replaces the older {brand} {code2}.",
        "Firmware {ver} for the {brand} {code} fixes the fan noise.",
        "Supported: {sw} {ver}, {sw2} {ver2}, {sw3} {ver3}.",
        "Works with {sw} {ver}, {sw2} {ver2} and {sw3} {ver3}.",
        "Ask {name} whether {sw} {ver} is approved.",
        "Two {brand} {model} and one {brand2} {code} are on the invoice.",
    ],
    "de": [
        "Ich habe den {brand} {model} gekauft.",
        "Der {brand} {code} ist defekt.",
        "{name} hat einen {brand} {model} bestellt.",
        "Das Sofa {line} {num} ist ausverkauft.",
        "Tagesordnung: {heading}, {heading2}",
        "Bitte {sw} {ver} installieren.",
        "Der Drucker {city}-{code} ist offline.",
        "Die Server in {city} und {city2} laufen.",
    ],
    "fr": [
        "J'ai acheté la {brand} {model} hier.",
        "Le {brand} {code} ne démarre plus.",
        "{name} a commandé un {brand} {model}.",
        "Le canapé {line} {num} est livré en kit.",
        "Ordre du jour : {heading}, {heading2}",
        "Installer {sw} {ver} sur les postes.",
        "L'imprimante {city}-{code} est en panne.",
    ],
    "es": [
        "Compré el {brand} {model} ayer.",
        "El {brand} {code} no funciona.",
        "{name} pidió un {brand} {model}.",
        "Orden del día: {heading}, {heading2}",
        "Instalar {sw} {ver} en todos los equipos.",
        "La impresora {city}-{code} está averiada.",
    ],
    "it": [
        "Ho comprato la {brand} {model}.",
        "Il {brand} {code} non si accende.",
        "{name} ha ordinato una {brand} {model}.",
        "Ordine del giorno: {heading}, {heading2}",
        "Installare {sw} {ver} su tutti i server.",
        "La stampante {city}-{code} è guasta.",
    ],
    "nl": [
        "Ik heb de {brand} {model} gekocht.",
        "De {brand} {code} doet het niet.",
        "{name} heeft een {brand} {model} besteld.",
        "Agenda: {heading}, {heading2}",
        "Installeer {sw} {ver} op alle servers.",
        "De printer {city}-{code} is stuk.",
    ],
    "pt": [
        "Comprei o {brand} {model} ontem.",
        "O {brand} {code} não liga.",
        "{name} encomendou um {brand} {model}.",
        "Ordem do dia: {heading}, {heading2}",
        "Instalar {sw} {ver} em todos os servidores.",
        "A impressora {city}-{code} está avariada.",
    ],
}


_LISTS = {"brand": BRANDS, "model": MODELS, "heading": HEADINGS, "sw": SOFTWARE_ALL,
          "line": LINES}  # fmt: skip


def held_out(key: str) -> bool:
    """Whether a word or template family is in the dev part (a fifth, by a hash of it)."""
    return zlib.crc32(key.encode()) % 5 == 0


@cache
def _pool(base: str, part: str) -> list[str]:
    words = _LISTS[base]
    if part == "all":
        return words
    return [w for w in words if held_out(w) == (part == "dev")]


def value(slot: str, rng: random.Random, part: str = "all") -> str | None:
    """A look-alike for ``slot`` (None: not one of this module's slots), from the ``part``
    of the word lists: "all", or "train" and "dev", the held-out fifth."""
    base = slot.rstrip("0123456789")
    if base in _LISTS:
        return rng.choice(_pool(base, part))
    if base == "ver":
        major = rng.randint(1, 30)
        return rng.choice([str(major), f"{major}.{rng.randint(0, 20)}"])
    if base == "code":
        letters = "".join(rng.choice(_CODE) for _ in range(rng.randint(1, 3)))
        return rng.choice([letters + str(rng.randint(1, 999)), letters, str(rng.randint(10, 9999))])
    return None
