"""Context words: what the words just before a number say it is.

A bare run of digits that passes a checksum is still often something else: an order,
invoice or part number, a barcode. Two readings of the left context settle most of these:

- ``label_before``: the nearest label within ``WINDOW`` characters ("BSN", "Tel.", "PESEL",
  "Aadhaar"), with no digit and no end of a sentence between it and the number; it names the
  kind the writer meant, so a number another kind's check also passes goes to that kind.
- ``not_personal``: a word right before the number that says it is a business reference
  ("Order", "Rechnung Nr.", "SKU", "EAN", "part no.").

Only the left is read, so the stream guard needs no extra hold (quantities to the right,
"+3 units", are the phone detector's one exception, see phones.py).
"""

from __future__ import annotations

import re

__all__ = ["LABELS", "NOT_PERSONAL", "WINDOW", "label_before", "not_personal"]

WINDOW = 40


def _words(kind: str, words: str) -> dict[str, str]:
    return dict.fromkeys(words.split("|"), kind)


# Label -> the kind it announces (the kinds' names, so this module needs no import of Kind).
LABELS: dict[str, str] = {
    **_words(
        "PHONE",
        "phone|telephone|tel|tel.|téléphone|telefon|telefono|teléfono|telefone|telefoon|tlf"
        "|tfn|puh|puhelin|mobile|mob|mobil|mobiel|cell|cellphone|handy|portable|móvil|movil"
        "|cellulare|celular|komórka|fax|call|ring|whatsapp|gsm|phone number|mobile number"
        "|телефон|тел|τηλ|τηλέφωνο|電話|电话|手机|携帯|전화|फ़ोन|फोन",
    ),
    **_words("IN_AADHAAR", "aadhaar|aadhar|uidai|uid|आधार"),
    **_words("IN_PAN", "pan|permanent account number|pan card"),
    **_words("FR_NIR", "nir|insee|sécurité sociale|securite sociale|sécu|secu|carte vitale"),
    **_words("ES_DNI", "dni|d.n.i.|nif|documento nacional de identidad"),
    **_words("ES_NIE", "nie|n.i.e.|número de extranjero"),
    **_words("IT_CF", "codice fiscale|c.f.|cod. fisc."),
    **_words("NL_BSN", "bsn|burgerservicenummer|sofinummer|sofi-nummer"),
    **_words("PL_PESEL", "pesel"),
    **_words("SE_PIN", "personnummer|personnr|pnr|samordningsnummer"),
    **_words("BR_CPF", "cpf|cadastro de pessoas físicas"),
    **_words("US_SSN", "ssn|social security|social security number"),
    **_words(
        "DE_TAX_ID",
        "steuer-id|steuerid|steuer-identifikationsnummer|identifikationsnummer|idnr|tax id|tin",
    ),
    **_words(
        "CARD",
        "card|credit card|debit card|visa|mastercard|amex|karte|kreditkarte|carte"
        "|carte bancaire|tarjeta|carta|cartão|kaart|karta|kort",
    ),
    **_words("IBAN", "iban"),
}
_LABEL = re.compile(
    r"(?<![^\W\d_])(?:"
    + "|".join(re.escape(w) for w in sorted(LABELS, key=len, reverse=True))
    + r")(?![^\W\d_])",
    re.IGNORECASE,
)
# Between a label and its number: no digit, no end of a sentence.
_APART = re.compile(r"[0-9]|[.!?;][ \t]")

# Words that make the number right after them a business reference, in the languages of
# keel's users; optionally followed by "no.", "nr", "#", "number", "id", ":".
NOT_PERSONAL = (
    "order|orders|order-id|ordernr|invoice|inv|rechnung|rechnungs|bestellung|bestell|auftrag"
    "|auftrags|lieferschein|commande|facture|devis|pedido|factura|albarán|ordine|fattura"
    "|bestelling|factuur|zamówienie|zamowienie|faktura|faktury|beställning|ordre|tilaus|lasku"
    "|fatura|nota fiscal|заказ|счёт|счет|part|parts|p/n|pn|sku|item|article|artikel|art.-nr"
    "|artículo|articolo|ref|reference|réf|référence|referencia|riferimento|referentie"
    "|tracking|shipment|parcel|sendung|paket|colis|envío|spedizione|ticket|case|incident"
    "|booking|reservation|confirmation|buchung|serial|s/n|sn|model|modell|modèle|modelo"
    "|ean|upc|gtin|isbn|barcode|batch|lot|charge|po|purchase order|quote|quotation|angebot"
    "|contract|vertrag|transaction|txn|receipt|quittung|beleg|version|build|release|job"
    "|project|projekt|claim"
)
_NUMBER_WORD = r"(?:no|nr|num|number|nummer|numéro|número|numero|numer|id|code|n°|nº|#)"
_NOT_PERSONAL = re.compile(
    rf"(?<![^\W\d_])(?:{NOT_PERSONAL})s?\.?(?:[ \-]?{_NUMBER_WORD}\.?)?[ ]?[:#]?[ ]?\Z",
    re.IGNORECASE,
)
_NOT_PERSONAL_WINDOW = 40


def label_before(text: str, start: int) -> str | None:
    """The kind named by the nearest label before ``start``, if it still refers to it."""
    last = None
    for last in _LABEL.finditer(text, max(0, start - WINDOW), start):  # noqa: B007
        pass  # the nearest one counts
    if last is None or _APART.search(text, last.end(), start):
        return None
    return LABELS.get(last.group().lower())


def not_personal(text: str, start: int) -> bool:
    """Does a business-reference word stand right before ``start`` ("Order #", "SKU:")?"""
    return _NOT_PERSONAL.search(text, max(0, start - _NOT_PERSONAL_WINDOW), start) is not None
