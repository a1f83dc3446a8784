#!/usr/bin/env bash
# Renders a unit's certificate (HTML) to a PNG with headless Chromium, for people to look at.
#
#   scripts/certificate-png.sh CERTIFICATE.html [OUT.png]
#
# With no certificate at hand, make one: `swift test --filter certificateForA24FiberUnit` leaves
# a 24-fiber certificate in $TMPDIR/ferrule-test-certificateForA24FiberUnit-*/certificate-24.html,
# and every unit ferruled tests has one beside its report (reports/<serial>_<time>_<id>.html).
# Chromium is not installed by .ci/run (the certificate test checks the HTML itself);
# on Debian: apt-get install chromium.
set -euo pipefail
in=${1:?usage: certificate-png.sh CERTIFICATE.html [OUT.png]}
out=${2:-${in%.html}.png}
browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
    echo "certificate-png.sh: no Chromium found; install it (Debian: apt-get install chromium)" >&2
    exit 2
fi
# 794 px is A4's width at 96 dpi; the page grows as tall as the certificate needs.
"$browser" --headless=new --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 \
    --window-size=794,2400 --screenshot="$out" "file://$(realpath "$in")" >/dev/null 2>&1
echo "$out"
