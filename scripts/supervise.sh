#!/usr/bin/env bash
# Keep one process of `make run` up: run the command, and when it exits (crash, OOM kill, a
# dependency that was briefly away) start it again after a backoff that doubles from
# SUPERVISE_MIN_BACKOFF to SUPERVISE_MAX_BACKOFF seconds and resets once a run lasted
# SUPERVISE_STABLE_SECONDS. Without it honcho stops every process when one of them dies.
# SIGTERM/SIGINT (honcho stopping, Ctrl-C) stop the command and end the supervision.
#
#   scripts/supervise.sh <command> [args...]
set -u

min_backoff="${SUPERVISE_MIN_BACKOFF:-1}"
max_backoff="${SUPERVISE_MAX_BACKOFF:-30}"
stable_seconds="${SUPERVISE_STABLE_SECONDS:-60}"
name="$(basename "$1")"
child=0
delay="$min_backoff"

stop() {
  trap - TERM INT
  if [ "$child" -ne 0 ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit 0
}
trap stop TERM INT

while true; do
  started=$(date +%s)
  "$@" &
  child=$!
  wait "$child"
  status=$?
  child=0
  ran=$(( $(date +%s) - started ))
  if [ "$ran" -ge "$stable_seconds" ]; then
    delay="$min_backoff"
  fi
  echo "[supervise] $name exited with status $status after ${ran}s; restarting in ${delay}s" >&2
  sleep "$delay" &
  wait $!
  delay=$(( delay * 2 > max_backoff ? max_backoff : delay * 2 ))
done
