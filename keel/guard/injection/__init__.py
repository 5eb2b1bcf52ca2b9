"""The prompt-injection guard: rules and a classifier score a text, ``screen`` finds a chat
request's highest-scoring text, ``decide`` applies a data class's threshold and action.

    guard.py      assess, score, screen, decide: the two judges combined, and the verdict
    rules.py      which attack families a text shows, and their noisy-OR score
    override.py   the families that take the model over; covert.py those that hide
    family.py     how a family's pattern is written (anchor words, compiled once)
    text.py       the one normalisation rules and classifier share
    views.py      other readings of a text: leetspeak, spacing, ROT13, reversed, base64,
                  base32, hex, binary, tag characters
    about.py      signs that a text is about injection (quoting, reporting words, code)
    model.py      the classifier (logistic regression over hashed n-grams), its length term
                  and the combiner with the rules and those signs; data/model.json
"""

from keel.guard.injection.guard import (
    DEFAULT_THRESHOLD,
    SCREENED_ROLES,
    Action,
    Assessment,
    InjectionVerdict,
    Screening,
    assess,
    decide,
    score,
    screen,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "SCREENED_ROLES",
    "Action",
    "Assessment",
    "InjectionVerdict",
    "Screening",
    "assess",
    "decide",
    "score",
    "screen",
]
