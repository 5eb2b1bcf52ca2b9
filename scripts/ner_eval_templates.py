"""Evaluation templates and look-alikes for the NER tagger (scripts/ner_eval.py).

Written apart from the training templates (scripts/ner_templates.py): other phrasings,
other context words, and two languages (Polish, Swedish) the training never saw. The
look-alikes are in scripts/ner_eval_lookalikes.py. The same author wrote both sets, so
this measures how far the tagger carries beyond its own templates, not how it does on
real mail.
"""

from __future__ import annotations

__all__ = ["EVAL"]

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
