"""Training templates for the NER tagger (scripts/train_ner.py), per language.

Slots: {name} {name2} {first} {last} are PERSON, {addr} {street} ADDRESS, {org} ORG;
{city} {city2} {product} {product2} {code} {num} are look-alikes filled in but outside any
entity (a town alone is no address; a product is no person). The evaluation's templates,
name lists and look-alikes (scripts/ner_eval.py) are written apart from these.
"""

from __future__ import annotations

__all__ = ["BRANDS", "MODEL_WORDS", "PRODUCT_WORDS", "TOPICS", "TRAIN"]

_NEGATIVE = [
    "The {product} is out of stock in {city}.",
    "We benchmarked the {product} against the {product2} last week.",
    "Deploy build {num} to the {city} cluster tonight.",
    "Order {num} units of the {product} for the {city} office.",
    "Error {code} in module {product} at line {num}.",
    "Flights from {city} to {city2} are delayed by two hours.",
    "Install the {product} driver and restart.",
    "Compare the {product} and the {product2} for battery life.",
    "Meeting notes: Q3 Roadmap, Budget Review, Hiring Plan.",
    "Please reset the password for the Admin Portal.",
    "Our team in {city} ships the {product} update on Monday.",
    "SKU {code}: {product}, colour Space Grey.",
    "We have {num} {product} and {num} {product2} in stock.",
    "Agenda: {topic}, {topic2}, {topic3}.",
    "{topic} – {topic2}",
    "Please move this to {topic}, Phase {num}.",
    "Status of {topic}: on track.",
    "{num} {product} were returned from {city}.",
]

# Title-case phrases that are no names (headings, project and document names).
TOPICS = [
    "Budget Review", "Release Notes", "Customer Success", "Revenue Forecast", "Team Offsite",
    "Data Platform", "Security Audit", "Brand Guidelines", "Onboarding Checklist",
    "Product Launch", "Annual Report", "Risk Register", "Sprint Planning", "Quality Gate",
    "Cost Centre", "Service Desk", "Board Meeting", "Price List", "Summer Sale", "Help Center",
    "Design Review", "Test Plan", "Market Study", "Weekly Sync", "Code Freeze", "Town Hall",
]

TRAIN: dict[str, list[str]] = {
    "en": [
        "Please forward this to {name} before Friday.",
        "Hi {first}, thanks for the quick reply.",
        "Dear Mr {last}, your order has shipped.",
        "Dear Ms {last}, thank you for your letter.",
        "{name} works at {org} and lives at {addr}.",
        "Send the invoice to {org}, {addr}.",
        "Can you summarise the call between {name} and {name2}?",
        "Our new supplier is {org}.",
        "My address is {addr}.",
        "The meeting with {name} from {org} moved to Tuesday.",
        "Ship it to {name}, {addr}",
        "{first} said the {product} arrived broken.",
        "Dr {last} will see you at {street} at 10am.",
        "I spoke to {first} {last} yesterday about the contract.",
        "Contract between {org} and {org2}, signed by {name}.",
        "Mrs {last} moved from {city} to {addr}.",
        "{name}\n{addr}",
        "Thanks, {first}! Talk soon.",
        "Best,\n{name} | {org}",
        "Cheers,\n{first}\n{org}",
        "Our lawyer {name} will send the draft.",
        "Tell {first} that {name2} called.",
        *_NEGATIVE,
    ],
    "de": [
        "Bitte leite das an {name} weiter.",
        "Sehr geehrte Frau {last}, vielen Dank für Ihre Nachricht.",
        "Sehr geehrter Herr {last}, anbei die Unterlagen.",
        "Hallo {first}, kannst du mir die Unterlagen schicken?",
        "{name} arbeitet bei {org} in {city}.",
        "Meine Adresse lautet {addr}.",
        "Die Rechnung geht an {org}, {addr}.",
        "Termin mit {name} ({org}) am Montag.",
        "Lieferung an {name}, {addr}",
        "Frau Dr. {last} ist ab {street} erreichbar.",
        "Ich habe gestern mit {first} über den Vertrag gesprochen.",
        "Der {product} ist in {city} ausverkauft.",
        "Wir vergleichen den {product} mit dem {product2}.",
        "Bitte bestellen Sie {num} Stück {product} für das Lager {city}.",
        "Grüße aus {city}, {first}",
        "Vertrag zwischen {org} und {org2}.",
        "Viele Grüße\n{name}, {org}",
        "Kannst du {first} fragen, ob {name2} morgen kommt?",
        "Unsere Anwältin {name} prüft den Vertrag.",
    ],
    "fr": [
        "Merci de transmettre ce dossier à {name}.",
        "Bonjour Madame {last}, votre commande est prête.",
        "Bonjour Monsieur {last}, voici le devis.",
        "Salut {first}, tu as reçu mon message ?",
        "{name} travaille chez {org} à {city}.",
        "Mon adresse est {addr}.",
        "Facture à envoyer à {org}, {addr}.",
        "Rendez-vous avec {name} de {org} jeudi.",
        "Livraison : {name}, {addr}",
        "M. {last} habite au {street}.",
        "Le {product} est disponible à {city}.",
        "Nous comparons le {product} et le {product2}.",
        "J'ai parlé avec {first} hier.",
        "Contrat entre {org} et {org2}.",
        "Bien à vous,\n{name} — {org}",
        "Peux-tu dire à {first} que {name2} a appelé ?",
    ],
    "es": [
        "Por favor, reenvía esto a {name}.",
        "Estimado señor {last}, su pedido ha sido enviado.",
        "Estimada señora {last}, gracias por su carta.",
        "Hola {first}, ¿me mandas los documentos?",
        "{name} trabaja en {org} y vive en {addr}.",
        "Mi dirección es {addr}.",
        "Enviar la factura a {org}, {addr}.",
        "Reunión con {name} de {org} el martes.",
        "El {product} está agotado en {city}.",
        "Comparamos el {product} con el {product2}.",
        "Hablé con {first} {last} ayer.",
        "Contrato entre {org} y {org2}.",
        "Un saludo,\n{name} ({org})",
        "Dile a {first} que {name2} ha llamado.",
    ],
    "it": [
        "Per favore inoltra questo a {name}.",
        "Gentile signor {last}, il suo ordine è stato spedito.",
        "Gentile signora {last}, grazie per la sua lettera.",
        "Ciao {first}, mi mandi i documenti?",
        "{name} lavora presso {org} e abita in {addr}.",
        "Il mio indirizzo è {addr}.",
        "Inviare la fattura a {org}, {addr}.",
        "Riunione con {name} di {org} martedì.",
        "Il {product} è esaurito a {city}.",
        "Abbiamo confrontato il {product} con il {product2}.",
        "Ho parlato con {first} ieri.",
        "Saluti,\n{name}, {org}",
        "Di' a {first} che ha chiamato {name2}.",
    ],
    "nl": [
        "Stuur dit alsjeblieft door naar {name}.",
        "Geachte heer {last}, uw bestelling is verzonden.",
        "Geachte mevrouw {last}, dank voor uw brief.",
        "Hoi {first}, kun je me de documenten sturen?",
        "{name} werkt bij {org} en woont op {addr}.",
        "Mijn adres is {addr}.",
        "Stuur de factuur naar {org}, {addr}.",
        "Afspraak met {name} van {org} op dinsdag.",
        "De {product} is uitverkocht in {city}.",
        "We vergelijken de {product} met de {product2}.",
        "Groeten,\n{name} - {org}",
        "Zeg tegen {first} dat {name2} heeft gebeld.",
    ],
    "pt": [
        "Por favor, encaminhe isto para {name}.",
        "Caro senhor {last}, a sua encomenda foi enviada.",
        "Cara senhora {last}, obrigado pela sua carta.",
        "Olá {first}, podes enviar-me os documentos?",
        "{name} trabalha na {org} e mora na {addr}.",
        "A minha morada é {addr}.",
        "Enviar a fatura para {org}, {addr}.",
        "Reunião com {name} da {org} na terça-feira.",
        "O {product} está esgotado em {city}.",
        "Cumprimentos,\n{name}, {org}",
        "Diz ao {first} que a {name2} ligou.",
    ],
}

# Brands that are also surnames or first names, in product names: they stay outside any
# entity. Disjoint from the evaluation's look-alikes.
BRANDS = [
    "Ford", "Dyson", "Miele", "Porsche", "Boeing", "Bosch", "Siemens", "Braun", "Philips",
    "Peugeot", "Ferrari", "Lamborghini", "Dell", "Hoover", "Kellogg", "Marshall", "Fender",
    "Gibson", "Jaguar", "Mercedes", "Disney", "Nestlé", "Heinz", "Casio", "Honda", "Suzuki",
    "Yamaha", "Wilson", "Lincoln", "Morris", "Martin", "Douglas", "Thomas", "Campbell",
]
# Capitalised model names that follow a brand ("Ford Mustang"): a name's shape, no name.
MODEL_WORDS = [
    "Mustang", "Classic", "Galaxy", "Focus", "Explorer", "Compact", "Vision", "Titan", "Nova",
    "Swift", "Atlas", "Aurora", "Vector", "Orion", "Falcon", "Summit", "Breeze", "Pulse",
]
PRODUCT_WORDS = [
    "Pro", "Max", "Mini", "Air", "Plus", "Ultra", "Series", "Edition", "Sport", "Lite",
]
