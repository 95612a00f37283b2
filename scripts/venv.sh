# Sourced by the other scripts: create .venv and install the project into it,
# again whenever pyproject.toml changes. Needs python3 (3.11 or newer) and pip.
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  echo "Installing the project and its test tools into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# shellcheck disable=SC1091
. .venv/bin/activate
