"""The secrets guard on texts: each kind found with its exact span, the look-alikes left
alone, and the stream guard letting out no part of a secret before the whole is seen."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keel.guard.secrets import SecretGuard, SecretKind, detect, redact
from keel.guard.secrets.stream import MAX_TOKEN

_rng = random.Random(16)
_ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


PEM_BODY = "\n".join(rand(64, _ALNUM + "+/") for _ in range(5))
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ." + rand(
    43, _ALNUM + "-_"
)
SECRETS: dict[SecretKind, str] = {
    SecretKind.OPENAI_KEY: "sk-proj-" + rand(64, _ALNUM + "-_"),
    SecretKind.ANTHROPIC_KEY: "sk-ant-api03-" + rand(93, _ALNUM + "-_") + "AA",
    SecretKind.AWS_ACCESS_KEY: "AKIA" + rand(16, string.ascii_uppercase + "234567"),
    SecretKind.GITHUB_TOKEN: "ghp_" + rand(36),
    SecretKind.GITLAB_TOKEN: "glpat-" + rand(20),
    SecretKind.SLACK_TOKEN: "xoxb-1234567890-9876543210-" + rand(24),
    SecretKind.SLACK_WEBHOOK: "https://hooks.slack.com/services/T0ABCDE12/B0FGHIJ34/" + rand(24),
    SecretKind.STRIPE_KEY: "sk_live_" + rand(24),
    SecretKind.GOOGLE_API_KEY: "AIza" + rand(35, _ALNUM + "-_"),
    SecretKind.JWT: JWT,
    SecretKind.PRIVATE_KEY: (
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
    ),
    SecretKind.CONNECTION_STRING: "postgres://app:Zq7vK2pLx9@db.internal:5432/prod",
}


@pytest.mark.parametrize("kind", list(SECRETS))
def test_each_kind_is_found_with_its_exact_span(kind: SecretKind) -> None:
    secret = SECRETS[kind]
    text = f"Here it is: {secret} (keep it safe)"
    (found,) = detect(text)
    assert (found.kind, text[found.start : found.end]) == (kind, secret)
    assert redact(text) == f"Here it is: [{kind.value}] (keep it safe)"


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1KEYabcd", "AWS_SECRET_KEY",
         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1KEYabcd"),
        ("password: hunter2", "PASSWORD", "hunter2"),
        ('{"db_password": "c0rrect horse"}', "PASSWORD", "c0rrect horse"),
        ("POSTGRES_PASSWORD=Xk29fLq!", "PASSWORD", "Xk29fLq!"),
        ("api_key=a8F3kL9mQ2xZ7vB1", "GENERIC_SECRET", "a8F3kL9mQ2xZ7vB1"),
        ("client_secret: 'Qm3sLw0Zp8Xv4Rt7'", "GENERIC_SECRET", "Qm3sLw0Zp8Xv4Rt7"),
        ("Authorization: Bearer abcDEF123456ghiJKL", "GENERIC_SECRET", "abcDEF123456ghiJKL"),
        ("jdbc:mysql://db:3306/shop?user=root&password=Pq9xLm2z", "CONNECTION_STRING",
         "jdbc:mysql://db:3306/shop?user=root&password=Pq9xLm2z"),
        ("Server=tcp:x.example.net;Database=db;User Id=sa;Password=Hx7kq2Lm;", "CONNECTION_STRING",
         "Hx7kq2Lm"),
        ("mongodb+srv://admin:T0pS3cr3t@cluster0.mongodb.net/app", "CONNECTION_STRING",
         "mongodb+srv://admin:T0pS3cr3t@cluster0.mongodb.net/app"),
    ],
)  # fmt: skip
def test_values_in_context_are_found(text: str, kind: str, value: str) -> None:
    (found,) = detect(text)
    assert (found.kind.value, text[found.start : found.end]) == (kind, value)


def test_an_aws_secret_key_next_to_its_key_id_is_found() -> None:
    text = "AKIAZ3QW7RTYUIOPL2XC:wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1KEYabcd"
    assert redact(text) == "[AWS_ACCESS_KEY]:[AWS_SECRET_KEY]"


def test_a_provider_key_under_a_generic_name_is_the_provider_s() -> None:
    key = SECRETS[SecretKind.OPENAI_KEY]
    assert [s.kind for s in detect(f"api_key={key}")] == [SecretKind.OPENAI_KEY]


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f fixed it",
        "request 123e4567-e89b-12d3-a456-426614174000 failed",
        "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAIzaAKIAABCDEFGHIJKLMNsk-abcdefghijklmnopqrst"
        "uvwxyz0123eyJhbGciOiJIUzI1NiJ9",
        "export OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "Set api_key to sk-your-api-key-here before running",
        "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "AWS's docs use AKIAIOSFODNN7EXAMPLE as an access key id",
        "postgres://user:password@localhost:5432/db",
        "DB_PASSWORD=${DB_PASSWORD}",
        "password: os.environ['DB_PASSWORD']",
        "Password: must be at least 8 characters",
        "Your password is required",
        "max_tokens=256 and tokens: 1500",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVL\n"
        "-----END PUBLIC KEY-----",
        "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        "the token: [GENERIC_SECRET] was redacted",
    ],
)
def test_look_alikes_are_not_secrets(text: str) -> None:
    assert detect(text) == []


def test_a_jwt_needs_a_header_that_names_its_algorithm() -> None:
    fake = "eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + rand(43)  # {"foo":"bar"}
    assert detect(f"token {fake}") == []


def test_only_the_kinds_asked_for_are_looked_for() -> None:
    text = f"{SECRETS[SecretKind.GITHUB_TOKEN]} {SECRETS[SecretKind.STRIPE_KEY]}"
    assert [s.kind for s in detect(text, {SecretKind.STRIPE_KEY})] == [SecretKind.STRIPE_KEY]


def test_a_private_key_cut_off_at_the_end_of_a_whole_text_is_still_a_key() -> None:
    text = f"key: -----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}"
    assert redact(text) == "key: [PRIVATE_KEY]"
    assert detect(text, final=False) == []  # a stream waits for the rest


def chunks_of(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7, 50])
@pytest.mark.parametrize("kind", list(SECRETS))
def test_the_stream_guard_lets_no_part_of_a_secret_out_early(kind: SecretKind, size: int) -> None:
    secret = SECRETS[kind]
    text = f"Use {secret} for the job, then rotate it."
    guard = SecretGuard()
    out = ""
    for piece in chunks_of(text, size):
        out += guard.feed(piece)
        # What has left never holds a piece of the secret that looks like it (8+ characters).
        assert not any(secret[i : i + 8] in out for i in range(0, len(secret) - 8))
    out += guard.flush()
    assert out == redact(text) == f"Use [{kind.value}] for the job, then rotate it."
    assert guard.found == {kind.value}


def test_a_password_split_from_its_name_across_chunks_is_still_found() -> None:
    guard = SecretGuard()
    out = guard.feed("the config says password: ") + guard.feed("hunter2") + guard.feed(" ok")
    assert out + guard.flush() == "the config says password: [PASSWORD] ok"


def test_a_private_key_block_is_held_until_its_end() -> None:
    guard = SecretGuard()
    key = SECRETS[SecretKind.PRIVATE_KEY]
    out = guard.feed("Key:\n" + key[:200])
    assert out == "Key:\n" and guard.held == 200
    out += guard.feed(key[200:] + "\nDone.")
    assert out + guard.flush() == "Key:\n[PRIVATE_KEY]\nDone."


def test_clean_text_streams_out_as_it_comes_but_its_last_word() -> None:
    guard = SecretGuard()
    assert guard.feed("Hello there, how ") == "Hello there, how "
    assert guard.feed("are yo") == "are "
    assert guard.flush() == "yo"


# Texts whose holds are each path of the stream guard: one long token, a key block, a value
# split from its name, a token over MAX_TOKEN, a trigger word far back in the context.
STREAMED = [
    "x " + "A" * 5000 + " " + SECRETS[SecretKind.OPENAI_KEY] + " end",
    "Key:\n" + SECRETS[SecretKind.PRIVATE_KEY] + "\nDone " + SECRETS[SecretKind.GITHUB_TOKEN],
    "![img](data:image/png;base64," + rand(3000, _ALNUM + "+/") + "==) and password: hunter22",
    "Driver={ODBC};Server=db;Database=erp;" + "x" * 100 + ";Pwd=Sup3rS3cret!; and more text",
    "the api docs say " + "lorem ipsum " * 30 + 'api_key = "' + rand(30) + '" ok',
]


@given(st.sampled_from(STREAMED), st.lists(st.integers(1, 400), min_size=1, max_size=60))
@settings(max_examples=150, deadline=None)
def test_a_stream_cut_anywhere_is_redacted_as_the_whole_text(text: str, sizes: list[int]) -> None:
    guard = SecretGuard()
    out, at, i = "", 0, 0
    while at < len(text):
        size = sizes[i % len(sizes)]
        out += guard.feed(text[at : at + size])
        at, i = at + size, i + 1
    assert out + guard.flush() == redact(text)


def test_a_token_over_max_token_is_let_out_in_pieces_but_its_last_max_token() -> None:
    guard = SecretGuard()
    out = "".join(guard.feed("A" * 20) for _ in range(400))  # 8,000 characters, no space
    assert MAX_TOKEN <= guard.held <= MAX_TOKEN * 5 // 4 and out == "A" * (8000 - guard.held)


def test_a_stopping_guard_lets_out_what_came_before_the_first_secret_and_nothing_after() -> None:
    key = SECRETS[SecretKind.GITHUB_TOKEN]
    guard = SecretGuard(stop=True)
    out = guard.feed("Your token is ") + guard.feed(key + " and the rest")
    assert out == "Your token is " and guard.found == {"GITHUB_TOKEN"} and guard.stopped
    assert guard.feed(" more") == guard.flush() == ""
    assert SecretGuard(stop=True).apply(f"take {key} now") == "take "


@pytest.mark.parametrize(
    "text",
    [
        "reset password: click the link",
        "To change your password: open Settings and pick a new one.",
        "forgot password: Enter your e-mail below",
        "Admin password: ask the on-call engineer",
    ],
)
def test_a_word_after_password_that_prose_goes_on_from_is_no_password(text: str) -> None:
    assert detect(text) == []
    guard = SecretGuard()  # streamed, it is held until what follows tells
    assert "".join(guard.feed(c) for c in text) + guard.flush() == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("the wifi password: sunshine", "sunshine"),  # it ends the text
        ("password: letmein\nthen log in", "letmein"),  # it ends its line
        ("password: hunter2 and then log in", "hunter2"),  # a digit
        ("password: cLick the link", "cLick"),  # a capital inside
        ('password: "click the link"', "click the link"),  # quoted
        ("DB_PASSWORD=postgres psql -h db", "postgres"),  # an assignment, not prose
    ],
)
def test_a_value_after_password_that_looks_like_one_is_still_found(text: str, value: str) -> None:
    (found,) = detect(text)
    assert found.kind is SecretKind.PASSWORD and text[found.start : found.end] == value
