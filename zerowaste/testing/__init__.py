"""Test support shared by every app: parties, actors, API clients, browser pages.

Imported by the root `conftest.py`; apps use the fixtures it declares.
"""
