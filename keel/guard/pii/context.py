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
from functools import lru_cache

__all__ = ["LABELS", "NOT_PERSONAL", "WINDOW", "label_before", "not_personal"]

WINDOW = 40


def _words(kind: str, words: str) -> dict[str, str]:
    return dict.fromkeys(words.split("|"), kind)


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split("|"))


# Label -> the kind it announces (the kinds' names, so this module needs no import of Kind).
LABELS: dict[str, str] = {
    **_words(
        "PHONE",
        "phone|telephone|tel|tel.|téléphone|telefon|telefono|teléfono|telefone|telefoon|tlf"
        "|tfn|puh|puhelin|mobile|mob|mobil|mobiel|cell|cellphone|handy|portable|móvil|movil"
        "|cellulare|celular|komórka|fax|call|ring|whatsapp|gsm|phone number|mobile number"
        "|телефон|тел|τηλ|τηλέφωνο|電話|电话|手机|携帯|전화|फ़ोन|फोन"
        # More languages' words for a phone or a mobile, as people label a number.
        "|tél|tel.:|cel|cel.|celular|móvil|telemóvel|numer telefonu|tel. kom.|kom."
        "|mobiltelefon|mobilnummer|telefonnummer|telefonnr|rufnummer|natel|mobiel nummer"
        "|telefonszám|mobil szám|puhelinnumero|kännykkä|cep tel|cep telefonu|gsm no|sđt"
        "|điện thoại|số điện thoại|telepon|nomor telepon|no. hp|nomor hp|handphone|telefonas"
        "|мобильный|моб|мобільний|тлф|κινητό|κιν|телефонен|ტელეფონი|ucingo|هاتف|جوال|موبايل"
        "|تلفن|טלפון|נייד|טל|โทร|โทรศัพท์|มือถือ|휴대폰|핸드폰|연락처|手機|携帯電話|電話番号"
        "|मोबाइल",
    ),
    **_words("IN_AADHAAR", "aadhaar|aadhar|uidai|uid|आधार"),
    **_words("IN_PAN", "permanent account number|pan card"),  # not "pan": Polish "Mr"
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
# Words, and what ends a label's reach: a digit, the end of a sentence.
_TOKEN = re.compile(r"[^\W\d_]+(?:[.\-/][^\W\d_]+)*[.]?|[0-9]|[.!?;](?=\s)")
_LONGEST_LABEL = max(len(label.split()) for label in LABELS)
# Each label as a token reads it, a short one with its dot too ("tel." for "tel"; but
# "telefon." ends a sentence), and the last words of the labels of several words, the only
# tokens a longer phrase can end on.
_LABEL_KEYS = dict(LABELS)
_LABEL_KEYS.update({f"{k}.": v for k, v in LABELS.items() if len(k) <= 4 and k[-1] != "."})
_PHRASE_ENDS = frozenset(
    w for label in LABELS if " " in label for w in (label.split()[-1], label.split()[-1] + ".")
)

# Words that make the number right after them a business reference, in the languages of
# keel's users; "no.", "nr", "#", "number", "id", ":" may stand between, or be glued on
# ("Bestellnummer", "Auftragsnr").
NOT_PERSONAL = _set(
    "order|order-id|ordernr|invoice|inv|rechnung|rechnungs|bestellung|bestell|auftrag"
    "|auftrags|lieferschein|commande|facture|devis|pedido|factura|albarán|ordine|fattura"
    "|bestelling|factuur|zamówienie|zamowienie|faktura|faktury|beställning|ordre|tilaus|lasku"
    "|fatura|nota fiscal|заказ|счёт|счет|part|p/n|pn|sku|item|article|artikel|art.-nr"
    "|artículo|articolo|ref|reference|réf|référence|referencia|riferimento|referentie"
    "|tracking|shipment|parcel|sendung|paket|colis|envío|spedizione|ticket|case|incident"
    "|booking|reservation|confirmation|buchung|serial|s/n|sn|model|modell|modèle|modelo"
    "|ean|upc|gtin|isbn|barcode|batch|lot|po|purchase order|quote|quotation|angebot"
    "|contract|vertrag|transaction|txn|receipt|quittung|beleg|version|build|release|job"
    "|project|projekt|claim|code"
)
_NUMBER_WORDS = _set(
    "n|no|nr|num|number|nummer|numéro|número|numero|numer|id|code|n°|nº|de|of|vom|du|del"
)
_GLUED_NUMBER = ("nummer", "nr", "no", "number", "numer", "numero")
# What stands between a business word and its number, or opens the phrase around both:
# "Order #", "(Tracking 1912-9628)", "«Ref. 0231»", "[SKU 214109811]".
_APART = str.maketrans(dict.fromkeys(":#()[]{}<>«»\"'\u201c\u201d\u201e\u2018\u2019|*", " "))
_WINDOW_BEFORE = 40


def label_before(text: str, start: int) -> str | None:
    """The kind named by the nearest label before ``start``, if it still refers to it:
    nothing but words between them, no digit, no end of a sentence."""
    return _label_in(text[max(0, start - WINDOW) : start])


def not_personal(text: str, start: int) -> bool:
    """Does a business-reference word stand right before ``start`` ("Order #", "SKU:")?"""
    return _business_word_ends(text[max(0, start - _WINDOW_BEFORE) : start])


# Several detectors read the same left context (eleven digits are a PESEL, CPF, phone and
# tax id candidate at once), and a stream reads it again per chunk: each reading is
# cached by the window's text, which is short, so no long text is kept alive.
@lru_cache(maxsize=2048)
def _label_in(window: str) -> str | None:
    tokens = _TOKEN.findall(window.lower())
    for i in range(len(tokens) - 1, -1, -1):
        last = tokens[i]
        kind = None
        if last in _PHRASE_ENDS:  # the longest label first: "pan card" before "card"
            for k in range(min(_LONGEST_LABEL, i + 1), 1, -1):
                kind = _LABEL_KEYS.get(" ".join(tokens[i - k + 1 : i + 1]))
                if kind is not None:
                    break
        kind = kind or _LABEL_KEYS.get(last)
        if kind is not None:
            return kind
        if last[-1] in ".!?;" or last.isdigit():
            return None
    return None


@lru_cache(maxsize=2048)
def _business_word_ends(window: str) -> bool:
    words = window.lower().translate(_APART).split()
    if words and words[-1] == "code":  # "Le code 1854…", "promo code": a number word too
        return True
    if words and words[-1].strip(".") in _NUMBER_WORDS:
        words.pop()
    if words and words[-1].strip(".") in _NUMBER_WORDS:  # "N° de commande", "no. of"
        words.pop()
    if not words or _ends_sentence(words[-1]):
        return False
    last = words[-1].strip(".-,")
    if last in NOT_PERSONAL or last.rstrip("s") in NOT_PERSONAL:
        return True
    if " ".join(words[-2:]).strip(".-,") in NOT_PERSONAL:
        return True
    glued = next((w for w in _GLUED_NUMBER if last.endswith(w) and len(last) > len(w)), None)
    return glued is not None and last[: -len(glued)].rstrip(".-") in NOT_PERSONAL


def _ends_sentence(word: str) -> bool:
    """ "articolo." ends a sentence; "Ref.", "Art.-Nr.", "p.o." are abbreviations."""
    return word.endswith(".") and len(word) > 4 and "." not in word[:-1]
