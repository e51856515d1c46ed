"""The Jinja2 sandbox prompts render in, and the translation of its failures into prompt errors.

Templates may come from tenants of the platform, so they are untrusted code. The immutable sandbox blocks
private attributes, mutating methods and unsafe ``str.format``. Jinja would also run constant expressions and
filters while compiling (``{{ 'a' * 10**10 }}``, ``{{ 'a'|center(10**10) }}``), so folding is switched off:
building a template costs only its parse. Like Jinja's own cap on ``range``, ``*`` and ``**`` are capped at
render time; loops and filters are not, so whoever renders templates from untrusted authors still needs a
time and memory limit around the call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from plait.prompts.errors import PromptError, PromptVariableError

_MAX_REPEAT = 1_000_000  # characters or items one `*` may produce
_MAX_POWER_BITS = 100_000  # size of the integer one `**` may produce
_UNDEFINED = re.compile(r"'(?P<name>[^']+)' is undefined$|attribute '(?P<attribute>[^']+)'$|element (?P<item>.+)$")


class _PromptSandbox(ImmutableSandboxedEnvironment):
    # Jinja never folds intercepted operators at compile time; `%` is here for that alone.
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and _repeat_size(left, right) > _MAX_REPEAT:
            raise SecurityError(f"'*' would build more than {_MAX_REPEAT} items")
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and abs(left).bit_length() * right > _MAX_POWER_BITS
        ):
            raise SecurityError(f"'**' would build an integer of more than {_MAX_POWER_BITS} bits")
        return super().call_binop(context, operator, left, right)


def _repeat_size(left: Any, right: Any) -> int:
    if isinstance(right, str | list | tuple):
        left, right = right, left
    if isinstance(left, str | list | tuple) and isinstance(right, int):
        return len(left) * right
    return 0


# Prompts are not HTML, so no autoescaping; the trailing newline the author wrote stays; block tags on their own
# line leave no blank line or indentation behind, so `{% for %}` lists read as written.
_ENV = _PromptSandbox(
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def compile_text(text: str, where: str) -> tuple[Template, frozenset[str]]:
    """Compile one template and find the variables it reads from outside (Jinja's globals excluded)."""
    if not isinstance(text, str):
        raise PromptError(f"{where}: a template must be a string, got {type(text).__name__}")
    try:
        tree = _ENV.parse(text)
        # A volatile evaluation context stops Jinja from running filters and tests while compiling.
        volatile = nodes.Keyword("volatile", nodes.Const(True, lineno=1), lineno=1)
        tree.body.insert(0, nodes.EvalContextModifier([volatile], lineno=1))
        template = _ENV.from_string(tree)
    except TemplateSyntaxError as exc:
        raise PromptError(f"{where}, line {exc.lineno}: template syntax error: {exc.message}") from exc
    return template, frozenset(meta.find_undeclared_variables(tree) - _ENV.globals.keys())


def render(template: Template, values: Mapping[str, Any], where: str) -> str:
    """Render one template; every failure becomes a PromptError that says where it happened."""
    try:
        return template.render(values)
    except UndefinedError as exc:
        found = _UNDEFINED.search(str(exc))
        if found and found["name"]:
            raise PromptVariableError(found["name"], "undefined", label=f"{where}: ") from exc
        name = (found["attribute"] or f"[{found['item']}]") if found else "?"
        raise PromptVariableError(name, f"undefined ({exc})", label=f"{where}: ") from exc
    except SecurityError as exc:
        raise PromptError(f"{where}: blocked by the sandbox: {exc}") from exc
    except Exception as exc:  # the template is code: whatever it raises is the template's failure
        raise PromptError(f"{where}: rendering failed: {type(exc).__name__}: {exc}") from exc
