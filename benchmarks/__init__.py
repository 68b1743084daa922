"""Benchmarks: `python -m benchmarks.<name> [--json PATH]`. They print figures; they are not tests.

They live outside the app packages, import the product only through its public doors, and never run
against a database they did not create (benchmarks.common.throwaway_database).
"""
