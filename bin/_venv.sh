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
  local spec="$ROOT" log
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  # pip's and setuptools' chatter goes to a log that is shown only if the install fails
  log="$(mktemp "${TMPDIR:-/tmp}/rnntools-setup.XXXXXX")"
  if ! { "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip &&
         "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "rnntools: setting up $VENV failed (the messages above say why)" >&2
    return 1
  fi
  rm -f "$log"
  echo "$want" > "$stamp"
}
