#!/usr/bin/env sh
# Chromium and a Korean font for the calendar page's browser tests, from Debian's packages when
# missing: as root (as CI runs) or through password-less sudo. Does nothing when both are there.
# CHROMIUM names another Chromium binary (default /usr/bin/chromium).
set -eu
chromium=${CHROMIUM:-/usr/bin/chromium}
missing=""
[ -x "$chromium" ] || missing=" chromium"
# Without a Korean font Chromium draws Hangul as empty boxes.
if ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed" &&
  ! fc-list :lang=ko 2>/dev/null | grep -q .; then
  missing="$missing fonts-noto-cjk"
fi
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "The browser tests need Chromium and a Korean font (Debian:$missing). Install them," >&2
  echo "or set CHROMIUM to a Chromium binary." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root="sudo"
else
  echo "The browser tests need:$missing. Run: sudo apt-get install$missing" >&2
  exit 1
fi
echo "→ apt-get install$missing (for the browser tests)"
$as_root apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
