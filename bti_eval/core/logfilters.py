"""Logging filters (see ``LOGGING`` in settings).

Django's ``django.request`` logger attaches the exception's traceback to the warning it logs for a
403 (``PermissionDenied``) or a 400 (``SuspiciousOperation``, ``BadRequest``): dozens of lines for
a judge who opened a researcher's page. A client error is the client's doing and needs one line
(method, path, status); a 5xx keeps its traceback, because that is a bug to fix.
"""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Drop the traceback of records about a response with a 4xx status; keep everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
