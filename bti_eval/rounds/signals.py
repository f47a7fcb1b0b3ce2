"""What other apps do when a round opens for rating, and when it closes.

Opening (``services.round_open``, ``round_open_if_complete``, or dropping a round's last failed
explanations) sends ``round_opened`` inside the opening's transaction, with the locked round as
``round``, after its status is RATING:

- the judging app (``judging.receivers``) makes the control items and every invited judge's
  assignments, and queues the judges' HTML;
- the results app (``results.receivers``) asks for the automatic metrics when the round wants them.

Closing (``services.round_close``) sends ``round_closed`` the same way, once the round is CLOSED:
the results app queues the computation of its report (``results.receivers.report_prepare``), so
that the results page and every export read it instead of computing it while someone waits.

Receivers run in the order their apps are installed (judging before results), synchronously: an
error rolls the opening back. This way the rounds app imports neither app; they depend on it.
"""

from django.dispatch import Signal

round_opened = Signal()  # sender: EvaluationRound; keyword: round (locked, status RATING)
round_closed = Signal()  # sender: EvaluationRound; keyword: round (locked, status CLOSED)
