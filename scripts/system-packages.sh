#!/usr/bin/env bash
# Install the Debian packages mandat needs when they are missing.
# Only acts as root on a Debian-like system; elsewhere it says what is missing.
set -euo pipefail

missing=()
python3 -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# WeasyPrint renders letters with Pango; DejaVu gives every letter the same fonts.
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0.so.0 || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
# The browser tests drive Debian's Chromium through Playwright.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# The HTTP benchmarks (make bench: bench/clients.py, bench/http.py) load the server with wrk.
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
# The test that every string of the code is in the catalogues runs makemessages (xgettext).
command -v xgettext >/dev/null 2>&1 || missing+=(gettext)
for package in "$@"; do
  case "$package" in
    chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
    *) dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Please install these packages (as root: apt-get install ${missing[*]})." >&2
  case " ${missing[*]} " in *" python3-venv "*) exit 1 ;; esac
fi
