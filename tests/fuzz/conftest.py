"""Hypothesis profiles: "newsbot" keeps the suite fast; HYPOTHESIS_PROFILE=thorough digs deeper."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The bot fixtures are made once per test and shared by its examples on purpose: each
# example only looks at the calls it caused.
_SHARED_FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile(
    "newsbot", max_examples=40, deadline=None, suppress_health_check=_SHARED_FIXTURES
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=_SHARED_FIXTURES
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "newsbot"))
