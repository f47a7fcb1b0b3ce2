"""Writes for judging: ``invites``, ``assignments`` (each judge's list, in their order), ``ratings``
and the stored blind ``judge_html``."""
