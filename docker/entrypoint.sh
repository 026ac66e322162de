#!/bin/sh
# Container entrypoint: maps environment variables to `paraseek serve` / `paraseek index` options.
#   entrypoint.sh serve             serve until SIGTERM (exec: paraseek receives the signal)
#   entrypoint.sh index SOURCE ...  index a corpus, then exit
#   entrypoint.sh ANY ...           run `paraseek ANY ...` unchanged
# Tokens (PARASEEK_READ_TOKEN, PARASEEK_ADMIN_TOKEN) and the Qdrant API key are read by paraseek
# from the environment, so they never appear in the process list.
# PARASEEK_ENTRYPOINT_DRY_RUN=1 prints the command instead of running it.
set -eu

store_options() {
  if [ -n "${PARASEEK_QDRANT_URL:-}" ]; then
    set -- --qdrant-url "$PARASEEK_QDRANT_URL"
  else
    set -- --data-dir "${PARASEEK_DATA_DIR:-/data}"
  fi
  printf '%s\n' "$@"
}

run() {
  if [ "${PARASEEK_ENTRYPOINT_DRY_RUN:-0}" = "1" ]; then
    printf '%s\n' "$@"
    exit 0
  fi
  exec "$@"
}

command=${1:-serve}
[ $# -gt 0 ] && shift

case "$command" in
  serve)
    set -- serve --address "${PARASEEK_ADDRESS:-0.0.0.0:50051}" \
      --metrics-port "${PARASEEK_METRICS_PORT:-9090}" "$@"
    [ -n "${PARASEEK_MODEL:-}" ] && set -- "$@" --model "$PARASEEK_MODEL"
    [ -n "${PARASEEK_TLS_CERT:-}" ] && set -- "$@" --tls-cert "$PARASEEK_TLS_CERT" --tls-key "${PARASEEK_TLS_KEY:?PARASEEK_TLS_KEY is required with PARASEEK_TLS_CERT}"
    ;;
  index)
    [ -n "${PARASEEK_MODEL:-}" ] && set -- "$@" --model "$PARASEEK_MODEL"
    set -- index "$@"
    ;;
  *)
    run paraseek "$command" "$@"
    ;;
esac

# store options go last so that explicit arguments stay in front
old_ifs=$IFS
IFS='
'
for option in $(store_options); do set -- "$@" "$option"; done
IFS=$old_ifs
run paraseek "$@"
