#!/usr/bin/python3
# The 2Signal seed's "Example: CLI Authentication Flow" (seeds/2signal-auth-api.txt) as written,
# with only BASE taken from the environment and the answers checked with asserts.
# Needs the user alice@company.com / password123 and AUTH_API_PROFILE=2signal; trust the
# demo certificate with SSL_CERT_FILE:
#   SSL_CERT_FILE=var/tls/cert.pem BASE=https://127.0.0.1:8443 /usr/bin/python3 scripts/seed-2signal.py
import os

import httpx

BASE = os.environ.get("BASE", "https://api.2signal.dev")

# Login
resp = httpx.post(f"{BASE}/api/v1/auth/login", json={
    "email": "alice@company.com",
    "password": "password123",
})
assert resp.status_code == 200, (resp.status_code, resp.text)
tokens = resp.json()["data"]
assert resp.json()["error"] is None
assert tokens["access_token"].startswith("eyJ") and tokens["access_token"].count(".") == 2
assert tokens["refresh_token"].startswith("v1.")
assert isinstance(tokens["expires_at"], int)
assert tokens["user"]["email"] == "alice@company.com" and tokens["user"]["id"]
first = tokens

# Use access token for dashboard API calls
headers = {"Authorization": f"Bearer {tokens['access_token']}"}
orgs = httpx.get(f"{BASE}/api/trpc/organization.list", headers=headers)
# Not an Authgate route: the dashboard app behind nginx would serve it.
assert orgs.status_code == 404 and orgs.json()["error"]["code"] == "not_found", orgs.text

# Refresh when token expires
resp = httpx.post(f"{BASE}/api/v1/auth/refresh", json={
    "refresh_token": tokens["refresh_token"],
})
assert resp.status_code == 200, (resp.status_code, resp.text)
tokens = resp.json()["data"]
assert tokens["refresh_token"].startswith("v1.") and tokens["refresh_token"] != first["refresh_token"]
assert tokens["access_token"] != first["access_token"]
assert tokens["user"] == first["user"]

# Logout
resp = httpx.post(f"{BASE}/api/v1/auth/logout", headers={
    "Authorization": f"Bearer {tokens['access_token']}",
})
assert resp.status_code == 200, (resp.status_code, resp.text)
assert resp.json() == {"data": {"success": True}, "error": None}, resp.text

# The session is gone: its refresh token and access token are refused.
again = httpx.post(f"{BASE}/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
assert again.status_code == 401, again.text
me = httpx.get(f"{BASE}/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
assert me.status_code == 401, me.text
print("2signal seed flow: ok")
