#!/usr/bin/env bash
# refposctl report end to end: the real binary on a store file made by the
# real plugin (refpos_report_scenario), one part per ctest test.
#
#   report_cli_test.sh REFPOSCTL SCENARIO WORK_DIR PART
#
# PART: figures (JSON and CSV carry the constructed figures), usage (exit 2
# and a clear message for bad command lines), errors (exit 1 for files that
# cannot be read), atomic (--out is written whole, and not at all on error).
set -euo pipefail

ctl=$1 scenario=$2 work=$3 part=$4
rm -rf "$work"
mkdir -p "$work"
db=$("$scenario" "$work/story")
expected="$work/story/expected.json"
period=(--from 2026-01-01 --to 2026-02-01)

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_exit CODE STDERR_PATTERN -- command...
expect_exit() {
  local want=$1 pattern=$2
  shift 3
  local got=0
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [[ $got == "$want" ]] || fail "$* exited $got, expected $want; stderr: $(cat "$work/err")"
  if [[ -n $pattern ]]; then
    grep -q -- "$pattern" "$work/err" || fail "$*: stderr lacks '$pattern': $(cat "$work/err")"
  fi
}

case $part in
figures)
  "$ctl" report --file "$db" "${period[@]}" --format json --no-progress >"$work/report.json"
  python3 - "$work/report.json" "$expected" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
usd = r["revenue"][0]
checks = {
    "codes.issued": r["codes"]["issued"],
    "codes.redemptions": r["codes"]["redemptions"],
    "codes.conversion_rate": r["codes"]["conversion_rate"],
    "revenue.USD.referred.revenue_minor": usd["referred"]["revenue_minor"],
    "revenue.USD.referred.average_basket_minor": usd["referred"]["average_basket_minor"],
    "revenue.USD.not_referred.repeat_rate": usd["not_referred"]["repeat_rate"],
    "chain.referred_who_referred": r["referral_chain"]["referred_who_referred"],
    "nps.score": r["nps"]["score"],
    "top_referrers.1.customer_id": r["top_referrers"][0]["customer_id"],
}
bad = [(k, v, e[k]) for k, v in checks.items() if v != e[k]]
if bad:
    sys.exit("mismatch: %r" % bad)
PY
  "$ctl" report --file "$db" "${period[@]}" --format csv --no-progress >"$work/report.csv"
  grep -q $'^USD,referred,13,16,60000,3750,3,' "$work/report.csv" || fail "CSV revenue row"
  "$ctl" report --file "$db" "${period[@]}" --no-progress >"$work/report.html"
  grep -q 'data-figure="codes.issued" data-value="7"' "$work/report.html" || fail "HTML is the default"
  # --progress draws the bar on stderr even though stderr is a file here.
  "$ctl" report --file "$db" "${period[@]}" --format json --progress >/dev/null 2>"$work/err"
  grep -q 'report .*100%' "$work/err" || fail "no progress bar with --progress: $(cat "$work/err")"
  "$ctl" report --file "$db" "${period[@]}" --format json >/dev/null 2>"$work/err"
  [[ ! -s $work/err ]] || fail "progress drawn on a non-terminal without --progress"
  ;;
usage)
  expect_exit 2 "reversed" -- "$ctl" report --file "$db" --from 2026-02-01 --to 2026-01-01
  expect_exit 2 "empty" -- "$ctl" report --file "$db" --from 2026-01-01 --to 2026-01-01
  expect_exit 2 "YYYY-MM-DD" -- "$ctl" report --file "$db" --from 01/01/2026 --to 2026-02-01
  expect_exit 2 "--to" -- "$ctl" report --file "$db" --from 2026-01-01
  expect_exit 2 "format" -- "$ctl" report --file "$db" "${period[@]}" --format pdf
  expect_exit 2 "store-404" -- "$ctl" report --file "$db" "${period[@]}" --store store-404
  expect_exit 2 "tz" -- "$ctl" report --file "$db" "${period[@]}" --tz Europe/Paris
  expect_exit 2 "" -- "$ctl" report --file "$db" "${period[@]}" --progress --no-progress
  "$ctl" report --help >"$work/help"
  for word in --file --from --to --store --tz --format --out --no-progress "Exit codes"; do
    grep -q -- "$word" "$work/help" || fail "--help lacks $word"
  done
  ;;
errors)
  expect_exit 1 "not a file" -- "$ctl" report --file "$work/missing.db" "${period[@]}"
  [[ ! -e $work/missing.db ]] || fail "a missing file was created"
  echo "hello" >"$work/text.db"
  expect_exit 1 "" -- "$ctl" report --file "$work/text.db" "${period[@]}"
  sqlite3 "$work/other.db" "CREATE TABLE t (x INTEGER)"
  expect_exit 2 "neither a refpos store" -- "$ctl" report --file "$work/other.db" "${period[@]}"
  ;;
atomic)
  "$ctl" report --file "$db" "${period[@]}" --format csv --out "$work/r.csv"
  [[ ! -s $work/out ]] || true
  head -1 "$work/r.csv" | grep -q '^# report' || fail "--out content"
  cp "$work/r.csv" "$work/r.before"
  expect_exit 2 "store-404" -- "$ctl" report --file "$db" "${period[@]}" --store store-404 --out "$work/r.csv"
  cmp -s "$work/r.csv" "$work/r.before" || fail "a failed report changed --out"
  expect_exit 2 "" -- "$ctl" report --file "$db" "${period[@]}" --store store-404 --out "$work/new.csv"
  [[ ! -e $work/new.csv ]] || fail "a failed report created --out"
  cp "$db" "$work/db.before"
  expect_exit 2 "being reported on" -- "$ctl" report --file "$db" "${period[@]}" --out "$db"
  cmp -s "$db" "$work/db.before" || fail "--out over --file changed the store"
  expect_exit 1 "cannot write" -- "$ctl" report --file "$db" "${period[@]}" --out "$work/no/such/dir/r.html"
  ls "$work" | grep -q '\.tmp' && fail "a temporary file was left behind"
  ;;
*)
  fail "unknown part $part"
  ;;
esac
echo "report.cli.$part: ok"
