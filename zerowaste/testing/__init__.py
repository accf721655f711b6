"""Test support shared by every app: parties, actors, API clients, browser pages.

Imported by the root `conftest.py`; apps use the fixtures it declares.
"""

# The audit keys every test runs with (the root conftest sets them per test; the demo snapshot is
# built under them, so a restored demo's chain verifies in any test).
TEST_AUDIT_HMAC_KEYS = {"test1": "5a" * 32}
TEST_AUDIT_SIGNING_SEED = "c3" * 32
