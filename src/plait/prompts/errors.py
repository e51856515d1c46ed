"""Errors of prompt templates: a broken template is found when it is built, a bad variable when it is used.

PlaitError
└── PromptError                a template that cannot be built or rendered (syntax, sandbox, bad schema)
    └── PromptVariableError    a variable is missing, mistyped, unknown or undefined; .variable names it
"""

from __future__ import annotations

from collections.abc import Sequence

from plait.schema import PlaitError


class PromptError(PlaitError):
    """A template that cannot be built or rendered; the message says which message of which template."""


class PromptVariableError(PromptError):
    """A variable the caller got wrong. ``variables`` holds every name at fault (several missing or unknown
    ones are reported together); ``variable`` is the first, as a path such as ``user.tags[2]``."""

    def __init__(self, variables: str | Sequence[str], problem: str, *, label: str = "") -> None:
        self.variables = (variables,) if isinstance(variables, str) else tuple(variables)
        names = ", ".join(repr(name) for name in self.variables)
        noun = "variable" if len(self.variables) == 1 else "variables"
        super().__init__(f"{label}{noun} {names}: {problem}")

    @property
    def variable(self) -> str:
        return self.variables[0]
