"""The PII guard: find personal data in text, then allow, redact, pseudonymise or block it.

Detection (``detect``) is pattern-based with validity checks (Luhn, IBAN mod-97, SSN, NI and
Steuer-ID rules, dates of birth only next to words such as "born"); person names come only
from an optional ``Recogniser`` (no NER model ships with keel).
"""

from keel.guard.detectors import detect
from keel.guard.entities import Entity, Kind, Recogniser

__all__ = ["Entity", "Kind", "Recogniser", "detect"]
