#!/usr/bin/env bash
# Fails when any C++ file of the project differs from clang-format's output (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then bad+=("$f"); fi
done < <(git ls-files '*.h' '*.cc')
if ((${#bad[@]})); then
  echo "check-format: not clang-formatted (run: clang-format -i <file>): ${bad[*]}" >&2
  exit 1
fi
echo "check-format: $(git ls-files '*.h' '*.cc' | wc -l) files formatted" >&2
