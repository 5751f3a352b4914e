#!/usr/bin/env bash
# Regenerate src/hoso/db/migrations/versions/0001_initial.py from the current models.
#
# Autogenerates against a scratch, empty SQLite file (revision files render the models'
# types, not the database's, so the result is backend-neutral), then formats it with ruff.
# Only for while 0001 is the sole revision and no database that matters has been migrated;
# afterwards add a new revision instead (make migration NAME=slug).
set -euo pipefail
cd "$(dirname "$0")/.."

versions=src/hoso/db/migrations/versions
others=$(find "$versions" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]_*.py' ! -name '0001_*' | sort)
if [ -n "$others" ]; then
    echo "Refusing: later revisions exist and depend on 0001:" >&2
    echo "$others" >&2
    exit 1
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rm -f "$versions"/0001_*.py

.venv/bin/python - "$scratch/scratch.db" <<'PY'
import sys

from hoso.db import migrate

path = migrate.new_revision("initial", f"sqlite:///{sys.argv[1]}")
print(f"wrote {path}")
PY

.venv/bin/ruff format --quiet "$versions"/0001_initial.py
.venv/bin/ruff check --fix --quiet "$versions"/0001_initial.py
echo "Review the file (types, indexes, constraint names) before committing it."
