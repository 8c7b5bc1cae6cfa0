"""Shared test configuration."""

# The throwaway PostgreSQL of the command-centre tests, for every test folder.
from tests.pg import postgres_dsn, postgres_server  # noqa: F401
