#!/usr/bin/env bash
# Install MLServer with its scikit-learn runtime into its own venv, bench/.mlserver-venv (never
# into keel's .venv). scikit-learn is pinned to the version of the Python running the benchmark
# (SKLEARN_VERSION), so the joblib file fitted there loads here unchanged.
# uvloop stays below 0.22: from 0.22 on its get_event_loop() raises in a new process, and
# MLServer 1.7.1's parallel workers (parallel_workers >= 1, the default) die at start.
# Idempotent: a stamp file records what was installed; a second run does nothing.
set -euo pipefail

VERSION="${MLSERVER_VERSION:-1.7.*}"
SKLEARN="${SKLEARN_VERSION:?set SKLEARN_VERSION to the scikit-learn version the model is fitted with}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.mlserver-venv"
STAMP="$VENV/.installed-${VERSION//\*/x}-sklearn-$SKLEARN-uvloop-lt-0.22"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && -x "$VENV/bin/mlserver" ]]; then
    echo "mlserver $VERSION (scikit-learn $SKLEARN) already installed in $VENV"
    exit 0
fi

echo "installing mlserver==$VERSION, mlserver-sklearn==$VERSION into $VENV (first time: minutes)" >&2
test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "mlserver==$VERSION" "mlserver-sklearn==$VERSION" \
    "scikit-learn==$SKLEARN" "uvloop<0.22"
touch "$STAMP"
echo "mlserver $VERSION (scikit-learn $SKLEARN) installed in $VENV"
