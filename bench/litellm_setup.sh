#!/usr/bin/env bash
# Install LiteLLM's proxy into its own venv, bench/.venv-litellm (never into keel's .venv).
# Idempotent: a stamp file records the installed version; a second run does nothing.
set -euo pipefail

VERSION="${LITELLM_VERSION:-1.106.2}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-litellm"
STAMP="$VENV/.installed-$VERSION"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && -x "$VENV/bin/litellm" ]]; then
    echo "litellm $VERSION already installed in $VENV"
    exit 0
fi

echo "installing litellm[proxy]==$VERSION into $VENV (first time: a few minutes)" >&2
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "litellm[proxy]==$VERSION"
touch "$STAMP"
echo "litellm $VERSION installed in $VENV"
