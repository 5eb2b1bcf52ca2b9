"""The shapes of secrets, and the checks that tell a live one from a look-alike.

Each ``Rule`` is a compiled pattern, the group that is the secret (0: the whole match) and a
check on that value. Tokens must stand alone (``_EDGE``): the same letters inside a longer
run (a base64 image, a hash) are not a key. The checks turn away the look-alikes people paste
most: placeholders (``sk-xxxx``, ``your-api-key``, AWS's ``…EXAMPLE`` keys), values with too
little variety to be random, variables (``${DB_PASSWORD}``, ``os.environ[...]``) and ordinary
words after ``password:`` in prose (a stop list, and a word that a sentence goes on from).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from keel.guard.secrets.kinds import SecretKind

__all__ = ["CASED", "FOLDED", "RULES", "Rule", "in_prose", "pem_body", "placeholder"]

K = SecretKind
# Not inside a longer token: base64 blobs, hashes, identifiers.
_EDGE = r"(?<![A-Za-z0-9_+/\-])"
_STOP = r"(?![A-Za-z0-9_\-])"
# Where a named value starts: optional closing quote of the name, ':' or '=', optional quote.
_ASSIGN = r"""["']?[ \t]*[:=][ \t]*"""
_VALUE = r"""(?:"([^"\n]{3,200})"|'([^'\n]{3,200})'|([^\s"',;&<>)}\]]{3,200}))"""
_WORD_LIST = (
    "must should will was were is are has have can cannot needs need required optional none "
    "null nil true false string str text hidden masked redacted empty unknown the your not "
    "reset changed expired invalid incorrect wrong missing too at least of for from with "
    "and or if when field value type length input prompt here below above same new old "
    "secret password token key"
)
_WORDS = frozenset(_WORD_LIST.split())
_PLACEHOLDER = re.compile(
    r"x{4,}|X{4,}|\*{3,}|\.{3}|…|your|example|placeholder|redacted|dummy|sample|"
    r"insert|replace|changeme|fake|<|>|\$\{|\{\{|%\(|^\$[A-Za-z_]|process\.env|environ|"
    r"getenv|^\[[A-Z_]+\]$|(.)\1{5,}",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Rule:
    kind: SecretKind
    pattern: re.Pattern[str]
    check: Callable[[str], bool]
    needs: tuple[str, ...]  # one of these is in the text (lower-cased when ``folded``)
    group: int = 0  # 0: the whole match; else the first group that matched from here on
    priority: int = 0  # lower wins an overlap (a provider's key before a generic value)
    folded: bool = False
    prose: bool = False  # a word after ``name:`` that prose goes on from is not the value


def placeholder(value: str) -> bool:
    """Does ``value`` read as an example, a mask or a variable rather than a secret?"""
    return _PLACEHOLDER.search(value) is not None


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _random(value: str, minimum: float = 3.0) -> bool:
    """Random enough to be a generated key: varied letters, digits and no placeholder."""
    if placeholder(value):
        return False
    classes = sum(bool(re.search(p, value)) for p in ("[a-z]", "[A-Z]", "[0-9]"))
    return classes >= 2 and _entropy(value) >= minimum


def _token(prefix_len: int) -> Callable[[str], bool]:
    """A check on a prefixed token's random part (what follows the prefix)."""
    return lambda value: _random(value[prefix_len:].lstrip("-_"))


def _tail(sep: str, n: int) -> Callable[[str], bool]:
    """A check on what follows the ``n``-th ``sep`` (a prefix such as ``sk-ant-api03-``)."""
    return lambda value: _random(value.split(sep, n)[-1])


def _after(marker: str) -> Callable[[str], bool]:
    return lambda value: _random(value[value.index(marker) + len(marker) :])


def _aws_id(value: str) -> bool:
    return "EXAMPLE" not in value and len(set(value[4:])) >= 6


def _aws_secret(value: str) -> bool:
    if "EXAMPLE" in value.upper() or not re.search("[a-z]", value) or not re.search("[A-Z]", value):
        return False
    return _entropy(value) >= 4.0


def _jwt(value: str) -> bool:
    header = value.split(".", 1)[0]
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return False
    return isinstance(decoded, dict) and isinstance(decoded.get("alg"), str)


def pem_body(value: str) -> bool:
    body = value.split("-----", 2)[-1]
    body = body.replace("\\n", "\n")
    return len(re.findall(r"[A-Za-z0-9+/=]", body)) >= 64 and not placeholder(body)


# A value that reads as a word of prose, and prose going on after it on the same line.
_PROSE_WORD = re.compile(r"[A-Za-z][a-z]+")
_PROSE_ON = re.compile(r"[ \t]+[A-Za-z]")


def in_prose(text: str, match: re.Match[str], group: int) -> bool:
    """Is the value of ``name: value`` a word that a sentence goes on from ("reset password:
    click the link")? Only for an unquoted value after a colon: ``PASSWORD=postgres psql``
    and ``password: "click the link"`` are values. A generated or chosen password has a
    digit, a capital inside or a symbol, or ends its line or its sentence."""
    start = match.start(group)
    if text[start - 1] in "\"'" or ":" not in text[match.start() : start]:
        return False
    return bool(_PROSE_WORD.fullmatch(match.group(group))) and bool(
        _PROSE_ON.match(text, match.end(group))
    )


def _password(value: str) -> bool:
    return not placeholder(value) and value.lower().rstrip(".") not in _WORDS


def _generic(value: str) -> bool:
    return len(value) >= 8 and _random(value, 2.5)


def _url_password(value: str) -> bool:
    m = re.search(r"://[^\s:/@]*:([^\s@]+)@", value) or re.search(
        r"(?i)[?&;](?:password|pwd)=([^&;\s]+)", value
    )
    return m is not None and not placeholder(m.group(1)) and m.group(1).lower() not in _WORDS


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# A name may end with these (DB_PASSWORD, mysql_root_password, X-Api-Key, APP_SECRET).
_KEYWORD_PASSWORD = r"(?:password|passwd|passphrase|pwd)"
_KEYWORD_SECRET = (
    r"(?:api[_\-]?key|apikey|secret(?:[_\-]?key)?|"
    r"client[_\-]?secret|access[_\-]?token|auth[_\-]?token|refresh[_\-]?token|"
    r"private[_\-]?token|token|app[_\-]?secret|x-api-key)"
)
_SCHEMES = (
    r"(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|"
    r"clickhouse|cockroachdb|couchdb|neo4j)(?:\+[a-z0-9]+)?"
)

_AWS_NAME = (
    r"(?i:aws[_\-. ]?secret[_\-. ]?(?:access[_\-. ]?)?key(?:[_\-. ]?id)?|"
    r"secret[_\-. ]?access[_\-. ]?key|SecretAccessKey)"
)
_AWS_40 = r"""([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"""
_URL_TAIL = r"""[^\s'"<>`]*[^\s'"<>`.,;:)\]}]"""
_PEM = r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----.*?-----END \1PRIVATE KEY\2-----"
_GITHUB = r"(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{50,240})"
_ODBC = (
    r"(?i:(?:server|data source|host|address|addr)=[^;\n]+;[^\n]*?(?:password|pwd)=)"
    r"(\{[^}\n]*\}|[^;\n'\"]+)"
)
_BEARER = (
    r"(?i:authorization[\"']?[ \t]*[:=][ \t]*[\"']?(?:bearer|token|basic)[ \t]+)"
    r"([A-Za-z0-9_\-.~+/=]{8,})"
)

RULES: tuple[Rule, ...] = (
    Rule(K.PRIVATE_KEY, _c(_PEM, re.DOTALL), pem_body, ("PRIVATE KEY",)),
    Rule(K.ANTHROPIC_KEY, _c(_EDGE + r"sk-ant-[a-z]{2,6}[0-9]{2}-[A-Za-z0-9_\-]{32,}" + _STOP),
         _tail("-", 3), ("sk-ant-",)),
    Rule(K.OPENAI_KEY,
         _c(_EDGE + r"sk-(?!ant-)(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{20,}" + _STOP),
         _token(3), ("sk-",)),
    Rule(K.AWS_ACCESS_KEY,
         _c(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])"),
         _aws_id, ("AKIA", "ASIA", "ABIA", "ACCA")),
    Rule(K.AWS_SECRET_KEY, _c(_AWS_NAME + _ASSIGN + r"""["']?""" + _AWS_40), _aws_secret,
         ("secret",), group=1, folded=True),
    Rule(K.AWS_SECRET_KEY,
         _c(r"(?:AKIA|ASIA)[A-Z2-7]{16}[^\S\n]*[\s:,;/|=\"']{1,6}[^\S\n]*" + _AWS_40),
         _aws_secret, ("AKIA", "ASIA"), group=1),
    Rule(K.GITHUB_TOKEN, _c(_EDGE + _GITHUB + _STOP), _token(4),
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    Rule(K.GITLAB_TOKEN, _c(_EDGE + r"glpat-[A-Za-z0-9_\-]{20,}" + _STOP), _token(6),
         ("glpat-",)),
    Rule(K.SLACK_WEBHOOK,
         _c(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/"
            r"[A-Za-z0-9]{6,}/[A-Za-z0-9]{16,}"),
         _after("/T"), ("hooks.slack.com",)),
    Rule(K.SLACK_TOKEN, _c(_EDGE + r"xox[bpars]-[0-9]{6,}-[A-Za-z0-9\-]{10,}" + _STOP),
         _token(5), ("xox",)),
    Rule(K.STRIPE_KEY, _c(_EDGE + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,247}" + _STOP),
         _tail("_", 2), ("_live_", "_test_")),
    Rule(K.GOOGLE_API_KEY, _c(_EDGE + r"AIza[0-9A-Za-z_\-]{35}" + _STOP), _token(4), ("AIza",)),
    Rule(K.JWT, _c(_EDGE + r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*" + _STOP),
         _jwt, ("eyJ",)),
    Rule(K.CONNECTION_STRING,
         _c(r"(?<![A-Za-z0-9+])" + _SCHEMES + r"""://[^\s:/@'"]*:[^\s@'"]+@""" + _URL_TAIL),
         _url_password, ("://",), priority=1),
    Rule(K.CONNECTION_STRING,
         _c(r"""jdbc:[a-z0-9]+:[^\s'"]*?[?&;](?i:password|pwd)=[^&;\s'"]+""" + _URL_TAIL),
         _url_password, ("jdbc:",), priority=1),
    Rule(K.CONNECTION_STRING, _c(_ODBC), lambda v: not placeholder(v), ("password=", "pwd="),
         group=1, priority=1, folded=True),
    Rule(K.PASSWORD, _c(r"(?i:" + _KEYWORD_PASSWORD + r")" + _ASSIGN + _VALUE), _password,
         ("passw", "pwd", "passphrase"), group=1, priority=2, folded=True, prose=True),
    Rule(K.GENERIC_SECRET, _c(r"(?i:" + _KEYWORD_SECRET + r")" + _ASSIGN + _VALUE), _generic,
         ("api", "secret", "token"), group=1, priority=3, folded=True),
    Rule(K.GENERIC_SECRET, _c(_BEARER), _generic, ("authorization",), group=1, priority=3,
         folded=True),
)  # fmt: skip

# Every rule's literals, looked for once per text (a substring test each).
CASED = tuple(sorted({n for r in RULES if not r.folded for n in r.needs}))
FOLDED = tuple(sorted({n for r in RULES if r.folded for n in r.needs}))
