#!/usr/bin/env bash
# Makes sure the machine has what the local stack needs beyond the virtualenv: Java and
# Google's Pub/Sub emulator (Debian packages). Installs what is missing when it can (root
# with apt-get); otherwise says plainly what is missing and how to get it, and fails.
set -u
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if ! command -v gcloud >/dev/null 2>&1; then
  missing+=(google-cloud-cli google-cloud-cli-pubsub-emulator)
else
  sdk=$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")
  [ -d "$sdk/platform/pubsub-emulator" ] || missing+=(google-cloud-cli-pubsub-emulator)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "The local stack needs: ${missing[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing them with apt-get..."
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1; then
    echo "Installed: ${missing[*]}"
    exit 0
  fi
fi
cat <<MSG
Could not install ${missing[*]}.
Install them, then run this again:
  - Java: apt-get install default-jre-headless
  - Google Cloud CLI and the Pub/Sub emulator: add Google's apt repository
    (https://cloud.google.com/sdk/docs/install#deb), then
    apt-get install google-cloud-cli google-cloud-cli-pubsub-emulator
MSG
exit 1
