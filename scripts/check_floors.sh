#!/usr/bin/env bash
# Are the dependency floors in pyproject.toml true? Installs the course twice, in virtual environments of its own
# (.venv-floors-lowest, .venv-floors-newest), and runs the unit tests in each:
#   lowest: every direct dependency at the lowest version pyproject.toml allows (uv's --resolution lowest-direct),
#           on the oldest Python the README names (3.10);
#   newest: every dependency at its newest release, on the newest Python the course supports (3.13).
# Usage: bash scripts/check_floors.sh [lowest|newest]...   (default: both). Needs uv (installed here if missing)
# and the Pythons (pyenv's, or set OLDEST_PYTHON / NEWEST_PYTHON to interpreters). Takes minutes: TensorFlow is
# downloaded for each environment. Exit status 0 only if every environment asked for passes.
set -uo pipefail
cd "$(dirname "$0")/.."

find_python() {  # the newest patch release of a minor version under pyenv
  local minor=$1
  local root
  root=$(pyenv root 2>/dev/null) || return 1
  ls -d "$root"/versions/"$minor".*/bin/python 2>/dev/null | sort -V | tail -n 1
}

oldest=${OLDEST_PYTHON:-$(find_python 3.10)}
newest=${NEWEST_PYTHON:-$(find_python 3.13)}
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv || { echo "check_floors: cannot install uv" >&2; exit 2; }
fi

run() {  # name python resolution
  local name=$1 python=$2 resolution=$3 venv=".venv-floors-$1"
  if [ -z "$python" ] || [ ! -x "$python" ]; then
    echo "check_floors: $name: no Python found (set ${name^^}_PYTHON)" >&2
    return 2
  fi
  echo "== $name: $("$python" --version 2>&1), resolution $resolution"
  rm -rf "$venv"
  uv venv --quiet --python "$python" "$venv" || return 1
  uv pip install --quiet --python "$venv/bin/python" --resolution "$resolution" -e ".[course,test]" || return 1
  uv pip list --python "$venv/bin/python" 2>/dev/null | grep -iE '^(tensorflow|keras|numpy|pandas|scikit-learn|matplotlib|nbval|jupyterlab|ipywidgets) ' || true
  # The unit tests: every op against TensorFlow, the data, the cache, training, the exercises (not the notebooks,
  # not the browser: they run in CI on the versions pip resolves).
  "$venv/bin/python" -m pytest tests -q -o addopts="" -p no:cacheprovider -n 2 --ignore=tests/e2e \
    --deselect tests/test_solutions.py
}

status=0
for target in "${@:-lowest newest}"; do
  for one in $target; do
    case $one in
      lowest) run lowest "$oldest" lowest-direct || status=1 ;;
      newest) run newest "$newest" highest || status=1 ;;
      *) echo "check_floors: expected lowest or newest, got $one" >&2; exit 2 ;;
    esac
  done
done
exit $status
