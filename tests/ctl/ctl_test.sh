#!/usr/bin/env bash
# refposctl's PKI commands (and hq migrate's refusals), run for real in a
# temporary folder and checked with the openssl CLI.
# Usage: ctl_test.sh <refposctl> <part>
set -euo pipefail

CTL=$1
PART=$2
OPENSSL=${OPENSSL:-openssl}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/refposctl-test-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

fail() { echo "FAIL ($PART): $*" >&2; exit 1; }
mode_of() { stat -c %a "$1"; }
expect_mode() { [[ $(mode_of "$1") == "$2" ]] || fail "$1: mode $(mode_of "$1"), expected $2"; }
# Runs a command that must fail with exit code $1; its stderr lands in err.txt.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >out.txt 2>err.txt || got=$?
  [[ $got == "$want" ]] || { cat err.txt >&2; fail "'$*' exited $got, expected $want"; }
}
# A store or admin certificate verifies for client use against the chain's CA.
verify_client() { "$OPENSSL" verify -CAfile chain/ca/ca.pem -purpose sslclient "$1"; }

init_chain() { "$CTL" chain init --dir chain --name "Acme Foods" >/dev/null; }

case $PART in
  init)
    "$CTL" chain init --dir chain --name "Acme Foods" --host hq.example --ip 127.0.0.1 > out.txt
    for f in ca/ca.key hq/server.key hq/signing.key; do expect_mode "chain/$f" 600; done
    for f in ca/ca.pem ca/crl.pem ca/serials.json hq/server.pem hq/signing.pub; do
      [[ -s chain/$f ]] || fail "chain/$f missing or empty"
    done
    expect_mode chain/ca 700
    grep -q "BEGIN PRIVATE KEY" chain/ca/ca.key || fail "ca.key is not PKCS#8 PEM"
    [[ $(tr -d '\n' < chain/hq/signing.key | wc -c) == 64 ]] || fail "signing.key is not 64 hex"
    [[ $(tr -d '\n' < chain/hq/signing.pub | wc -c) == 64 ]] || fail "signing.pub is not 64 hex"
    grep -q "$(cat chain/hq/signing.pub)" out.txt || fail "the public key is not printed"
    "$OPENSSL" x509 -in chain/ca/ca.pem -noout -subject | grep -q "CN = Acme Foods refpos CA" \
      || fail "CA subject"
    "$OPENSSL" verify -CAfile chain/ca/ca.pem -purpose sslserver -verify_hostname hq.example \
      chain/hq/server.pem >/dev/null || fail "server certificate does not verify"
    "$OPENSSL" x509 -in chain/hq/server.pem -noout -ext subjectAltName > san.txt
    grep -q "DNS:hq.example" san.txt && grep -q "IP Address:127.0.0.1" san.txt || fail "SAN"
    "$OPENSSL" crl -in chain/ca/crl.pem -noout -text | grep -q "No Revoked Certificates" \
      || fail "the new CRL is not empty"
    # A CA of 5 years, a server certificate of 90 days (plus the hour of skew).
    ca_end=$(date -d "$("$OPENSSL" x509 -in chain/ca/ca.pem -noout -enddate | cut -d= -f2)" +%s)
    (( ca_end - $(date +%s) > 5*365*86400 - 600 )) || fail "CA lifetime"
    sv_end=$(date -d "$("$OPENSSL" x509 -in chain/hq/server.pem -noout -enddate | cut -d= -f2)" +%s)
    (( sv_end - $(date +%s) <= 90*86400 )) || fail "server lifetime"
    python3 -c '
import json, sys
d = json.load(open("chain/ca/serials.json"))
roles = [c["role"] for c in d["certificates"]]
assert roles == ["ca", "server"], roles
assert all(not c["revoked"] and len(c["serial"]) == 32 for c in d["certificates"])
' || fail "serials.json"
    # Defaults: localhost and 127.0.0.1.
    "$CTL" chain init --dir chain2 --name b >/dev/null
    "$OPENSSL" x509 -in chain2/hq/server.pem -noout -ext subjectAltName > san2.txt
    grep -q "DNS:localhost" san2.txt && grep -q "IP Address:127.0.0.1" san2.txt || fail "default SAN"
    # Twice refuses, and changes nothing.
    before=$(sha256sum chain/ca/ca.key chain/ca/ca.pem)
    expect_exit 1 "$CTL" chain init --dir chain --name "Acme Foods"
    grep -q "^refposctl: .*already exists" err.txt || fail "no clear refusal: $(cat err.txt)"
    [[ $before == $(sha256sum chain/ca/ca.key chain/ca/ca.pem) ]] || fail "the CA changed"
    ;;
  provision)
    init_chain
    "$CTL" store provision --chain chain --store-dir store1 --store-id store-001 >/dev/null
    expect_mode store1/tls/store.key 600
    for f in store.csr store.pem ca.pem; do [[ -s store1/tls/$f ]] || fail "store1/tls/$f"; done
    cmp -s store1/tls/ca.pem chain/ca/ca.pem || fail "ca.pem is not the chain's CA"
    verify_client store1/tls/store.pem >/dev/null || fail "store certificate does not verify"
    "$OPENSSL" verify -CAfile store1/tls/ca.pem -purpose sslserver store1/tls/store.pem \
      >/dev/null 2>&1 && fail "a store certificate verified for server use"
    "$OPENSSL" x509 -in store1/tls/store.pem -noout -subject | grep -q "OU = store, CN = store-001" \
      || fail "store subject"
    "$OPENSSL" req -verify -noout -in store1/tls/store.csr 2>&1 | grep -q "verify OK" || fail "CSR"
    # The certificate is for the key in the store folder.
    [[ $("$OPENSSL" x509 -in store1/tls/store.pem -noout -pubkey) == \
       $("$OPENSSL" pkey -in store1/tls/store.key -pubout) ]] || fail "certificate/key mismatch"
    # The key never reaches the chain folder.
    ! grep -rq "PRIVATE KEY" chain/ca/serials.json chain/ca/crl.pem || fail "a key in the chain"
    serial=$("$OPENSSL" x509 -in store1/tls/store.pem -noout -serial | cut -d= -f2 | tr A-F a-f)
    grep -q "\"$serial\"" chain/ca/serials.json || fail "serial not recorded"
    # Provisioning again refuses; --renew keeps the key.
    expect_exit 1 "$CTL" store provision --chain chain --store-dir store1 --store-id store-001
    key_before=$(sha256sum < store1/tls/store.key)
    "$CTL" store provision --chain chain --store-dir store1 --store-id store-001 --renew >/dev/null
    [[ $key_before == $(sha256sum < store1/tls/store.key) ]] || fail "--renew changed the key"
    verify_client store1/tls/store.pem >/dev/null || fail "renewed certificate"
    ;;
  revoke)
    init_chain
    "$CTL" store provision --chain chain --store-dir s7 --store-id store-007 >/dev/null
    "$CTL" store provision --chain chain --store-dir s8 --store-id store-008 >/dev/null
    "$OPENSSL" verify -CAfile chain/ca/ca.pem -crl_check -CRLfile chain/ca/crl.pem \
      -purpose sslclient s7/tls/store.pem >/dev/null || fail "verify before revoke"
    "$CTL" store revoke --chain chain --store-id store-007 >/dev/null
    if "$OPENSSL" verify -CAfile chain/ca/ca.pem -crl_check -CRLfile chain/ca/crl.pem \
         -purpose sslclient s7/tls/store.pem > v.txt 2>&1; then
      fail "a revoked store certificate verified"
    fi
    grep -q "certificate revoked" v.txt || fail "not refused as revoked: $(cat v.txt)"
    "$OPENSSL" verify -CAfile chain/ca/ca.pem -crl_check -CRLfile chain/ca/crl.pem \
      -purpose sslclient s8/tls/store.pem >/dev/null || fail "another store was revoked too"
    python3 -c '
import json
d = json.load(open("chain/ca/serials.json"))
r = {c["name"]: c["revoked"] for c in d["certificates"] if c["role"] == "store"}
assert r == {"store-007": True, "store-008": False}, r
' || fail "serials.json after revoke"
    # Next update in 7 days.
    next=$(date -d "$("$OPENSSL" crl -in chain/ca/crl.pem -noout -nextupdate | cut -d= -f2)" +%s)
    (( next - $(date +%s) > 7*86400 - 600 && next - $(date +%s) <= 7*86400 )) || fail "nextUpdate"
    # A week later the CRL is re-signed with the same serials and a later date.
    REFPOS_CTL_NOW=$(( $(date +%s) + 6*86400 )) "$CTL" chain crl --dir chain >/dev/null
    next2=$(date -d "$("$OPENSSL" crl -in chain/ca/crl.pem -noout -nextupdate | cut -d= -f2)" +%s)
    (( next2 - next >= 6*86400 - 600 )) || fail "chain crl did not move nextUpdate"
    "$OPENSSL" crl -in chain/ca/crl.pem -noout -text | grep -qi "Serial Number: $(
      "$OPENSSL" x509 -in s7/tls/store.pem -noout -serial | cut -d= -f2)" || fail "chain crl lost a serial"
    # Revoking again is harmless; an unknown store fails.
    "$CTL" store revoke --chain chain --store-id store-007 >/dev/null
    expect_exit 1 "$CTL" store revoke --chain chain --store-id store-999
    grep -q "^refposctl: no certificate was issued to store 'store-999'" err.txt || fail "$(cat err.txt)"
    ;;
  admin)
    init_chain
    "$CTL" admin issue --chain chain --name alice --out alice >/dev/null
    expect_mode alice/admin.key 600
    cmp -s alice/ca.pem chain/ca/ca.pem || fail "admin ca.pem"
    verify_client alice/admin.pem >/dev/null || fail "admin certificate does not verify"
    "$OPENSSL" x509 -in alice/admin.pem -noout -subject | grep -q "OU = admin, CN = alice" \
      || fail "admin subject"
    end=$(date -d "$("$OPENSSL" x509 -in alice/admin.pem -noout -enddate | cut -d= -f2)" +%s)
    (( end - $(date +%s) <= 30*86400 && end - $(date +%s) > 30*86400 - 600 )) || fail "30 days"
    expect_exit 1 "$CTL" admin issue --chain chain --name alice --out alice
    grep -q "^refposctl: .*already exists" err.txt || fail "$(cat err.txt)"
    ;;
  usage)
    init_chain
    for bad in "" "has space" "a/b" "$(printf 'x%.0s' {1..65})" "é"; do
      expect_exit 2 "$CTL" store provision --chain chain --store-dir s --store-id "$bad"
      grep -q "^refposctl: .*store-id" err.txt || fail "no message for '$bad': $(cat err.txt)"
    done
    [[ ! -e s ]] || fail "a refused provision made the store folder"
    "$CTL" store provision --chain chain --store-dir s --store-id "$(printf 'x%.0s' {1..64})" \
      >/dev/null || fail "a 64-character id was refused"
    expect_exit 2 "$CTL"
    grep -q "^refposctl: " err.txt || fail "no message without a command"
    expect_exit 2 "$CTL" store
    expect_exit 2 "$CTL" chain init --dir x
    expect_exit 2 "$CTL" chain init --dir x --name y --ip 300.1.1.1
    expect_exit 2 "$CTL" no-such-command
    REFPOS_CTL_NOW=soon expect_exit 2 "$CTL" chain init --dir x --name y
    grep -q "^refposctl: REFPOS_CTL_NOW must be Unix seconds" err.txt || fail "$(cat err.txt)"
    expect_exit 2 "$CTL" store provision --chain no-chain --store-dir s2 --store-id a
    mkdir empty
    expect_exit 1 "$CTL" store provision --chain empty --store-dir s2 --store-id a
    grep -q "^refposctl: reading the chain's CA: .*ca.pem" err.txt || fail "$(cat err.txt)"
    ;;
  help)
    for cmd in "" "chain" "chain init" "chain crl" "store" "store provision" "store revoke" "admin" \
               "admin issue"; do
      # shellcheck disable=SC2086
      "$CTL" $cmd --help > help.txt || fail "'refposctl $cmd --help' failed"
      grep -q "Exit codes: 0 done, 1 the operation failed, 2 usage error" help.txt \
        || fail "'refposctl $cmd --help' has no exit codes"
      grep -q "REFPOS_CTL_NOW" help.txt || fail "'refposctl $cmd --help' does not name REFPOS_CTL_NOW"
    done
    "$CTL" store provision --help | grep -q -- "--store-id" || fail "provision help"
    ;;
  migrate)
    # hq migrate without a PostgreSQL: its help, usage errors and refusals
    # (tests/hq/migrate_test.cpp migrates for real).
    unset REFPOS_HQ_DATABASE
    "$CTL" hq migrate --help > help.txt || fail "'refposctl hq migrate --help' failed"
    for want in "--from" "--to" "REFPOS_HQ_DATABASE" "--progress" "Stop refpos-hq" "rolled back" \
                "Exit codes: 0 done, 1 the operation failed, 2 usage error"; do
      grep -q -- "$want" help.txt || fail "'hq migrate --help' does not say '$want'"
    done
    "$CTL" hq --help | grep -q "migrate" || fail "'hq --help' does not list migrate"
    expect_exit 2 "$CTL" hq migrate --from hq.sqlite3
    grep -q "^refposctl: --to: the PostgreSQL URL" err.txt || fail "no URL: $(cat err.txt)"
    # REFPOS_HQ_DATABASE of a head office still on SQLite is a path, not a URL.
    REFPOS_HQ_DATABASE=/var/lib/refpos-hq/hq.sqlite3 expect_exit 2 "$CTL" hq migrate --from hq.sqlite3
    grep -q "must be a postgresql:// or postgres:// URL" err.txt || fail "$(cat err.txt)"
    echo "not a database, not even close, but long enough to be read as one" > notes.txt
    expect_exit 1 "$CTL" hq migrate --from notes.txt --to postgresql://refpos@127.0.0.1:1/hq
    grep -q "^refposctl: migrate: .*not a SQLite database" err.txt || fail "$(cat err.txt)"
    # The tables of a head office's file at schema version 1: refused as
    # older, with what to do about it.
    python3 -c '
import sqlite3
db = sqlite3.connect("hq.sqlite3")
db.executescript("CREATE TABLE changes (id INTEGER PRIMARY KEY, last INTEGER NOT NULL);"
                 "CREATE TABLE stores (store_id TEXT PRIMARY KEY);"
                 "CREATE TABLE events (store_id TEXT, seq INTEGER);"
                 "PRAGMA user_version = 1;")
db.close()
' || fail "making hq.sqlite3"
    REFPOS_HQ_DATABASE='postgresql://refpos:s3cret-pw@127.0.0.1:1/hq' \
      expect_exit 1 "$CTL" hq migrate --from hq.sqlite3
    grep -q "^refposctl: migrate: .*schema version 1, older .*start refpos-hq on it once" err.txt \
      || fail "$(cat err.txt)"
    # A URL that is not PostgreSQL's is shown without its password.
    expect_exit 2 "$CTL" hq migrate --from hq.sqlite3 --to 'mysql://refpos:s3cret-pw@db/hq'
    grep -q "mysql://refpos:\*\*\*@db/hq" err.txt || fail "$(cat err.txt)"
    ! grep -q "s3cret-pw" err.txt out.txt || fail "the password was printed"
    [[ ! -s out.txt ]] || fail "a failed migration printed a summary"
    ;;
  expired)
    # A chain made 2001-09-09 with certificates of then: the store's 90 days are long over.
    REFPOS_CTL_NOW=1000000000 "$CTL" chain init --dir chain --name old >/dev/null
    REFPOS_CTL_NOW=1000000000 "$CTL" store provision --chain chain --store-dir s \
      --store-id store-001 >/dev/null
    if "$OPENSSL" verify -CAfile chain/ca/ca.pem -purpose sslclient s/tls/store.pem > v.txt 2>&1; then
      fail "an expired certificate verified"
    fi
    grep -q "certificate has expired" v.txt || fail "not refused as expired: $(cat v.txt)"
    "$OPENSSL" x509 -in s/tls/store.pem -noout -enddate | grep -q "2001" || fail "end date"
    # The same certificate was good in its time.
    "$OPENSSL" verify -attime 1000000000 -CAfile chain/ca/ca.pem -purpose sslclient \
      s/tls/store.pem >/dev/null || fail "the certificate was never valid"
    ;;
  *)
    fail "unknown part"
    ;;
esac
echo "ok ($PART)"
