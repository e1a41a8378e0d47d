"""Test doubles and builders shared by newsbot's tests (never imported by product code)."""
