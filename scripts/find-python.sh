#!/usr/bin/env sh
# Prints the path of a Python 3.12 or newer (Lambda's runtime follows the local Python),
# trying the PATH first and then pyenv's installed versions. Exits 1 with a hint if none.
is_recent() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}
for candidate in python3.12 python3.13 python3.14 python3; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if is_recent "$path"; then echo "$path"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for path in "$(pyenv root)"/versions/3.1[2-9]*/bin/python3; do
    if [ -x "$path" ] && is_recent "$path"; then echo "$path"; exit 0; fi
  done
fi
echo "No Python 3.12+ found: install one (e.g. 'pyenv install 3.12') and run make again." >&2
exit 1
