"""The shapes of what keel's routes take and give, for the OpenAPI document only.

These models describe; they never parse. The data plane reads bodies with one orjson parse
(``edge.parse_body``) and the admin API checks its few fields by hand, so nothing here runs
per request: ``openapi.document`` turns them into JSON Schema once, at start.

Request bodies are open (``extra="allow"``) where keel passes unknown fields on to the
upstream, as OpenAI clients expect.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MODEL_MAX", "SCHEMAS"]

# The longest model name keel accepts; longer ones are refused with a 400 (store column size).
MODEL_MAX = 256


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Closed):
    message: str = Field(description="What went wrong and what to do about it.")
    type: str = Field(description="OpenAI error type, e.g. invalid_request_error.")
    code: str | None = Field(description="keel's code, e.g. model_not_found, budget_exceeded.")
    param: str | None = Field(description="The request field at fault, if one is.")


class Error(_Closed):
    """Every error keel answers, on every route, has this shape (OpenAI's)."""

    error: ErrorDetail


class Message(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(_Open):
    include_usage: bool | None = None


class _Generation(_Open):
    model: str = Field(
        min_length=1,
        max_length=MODEL_MAX,
        description="A model in keel.yaml's models.",
        examples=["m"],
    )
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, description="At most limits.max_tokens.")
    n: int | None = Field(None, ge=1, le=128, description="How many choices (1-128).")
    temperature: float | None = Field(None, ge=0, le=2)
    user: str | None = None


class ChatRequest(_Generation):
    messages: list[Message] = Field(min_length=1, description="At most limits.max_messages.")
    max_completion_tokens: int | None = Field(None, ge=1)


class CompletionRequest(_Generation):
    prompt: str | list[str] = Field(description="The text to continue.")


class EmbeddingRequest(_Open):
    model: str = Field(min_length=1, max_length=MODEL_MAX, examples=["m"])
    input: str | Annotated[list[str], Field(min_length=1)] = Field(
        description="The text (or texts) to embed."
    )
    dimensions: int | None = Field(None, ge=1)
    encoding_format: Literal["float", "base64"] | None = None


class Usage(_Open):
    prompt_tokens: int
    completion_tokens: int | None = None
    total_tokens: int


class ChatCompletion(_Open):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: Usage | None = None


class Completion(_Open):
    id: str
    object: Literal["text_completion"]
    created: int
    model: str
    choices: list[dict[str, Any]]
    usage: Usage | None = None


class EmbeddingList(_Open):
    object: Literal["list"]
    data: list[dict[str, Any]]
    model: str
    usage: Usage | None = None


class ModelReach(_Closed):
    protocols: dict[str, Literal["native", "translated"]] = Field(
        description="How each client endpoint (chat, completions, embeddings, messages, "
        "responses) reaches the model: native (passed as the client sent it) or translated; "
        "an endpoint none of its deployments can take is left out."
    )


class ModelCard(_Closed):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    keel: ModelReach


class ModelList(_Closed):
    object: Literal["list"]
    data: list[ModelCard]


class FeedbackRequest(_Open):
    request_id: str = Field(
        min_length=1, max_length=128, description="The x-request-id of the answer."
    )
    outcome: str = Field(
        min_length=1, max_length=64, description="A label; the project's use case may list them."
    )


class FeedbackRecorded(_Closed):
    recorded: Literal[True]
    seq: int
    request_id: str
    outcome: str
    team: str
    project: str | None


class NewKey(_Open):
    team: str = Field(description="A team in keel.yaml.", examples=["t"])
    name: str | None = Field(None, max_length=256, description="A label for people.")
    expires: str | None = Field(None, description="A date, or a span such as 30d.")
    models: list[str] | None = Field(None, description="Narrow the team's models.")
    data_class: str | None = Field(None, description="Narrow the team's data class.")
    project: str | None = Field(
        None, max_length=128, description="Tag the key's calls with a use case."
    )


class Key(_Closed):
    id: str
    team: str
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    data_class: str | None
    models: list[str] | None
    project: str | None


class CreatedKey(Key):
    key: str = Field(description="The key itself: shown once, here, and never stored.")


class KeyList(_Closed):
    object: Literal["list"]
    data: list[Key]


class Revoked(_Closed):
    id: str
    revoked: Literal[True]


class Team(_Closed):
    team: str
    models: list[str]
    data_class: str | None


class TeamList(_Closed):
    object: Literal["list"]
    data: list[Team]


class ModelSummary(_Closed):
    name: str
    versions: list[int] = Field(description="Every version, archived ones too.")
    archived: list[int]
    latest: int
    aliases: dict[str, int] = Field(description="Each alias and the version it names.")


class ModelSummaryList(_Closed):
    object: Literal["list"]
    data: list[ModelSummary]


class ModelVersionRecord(_Closed):
    """One registered version, as keel models show prints it."""

    name: str
    version: int
    sha256: str = Field(description="The artifact's address (its content's SHA-256).")
    format: str = Field(description="onnx, skops, pickle, or mlflow+ one of them.")
    signature: dict[str, Any] = Field(description="Its OIP v2 inputs and outputs.")
    creator: str = Field(description="Who registered it (admin:N through this API).")
    created_at: float
    metrics: dict[str, Any]
    training: dict[str, Any] | None = Field(
        description="The training data's fingerprint and statistics (keel models register "
        "--train-data), if given."
    )
    tags: dict[str, str]
    description: str
    code_version: str | None
    archived_at: float | None
    aliases: list[str] = Field(description="The aliases naming it now.")


class ModelDetail(_Closed):
    name: str
    aliases: dict[str, int]
    versions: list[ModelVersionRecord]


class AliasMove(_Closed):
    version: int = Field(ge=1, le=2**31 - 1, description="The live version it names from now.")
    why: str = Field("", description="Why: recorded with the move.")


class AliasEvent(_Closed):
    """One move of an alias: who moved it, from which version to which, why and when."""

    seq: int
    ts: float = Field(description="When, in seconds since the epoch.")
    name: str
    alias: str
    before: int | None = Field(description="The version it named before; null: it was new.")
    after: int
    who: str
    why: str


class ModelLineage(_Closed):
    name: str
    aliases: dict[str, int]
    events: list[AliasEvent] = Field(description="Every alias move, oldest first.")


class Health(_Open):
    status: str


class OipError(_Closed):
    """An Open Inference Protocol error."""

    error: str


class LabelRequest(_Open):
    """One true label, or ``labels``: a list of them (POST /v2/models/{model}/feedback)."""

    request_id: str | None = Field(
        None, min_length=1, max_length=128, description="The x-request-id of the answer."
    )
    label: str | int | float | bool | None = Field(None, description="The row's true label.")
    row: int = Field(0, ge=0, description="The row's index in the call's batch.")
    labels: list[dict[str, Any]] | None = Field(
        None, max_length=1000, description="Several labels, each {request_id, label, row}."
    )


class LabelsRecorded(_Closed):
    recorded: int
    model: str
    rejected: list[dict[str, Any]] | None = Field(
        None, description="A bulk request's refused labels: {index, error}; the rest are kept."
    )


class OipTensor(_Open):
    name: str
    datatype: Literal[
        "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64",
        "FP16", "FP32", "FP64", "BYTES",
    ]  # fmt: skip
    shape: list[int]
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class OipInferRequest(_Open):
    """An OIP v2 infer request; with Triton's binary extension, JSON then the tensors' bytes."""

    id: str | None = None
    inputs: list[OipTensor]
    outputs: list[dict[str, Any]] | None = None
    parameters: dict[str, Any] | None = None


class OipInferResponse(_Open):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    outputs: list[dict[str, Any]]


class OipModel(_Open):
    name: str
    versions: list[str]
    platform: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


class AnthropicErrorDetail(_Open):
    type: str = Field(description="Anthropic's error type, e.g. invalid_request_error.")
    message: str = Field(description="What went wrong and what to do about it.")


class AnthropicError(_Open):
    """Every error on the Messages routes has this shape (Anthropic's)."""

    type: Literal["error"]
    error: AnthropicErrorDetail


class MessagesRequest(_Open):
    """Anthropic's Messages request; fields keel does not read pass on to native upstreams."""

    model: str = Field(min_length=1, max_length=MODEL_MAX, examples=["m"])
    messages: list[dict[str, Any]] = Field(min_length=1, description="At most limits.max_messages.")
    max_tokens: int = Field(ge=1, description="At most limits.max_tokens.")
    system: str | list[dict[str, Any]] | None = None
    stream: bool | None = False


class MessagesAnswer(_Open):
    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    content: list[dict[str, Any]]
    model: str | None
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: dict[str, Any] | None = None


class CountTokensRequest(_Open):
    model: str = Field(min_length=1, max_length=MODEL_MAX, examples=["m"])
    messages: list[dict[str, Any]] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None


class TokenCount(_Closed):
    """An estimate (about four characters a token); ``x-keel-estimated: true`` says so."""

    input_tokens: int


class ResponsesRequest(_Open):
    """OpenAI's Responses request; see docs/protocols.md for what is translated."""

    model: str = Field(min_length=1, max_length=MODEL_MAX, examples=["m"])
    input: str | list[dict[str, Any]] = Field(description="A string, or input items.")
    instructions: str | None = None
    previous_response_id: str | None = Field(
        None, description="A stored response of the caller's team to continue."
    )
    max_output_tokens: int | None = Field(None, ge=1, description="At most limits.max_tokens.")
    store: bool | None = True
    stream: bool | None = False


class ResponseObject(_Open):
    """A Response (its fields as the Responses API has them)."""

    id: str
    object: Literal["response"]
    created_at: float
    status: str | None
    model: str
    output: list[dict[str, Any]]
    usage: dict[str, Any] | None = None


class ResponseDeleted(_Closed):
    id: str
    object: Literal["response"]
    deleted: bool


class ResponseItems(_Closed):
    """A page of a response's input items."""

    object: Literal["list"]
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    has_more: bool


class OipServer(_Open):
    name: str
    version: str
    extensions: list[str]


class OipState(_Open):
    """``{"live": true}``, ``{"ready": true}``, or a model's readiness."""


SCHEMAS: tuple[type[BaseModel], ...] = (
    Error,
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    ChatCompletion,
    Completion,
    EmbeddingList,
    ModelReach,
    ModelCard,
    ModelList,
    FeedbackRequest,
    FeedbackRecorded,
    NewKey,
    Key,
    CreatedKey,
    KeyList,
    Revoked,
    Team,
    TeamList,
    ModelSummary,
    ModelSummaryList,
    ModelVersionRecord,
    ModelDetail,
    AliasMove,
    AliasEvent,
    ModelLineage,
    Health,
    OipError,
    LabelRequest,
    LabelsRecorded,
    OipTensor,
    OipInferRequest,
    OipInferResponse,
    OipModel,
    OipServer,
    OipState,
    AnthropicError,
    MessagesRequest,
    MessagesAnswer,
    CountTokensRequest,
    TokenCount,
    ResponsesRequest,
    ResponseObject,
    ResponseDeleted,
    ResponseItems,
)
