"""Secrets detection measured on a generated set: python -m scripts.secrets_eval [--seed N]

The set is made here, from the providers' published token formats, apart from the detector's
patterns (keel/guard/secrets/patterns.py is not read): each secret is planted in carriers
(prose, code, env files, JSON, YAML, logs, CLI flags, URLs), and look-alikes (git SHAs, UUIDs,
hashes, base64 images, placeholders, example keys, public keys, variables, prose about
passwords) are planted in the same carriers. It prints recall per kind (the planted secret
found with its kind and exact span), the false-hit rate (look-alike and clean texts with any
find), and microseconds per text of ``detect`` and of the stream guard.
Run it with ``-m`` from the checkout, so this checkout's ``keel`` is the one measured.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import time
from collections import Counter
from collections.abc import Callable

from keel.guard.secrets import SecretGuard, detect, redact

AL = string.ascii_letters + string.digits
B64 = AL + "+/"
URL = AL + "-_"
Gen = Callable[[random.Random], str]


def s(r: random.Random, n: int, alphabet: str = AL) -> str:
    return "".join(r.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(r: random.Random) -> str:
    header = {"alg": r.choice(["HS256", "RS256", "ES256", "PS512"]), "typ": "JWT"}
    if r.random() < 0.3:
        header["kid"] = s(r, 12)
    claims = {"sub": s(r, 10), "iat": r.randint(1.6e9, 1.8e9), "scope": r.choice(["read", "all"])}
    parts = [b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode())]
    return ".".join([*parts, s(r, r.choice([43, 86, 342]), URL)])


def pem(r: random.Random) -> str:
    label = r.choice(["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA ", ""])
    lines = "\n".join(s(r, 64, B64) for _ in range(r.randint(4, 25)))
    return f"-----BEGIN {label}PRIVATE KEY-----\n{lines}==\n-----END {label}PRIVATE KEY-----"


def conn(r: random.Random) -> str:
    password = s(r, r.randint(8, 20), AL + "!#%^*")
    user = r.choice(["app", "admin", "svc_api", "root"])
    host = r.choice(["db.internal", "10.0.3.7", "cluster0.ab1cd.mongodb.net", "mq.corp.example"])
    return r.choice([
        f"postgresql://{user}:{password}@{host}:5432/orders",
        f"postgres://{user}:{password}@{host}/app?sslmode=require",
        f"mysql://{user}:{password}@{host}:3306/shop",
        f"mongodb+srv://{user}:{password}@{host}/prod?retryWrites=true",
        f"redis://default:{password}@{host}:6379/0",
        f"amqp://{user}:{password}@{host}:5672/vhost",
        f"jdbc:postgresql://{host}:5432/app?user={user}&password={password}",
        f"jdbc:sqlserver://{host}:1433;databaseName=erp;user={user};password={password}",
    ])  # fmt: skip


# Each kind: how to make one, and the carriers it is met in ({} is the secret).
SECRETS: dict[str, Gen] = {
    "OPENAI_KEY": lambda r: r.choice([
        "sk-" + s(r, 48), "sk-proj-" + s(r, 74, URL) + "T3BlbkFJ" + s(r, 74, URL),
        "sk-svcacct-" + s(r, 64, URL), "sk-" + s(r, 20) + "T3BlbkFJ" + s(r, 20)]),
    "ANTHROPIC_KEY": lambda r: "sk-ant-" + r.choice(["api03", "admin01"]) + "-"
        + s(r, 93, URL) + "AA",
    "AWS_ACCESS_KEY": lambda r: r.choice(["AKIA", "ASIA"])
        + s(r, 16, string.ascii_uppercase + "234567"),
    "GITHUB_TOKEN": lambda r: r.choice([
        r.choice(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + s(r, 36),
        "github_pat_" + s(r, 22) + "_" + s(r, 59)]),
    "GITLAB_TOKEN": lambda r: "glpat-" + s(r, 20, URL),
    "SLACK_TOKEN": lambda r: "xox" + r.choice("bpars") + "-" + "-".join(
        str(r.randint(10**9, 10**13)) for _ in range(2)) + "-" + s(r, 24),
    "SLACK_WEBHOOK": lambda r: "https://hooks.slack.com/services/T" + s(r, 8, string.ascii_uppercase
        + string.digits) + "/B" + s(r, 10, string.ascii_uppercase + string.digits) + "/" + s(r, 24),
    "STRIPE_KEY": lambda r: r.choice(["sk_live_", "rk_live_", "pk_live_", "sk_test_"])
        + s(r, r.choice([24, 99])),
    "GOOGLE_API_KEY": lambda r: "AIza" + s(r, 35, URL),
    "JWT": jwt,
    "PRIVATE_KEY": pem,
    "CONNECTION_STRING": conn,
}  # fmt: skip
CARRIERS = [
    "Here is my key {}, can you check why the call fails?",
    'client = Client(api_key="{}")',
    "export TOKEN={}",
    '{{"credentials": {{"value": "{}"}}}}',
    "config:\n  auth: {}\n  retries: 3",
    "2024-05-01T10:00:00Z INFO using credential {} for upstream",
    "curl -H 'X-Key: {}' https://api.example.com/v1/items",
    "```\n{}\n```\nWhy does this not work?",
]
# The kinds only met next to a name: (kind, value maker, carriers naming it).
NAMED: list[tuple[str, Gen, list[str]]] = [
    ("AWS_SECRET_KEY", lambda r: s(r, 40, B64), [
        "aws_secret_access_key = {}", 'AWS_SECRET_ACCESS_KEY="{}"', '"SecretAccessKey": "{}"',
        "AKIA" + "QX7RT2ZKLM4BNV6C" + ":{}"]),
    ("PASSWORD", lambda r: s(r, r.randint(6, 16), AL + "!@#$%&*"), [
        "password: {}", "DB_PASSWORD={}", '{{"password": "{}"}}', "passwd={}", "--password={}",
        "mysql_root_password: '{}'", "Password={}"]),
    ("GENERIC_SECRET", lambda r: s(r, r.randint(16, 40), URL), [
        "api_key={}", 'secret: "{}"', "client_secret = '{}'", "Authorization: Bearer {}",
        '"access_token": "{}"', "APP_SECRET={}"]),
]  # fmt: skip
LOOK_ALIKES: list[Gen] = [
    lambda r: "commit " + s(r, 40, "0123456789abcdef") + " fixed the build",
    lambda r: f"request id {s(r, 8, '0123456789abcdef')}-{s(r, 4, '0123456789abcdef')}-4"
    f"{s(r, 3, '0123456789abcdef')}-a{s(r, 3, '0123456789abcdef')}-{s(r, 12, '0123456789abcdef')}",
    lambda r: "sha256: " + s(r, 64, "0123456789abcdef"),
    lambda r: "md5=" + s(r, 32, "0123456789abcdef"),
    lambda r: "![img](data:image/png;base64," + s(r, 400, B64) + "==)",
    lambda r: "export OPENAI_API_KEY=sk-" + "x" * r.randint(8, 48),
    lambda r: r.choice(["sk-your-api-key-here", "sk-...", "sk_live_YOUR_KEY", "<your-token>",
                        "ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "AIzaYOUR_API_KEY"]),
    lambda r: "the docs use AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    lambda r: r.choice(["password: ${DB_PASSWORD}", "password = os.environ['PW']",
                        "DB_PASSWORD={{ vault.db }}", 'password: "<password>"', "password: ****"]),
    lambda r: r.choice(["Password: must be at least 12 characters", "Your password is required",
                        "reset password: click the link", "password: required", "token: expired"]),
    lambda r: "-----BEGIN PUBLIC KEY-----\n" + s(r, 64, B64) + "\n-----END PUBLIC KEY-----",
    lambda r: "-----BEGIN CERTIFICATE-----\n" + s(r, 64, B64) + "\n-----END CERTIFICATE-----",
    lambda r: "postgres://user:password@localhost:5432/mydb",
    lambda r: f"max_tokens={r.randint(16, 4096)}, tokens used: {r.randint(1, 9999)}",
    lambda r: "pip install scikit-learn==1.4.2 and sk-learn-" + s(r, 24, string.ascii_lowercase),
    lambda r: "eyJ" + s(r, 30, URL) + " is base64 of a JSON fragment",
    lambda r: "session " + s(r, 32, string.ascii_lowercase + string.digits) + " started",
]  # fmt: skip
CLEAN = [
    "Can you summarise the attached report for the team?",
    "We shipped 3 boxes and 12 pallets last week; version 2.4.1 of the report is attached.",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 3))",
    "The quarterly review showed steady growth across all regions. " * 30,
]


def build(seed: int, per_kind: int) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(kind, text, secret) positives and look-alike texts."""
    r = random.Random(seed)
    positives = []
    for kind, make in SECRETS.items():
        for i in range(per_kind):
            secret = make(r)
            positives.append((kind, CARRIERS[i % len(CARRIERS)].format(secret), secret))
    for kind, make, carriers in NAMED:
        for i in range(per_kind):
            secret = make(r)
            positives.append((kind, carriers[i % len(carriers)].format(secret), secret))
    negatives = [LOOK_ALIKES[i % len(LOOK_ALIKES)](r) for i in range(per_kind * len(LOOK_ALIKES))]
    for carrier in CARRIERS:  # look-alikes in the secrets' own carriers too
        negatives += [carrier.format(make(r)) for make in LOOK_ALIKES]
    return positives, negatives + CLEAN


def evaluate(positives: list[tuple[str, str, str]], negatives: list[str]) -> None:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    extra = 0
    for kind, text, secret in positives:
        totals[kind] += 1
        start = text.index(secret)
        found = detect(text)
        if any((f.kind, f.start, f.end) == (kind, start, start + len(secret)) for f in found):
            hits[kind] += 1
        extra += sum(1 for f in found if (f.start, f.end) != (start, start + len(secret)))
    false = [t for t in negatives if detect(t)]
    print(f"{'kind':<18} {'recall':>7} {'n':>5}")
    for kind in totals:
        print(f"{kind:<18} {hits[kind] / totals[kind]:>7.3f} {totals[kind]:>5}")
    total = sum(totals.values())
    print(f"{'all':<18} {sum(hits.values()) / total:>7.3f} {total:>5}")
    rate = len(false) / len(negatives)
    print(f"look-alike and clean texts with a find: {len(false)}/{len(negatives)} = {rate:.3f}")
    print(f"finds in texts with a secret other than the secret: {extra}")
    for text in false[:5]:
        print("  false:", repr(text[:90]))


def timing(texts: list[str]) -> None:
    for name, group in (("all texts", texts), ("clean texts", CLEAN)):
        start = time.perf_counter()
        for _ in range(5):
            for text in group:
                detect(text)
        per = (time.perf_counter() - start) / (5 * len(group)) * 1e6
        print(f"detect, {name}: {per:.1f} µs per text (mean over {len(group)})")
    chunks, start = 0, time.perf_counter()
    for text in texts:
        guard = SecretGuard()
        for i in range(0, len(text), 20):
            guard.feed(text[i : i + 20])
            chunks += 1
        guard.flush()
    spent = (time.perf_counter() - start) * 1e6
    print(f"stream guard, 20-character chunks: {spent / len(texts):.1f} µs per text, "
          f"{spent / chunks:.1f} µs per chunk ({chunks} chunks)")  # fmt: skip
    apart = [t for t in texts if _streamed(t, 20) != redact(t)]
    print(f"streamed in 20-character chunks unlike the whole text: {len(apart)}/{len(texts)}")


def _streamed(text: str, size: int) -> str:
    guard = SecretGuard()
    out = "".join(guard.feed(text[i : i + size]) for i in range(0, len(text), size))
    return out + guard.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--per-kind", type=int, default=200)
    args = parser.parse_args()
    positives, negatives = build(args.seed, args.per_kind)
    print(f"{len(positives)} texts with a secret, {len(negatives)} without (seed {args.seed})")
    evaluate(positives, negatives)
    timing([t for _, t, _ in positives] + negatives)


if __name__ == "__main__":
    main()
