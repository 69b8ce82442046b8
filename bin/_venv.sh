# Sourced by the bin/ scripts: make sure .venv exists with rnntools installed (editable) and its extras.
# The venv is rebuilt when pyproject.toml changes, so a fresh clone or a pull needs no manual step.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RNNTOOLS_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"

ensure_venv() {
  local extras="$1"
  local stamp="$VENV/.rnntools-stamp"
  local want
  want="$(cat "$ROOT/pyproject.toml" | cksum | cut -d' ' -f1)-$extras"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && grep -qx -- "$want" "$stamp" 2>/dev/null; then
    return 0
  fi
  # a stamp for more extras covers fewer: test installs everything the plain commands need
  if [ -x "$VENV/bin/python" ] && [ "$extras" = "" ] && [ -f "$stamp" ] && \
     grep -q -- "^${want%-}-" "$stamp" 2>/dev/null; then
    return 0
  fi
  echo "rnntools: setting up $VENV (first run only)..." >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  local spec="$ROOT"
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
  echo "$want" > "$stamp"
}
