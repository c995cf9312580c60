#!/usr/bin/env bash
# Store the Hub API key as a new version of the Secret Manager secret Terraform created.
# The key is read from standard input (never from the command line, where `ps` and the shell
# history would keep it):
#     deploy/set-api-key.sh PROJECT_ID SECRET_ID < key.txt
#     deploy/set-api-key.sh PROJECT_ID SECRET_ID          (then paste the key and press Ctrl-D)
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 PROJECT_ID SECRET_ID < file-with-the-key" >&2
  exit 2
fi
project=$1 secret=$2
[ -t 0 ] && echo "Paste the Hub API key, then press Ctrl-D:" >&2
key=$(cat | tr -d '\r\n')
if [ -z "$key" ]; then
  echo "no key on standard input; nothing stored" >&2
  exit 1
fi
printf '%s' "$key" | gcloud secrets versions add "$secret" --project "$project" --data-file=- >/dev/null
unset key
echo "stored a new version of secret $secret in project $project; the flush function reads it on its next cold start" >&2
