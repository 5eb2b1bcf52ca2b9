"""Evaluation templates and look-alikes for the NER tagger (scripts/ner_eval.py).

Written apart from the training templates (scripts/ner_templates.py): other phrasings,
other context words, two languages (Polish, Swedish) the training never saw, and
look-alikes (products, brands that are surnames, place names in product codes) disjoint
from the training's brands. The same author wrote both sets, so this measures how far the
tagger carries beyond its own templates, not how it does on real mail.
"""

from __future__ import annotations

__all__ = ["EVAL", "LOOK_ALIKES"]

EVAL: dict[str, list[str]] = {
    "en": [
        "Could you ask {name} to call me back?",
        "{first} and {name2} are joining the project next month.",
        "Attn: {name}, {org}",
        "Our accountant, {name}, needs the receipts by Monday.",
        "Please update the delivery address to {addr}.",
        "Professor {last} approved the thesis of {name}.",
        "The lease for {addr} is signed by {org}.",
        "I had lunch with {first} today; she says hi.",
        "Reminder: {name} owes {org} two invoices.",
        "Regards,\n{name}\n{org}",
    ],
    "de": [
        "Kannst du {name} bitte zurückrufen?",
        "Unser Steuerberater {name} braucht die Belege bis Freitag.",
        "Neue Lieferanschrift: {addr}",
        "Frau {last} hat den Antrag von {name} genehmigt.",
        "Das Angebot von {org} liegt bei {first}.",
        "Mit freundlichen Grüßen\n{name}\n{org}",
        "Der Mietvertrag für {addr} wurde von {org} unterschrieben.",
    ],
    "fr": [
        "Pouvez-vous demander à {name} de me rappeler ?",
        "Notre comptable, {name}, attend les reçus lundi.",
        "Nouvelle adresse de livraison : {addr}",
        "Madame {last} a validé la demande de {name}.",
        "Cordialement,\n{name}\n{org}",
        "Le bail du {addr} est signé par {org}.",
    ],
    "es": [
        "¿Puedes pedirle a {name} que me llame?",
        "Nuestro contable, {name}, necesita los recibos el lunes.",
        "Nueva dirección de entrega: {addr}",
        "La señora {last} aprobó la solicitud de {name}.",
        "Saludos,\n{name}\n{org}",
    ],
    "it": [
        "Puoi chiedere a {name} di richiamarmi?",
        "Il nostro commercialista, {name}, aspetta le ricevute lunedì.",
        "Nuovo indirizzo di consegna: {addr}",
        "Cordiali saluti,\n{name}\n{org}",
    ],
    "nl": [
        "Kun je {name} vragen me terug te bellen?",
        "Nieuw afleveradres: {addr}",
        "Mevrouw {last} heeft de aanvraag van {name} goedgekeurd.",
        "Met vriendelijke groet,\n{name}\n{org}",
    ],
    "pt": [
        "Podes pedir ao {name} para me ligar?",
        "Nova morada de entrega: {addr}",
        "Com os melhores cumprimentos,\n{name}\n{org}",
    ],
    "pl": [
        "Czy możesz poprosić {name} o telefon?",
        "Nowy adres dostawy: {addr}",
        "Pani {last} zatwierdziła wniosek, który złożył {name}.",
        "{name} pracuje w firmie {org}.",
        "Z poważaniem,\n{name}\n{org}",
        "Faktura dla {org}, {addr}.",
    ],
    "sv": [
        "Kan du be {name} att ringa mig?",
        "Ny leveransadress: {addr}",
        "{name} arbetar på {org} sedan i våras.",
        "Med vänliga hälsningar,\n{name}\n{org}",
        "Fakturan ska skickas till {org}, {addr}.",
        "Jag träffade {first} på mötet igår.",
    ],
}

# Texts with no person, address or company in them: any entity found is damage.
LOOK_ALIKES = [
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
