#!/usr/bin/env bash
# The Get2Dial seed's curl | jq examples (seeds/get2dial-authentication.txt) as written, with
# only the base URL taken from the environment (and the bullet placeholders filled in from
# PASSWORD / NEW_PASSWORD), each answer checked. Needs AUTH_API_PROFILE=get2dial and the user
# admin@acme.get2dial.com; trust the demo certificate with CURL_CA_BUNDLE:
#   CURL_CA_BUNDLE=var/tls/cert.pem BASE=https://127.0.0.1:8443 PASSWORD=... NEW_PASSWORD=... \
#       scripts/seed-get2dial.sh
set -euo pipefail
BASE="${BASE:-https://api.get2dial.com}"
PASSWORD="${PASSWORD:?set PASSWORD to the password of admin@acme.get2dial.com}"
NEW_PASSWORD="${NEW_PASSWORD:?set NEW_PASSWORD}"
fail() { echo "seed-get2dial: $*" >&2; exit 1; }
body() { jq -cn --arg e "$1" --arg p "$2" '{email: $e, password: $p}'; }

# Log in and capture the token (jq)
TOKEN=$(curl -s "$BASE/api/v1/auth/login" \
-H 'Content-Type: application/json' \
-d "$(body admin@acme.get2dial.com "$PASSWORD")" \
| jq -r .data.token)
[[ "$TOKEN" == eyJ*.*.* ]] || fail "login gave no token: $TOKEN"

# Send it as a bearer token on every subsequent request
me=$(curl -s "$BASE/api/v1/auth/me" \
-H "Authorization: Bearer $TOKEN")
echo "$me" | jq -e '.status == "success" and .data.email == "admin@acme.get2dial.com" and .data.role == "admin"
    and (.data.tenant_id | length) > 0 and .data.must_change_password == false
    and (.data.created_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))' >/dev/null \
    || fail "me: $me"

# Change your own password
changed=$(curl -s -X POST "$BASE/api/v1/auth/me/password" \
-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
-d "$(jq -cn --arg c "$PASSWORD" --arg n "$NEW_PASSWORD" '{current_password: $c, new_password: $n}')")
echo "$changed" | jq -e '.status == "success" and .data.success == true' >/dev/null || fail "password change: $changed"

# The login answer's shape (RFC 3339 expires_at, the full user object), old and new password.
login=$(curl -s "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "$(body admin@acme.get2dial.com "$NEW_PASSWORD")")
echo "$login" | jq -e '.status == "success" and (.data.token | startswith("eyJ"))
    and (.data.expires_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
    and (.data.user | has("id") and has("tenant_id") and has("email") and has("role") and has("status")
         and has("must_change_password") and has("created_at") and has("updated_at"))' >/dev/null \
    || fail "login with the new password: $login"
old=$(curl -s "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "$(body admin@acme.get2dial.com "$PASSWORD")")
echo "$old" | jq -e '.status == "error" and .error.code == "invalid_credentials"
    and .error.message == "invalid credentials"' >/dev/null || fail "old password still works: $old"
echo "get2dial seed flow: ok"
