#!/usr/bin/env bash
# Debian packages the project needs beyond Python: pango for WeasyPrint's PDF rendering, poppler-utils
# for the PDF tests (pdftoppm), DejaVu fonts so documents render the same everywhere, chromium for the
# dashboard's browser tests (Playwright drives it; it never downloads a browser of its own). Idempotent:
# does nothing when they are present; needs root (or sudo) to install.
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils chromium)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Install these system packages (Debian names): ${missing[*]}" >&2
  exit 1
fi
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
echo "Installing system packages: ${missing[*]}"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
