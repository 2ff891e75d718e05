"""Errors the core raises. The CLI maps them to exit codes and one-line messages."""

from __future__ import annotations


class DvsmithError(Exception):
    """Base class for every error dvsmith reports to a user."""

    exit_code: int = 1


class UserInputError(DvsmithError):
    """Bad input or usage: a missing repo, an unknown task id, a corrupt file we cannot recover from.

    The CLI prints ``error: <message>`` on one line and exits with code 2.
    """

    exit_code = 2


class ToolchainError(DvsmithError):
    """A tool the work needs (Verilator, g++, make, the UVM library) is missing or broken."""

    exit_code = 2
