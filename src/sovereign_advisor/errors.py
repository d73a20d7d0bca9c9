"""The one exception type for bad input."""

from __future__ import annotations


class InputError(ValueError):
    """A profile, knowledge base or argument the advisor cannot use.

    The message names the file (when there is one), the field path and the offending value,
    and says what is allowed. The command line prints it and exits with status 2.
    """

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        self.file = file
        self.field = field
        prefix = ""
        if file:
            prefix = f"{file}: "
        if field:
            prefix += f"{field}: "
        super().__init__(prefix + message)


class KnowledgeBaseError(InputError):
    """The knowledge base (packaged, user-supplied or an overlay) is inconsistent."""


class RuleEvaluationError(KnowledgeBaseError, RuntimeError):
    """A CEL condition failed at evaluation time (it is never read as `false`). The rule, not the
    profile, is wrong: the message names its file and id, and the command line exits 2."""
