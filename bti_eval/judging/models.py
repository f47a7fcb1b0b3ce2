import secrets

from django.conf import settings
from django.db import models
from django.db.models.functions import Greatest, Least


def new_public_id() -> str:
    """An opaque, random id for anything a judge's browser sees (never a sequential pk)."""
    return secrets.token_urlsafe(16)


class StudyLink(models.Model):
    """A round's public study link for one crowd platform (``judging.crowd``): whoever opens it with a
    valid participant id becomes a judge of the round (``services.studies.participant_arrive``).

    The token is stored as it is, unlike an invite's: the researcher pastes the link into the
    platform's study and needs to see it again, and it admits new participants only (each one's
    own judge is reached through their own session, never through the link alone).
    """

    class Platform(models.TextChoices):
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "MTurk"
        GENERIC = "generic", "generic"

    round = models.ForeignKey("rounds.EvaluationRound", on_delete=models.CASCADE, related_name="study_links")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    label = models.CharField(max_length=200, blank=True, default="")
    token = models.CharField(max_length=64, unique=True, editable=False)
    # Generic links: the query parameter that holds the participant's id, and an optional one that
    # holds their session on the recruiting site (resuming from another browser needs it).
    participant_param = models.CharField(max_length=40, blank=True, default="")
    session_param = models.CharField(max_length=40, blank=True, default="")
    quota = models.PositiveIntegerField(null=True, blank=True)  # participants at most; None: no cap
    items_per_participant = models.PositiveIntegerField(null=True, blank=True)  # k-per-item; None: all
    completion_code = models.CharField(max_length=64)
    screen_out_failed_controls = models.BooleanField(default=False)
    screen_out_code = models.CharField(max_length=64, blank=True, default="")
    time_limit_minutes = models.PositiveIntegerField(null=True, blank=True)  # None: no limit
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.label or f"{self.get_platform_display()} link {self.pk}"


class Judge(models.Model):
    """A person rating one round. Created by an invite, or by arriving through a study link (a crowd
    participant: ``platform`` and ``participant_id`` say where they came from and who they are
    there, for researchers only). The user has no usable password.

    ``deadline_at`` (a study link's time limit) and ``finished_at`` (the participant finished and
    was given their code) sit on this row because the judges' hot path loads it with the user
    (``queries.user_with_judge``): checking them costs no query. Invited judges have neither.
    """

    round = models.ForeignKey("rounds.EvaluationRound", on_delete=models.CASCADE, related_name="judges")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="judge")
    name = models.CharField(max_length=200, blank=True, default="")
    seed = models.BigIntegerField()  # this judge's shuffle seed, recorded
    created_at = models.DateTimeField(auto_now_add=True)
    # "" for an invited judge.
    platform = models.CharField(max_length=16, choices=StudyLink.Platform.choices, blank=True, default="")
    participant_id = models.CharField(max_length=64, blank=True, default="")
    deadline_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One judge per participant of a platform in a round, however many times (or at the same
            # moment) they open a study link.
            models.UniqueConstraint(
                fields=["round", "platform", "participant_id"],
                condition=~models.Q(participant_id=""),
                name="judge_unique_round_platform_participant",
            )
        ]

    def __str__(self) -> str:
        return self.name or f"judge {self.pk}"


class Participation(models.Model):
    """The crowd side of a judge who came by a study link: the link, the platform's study session
    (Prolific SESSION_ID, MTurk assignmentId, a generic link's session parameter), the study
    (Prolific STUDY_ID, MTurk hitId), where MTurk takes the submission, and how it ended."""

    class Outcome(models.TextChoices):
        COMPLETED = "completed"
        SCREENED_OUT = "screened-out"
        TIMED_OUT = "timed-out"

    judge = models.OneToOneField(Judge, on_delete=models.CASCADE, primary_key=True, related_name="participation")
    study_link = models.ForeignKey(StudyLink, on_delete=models.CASCADE, related_name="participations")
    study_session = models.CharField(max_length=64, blank=True, default="")
    study_ref = models.CharField(max_length=64, blank=True, default="")
    submit_to = models.CharField(max_length=100, blank=True, default="")  # MTurk's turkSubmitTo (checked)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    code = models.CharField(max_length=64, blank=True, default="")  # the code the participant was given


class Invite(models.Model):
    """A one-time invite link. Only a hash of the token is stored; the link shows it once."""

    judge = models.OneToOneField(Judge, on_delete=models.CASCADE, related_name="invite")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class Assignment(models.Model):
    """One of a judge's assignments, at ``position`` in that judge's own shuffled order.

    A rating item shows one ``explanation``. A pairwise item (design "pairwise") shows two
    explanations of one pair by two methods side by side: ``explanation`` on the left and
    ``right_explanation`` on the right; which method went to which side was drawn at random when
    the item was built (``judging.pairwise``), is recorded here, and never reaches the judge. A
    judge has each explanation once in a rating round, and each (pair, method pair) once in a
    pairwise round, whichever side each method is on (database constraints)."""

    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="assignments")
    explanation = models.ForeignKey("rounds.Explanation", on_delete=models.CASCADE, related_name="assignments")
    right_explanation = models.ForeignKey(
        "rounds.Explanation", null=True, blank=True, on_delete=models.CASCADE, related_name="right_assignments"
    )
    position = models.PositiveIntegerField()
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)

    class Meta:
        ordering = ["judge_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["judge", "explanation"],
                condition=models.Q(right_explanation__isnull=True),
                name="assignment_unique_judge_explanation",
            ),
            models.UniqueConstraint(fields=["judge", "position"], name="assignment_unique_judge_position"),
            # A pairwise item: the same two explanations once per judge, on either side.
            models.UniqueConstraint(
                "judge",
                Least("explanation", "right_explanation"),
                Greatest("explanation", "right_explanation"),
                condition=models.Q(right_explanation__isnull=False),
                name="assignment_unique_judge_comparison",
            ),
            models.CheckConstraint(
                condition=~models.Q(explanation=models.F("right_explanation")), name="assignment_two_sides_differ"
            ),
        ]


COMMENT_MAX_LENGTH = 2000  # characters of a judge's free-text comment on an item


class Rating(models.Model):
    """A judge's answer to one assignment; one per assignment (database constraint).

    A rating item gets a 1-5 ``score``; a pairwise item gets a ``choice`` instead: the left
    explanation is better, the right one is, or they are about the same (``Choice``). Exactly one of
    the two is set (database constraint); which methods were left and right is the assignment's.

    ``comment`` and ``flagged`` ("this item is broken") are the judge's optional remarks on the
    item, saved with the score in the same write; researchers see them on the results page and in
    the exports. They never count toward a score.

    ``judge`` repeats ``assignment.judge`` so that a judge's progress is an index count of their
    ratings instead of a join over all their assignments (the judges' hot path); ``save`` fills it from
    the assignment, and code that bulk-creates ratings sets it (the column is NOT NULL).
    """

    class Choice(models.TextChoices):
        LEFT = "left", "the left explanation is better"
        RIGHT = "right", "the right explanation is better"
        SAME = "same", "about the same"

    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="rating")
    judge = models.ForeignKey(Judge, on_delete=models.CASCADE, related_name="ratings", editable=False)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=8, choices=Choice.choices, null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    flagged = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(score__gte=1, score__lte=5) & models.Q(choice__isnull=True))
                | (models.Q(score__isnull=True) & models.Q(choice__in=["left", "right", "same"])),
                name="rating_score_1_to_5_or_choice",
            ),
        ]

    def save(self, *args, **kwargs):
        if self.judge_id is None and self.assignment_id is not None:
            self.judge_id = Assignment.objects.values_list("judge_id", flat=True).get(pk=self.assignment_id)
        super().save(*args, **kwargs)


class RatingChange(models.Model):
    """History: every state a rating had (score or choice, comment, flag), including the first.
    ``seconds`` are those of the decision that set the score or choice (None when only the comment
    or flag changed)."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="history")
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=8, choices=Rating.Choice.choices, null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    flagged = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]
