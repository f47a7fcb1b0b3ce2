"""factory_boy factories for the platform's models (shared by every test package; add, don't rewrite)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from bti_eval.judging.models import Assignment, Judge, Rating
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, Explanation


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-not-for-production")


class ResearcherFactory(UserFactory):
    username = factory.Sequence(lambda n: f"researcher{n}")
    is_staff = True


class ParagraphPairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParagraphPair

    source = "test"
    external_id = factory.Sequence(lambda n: f"p{n}")
    text_a = factory.Sequence(lambda n: f"Soft wool gloves with touchscreen-compatible fingertips, style {n}.")
    text_b = factory.Sequence(lambda n: f"Knitted gloves in a wool blend with touchscreen fingertips, model {n}.")


class EvaluationRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvaluationRound

    name = factory.Sequence(lambda n: f"round {n}")
    created_by = factory.SubFactory(ResearcherFactory)
    seed = 0


def explanation_payload(method: str = "bti") -> dict:
    """A well-formed explanation JSON (the explainers' contract) for tests that need no model."""
    return {
        "method": method,
        "model": "tiny",
        "similarity": 0.69,
        "truncated": False,
        "words": [
            [
                {"text": "wool", "start": 5, "end": 9, "saliency": 1.0},
                {"text": "gloves", "start": 10, "end": 16, "saliency": 0.8},
            ],
            [
                {"text": "gloves", "start": 9, "end": 15, "saliency": 0.9},
                {"text": "wool", "start": 24, "end": 28, "saliency": 0.5},
            ],
        ],
        "pairs": [
            {"a": 1, "b": 0, "word_similarity": 0.94, "score": 0.68},
            {"a": 0, "b": 1, "word_similarity": 0.91, "score": 0.45},
        ],
    }


class ExplanationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Explanation

    round = factory.SubFactory(EvaluationRoundFactory)
    pair = factory.SubFactory(ParagraphPairFactory)
    method = "bti"
    status = Explanation.Status.DONE
    payload = factory.LazyAttribute(lambda o: explanation_payload(o.method))
    compute_seconds = 0.1


class JudgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Judge

    round = factory.SubFactory(EvaluationRoundFactory)
    user = factory.SubFactory(UserFactory, username=factory.Sequence(lambda n: f"judge{n}"))
    name = factory.Sequence(lambda n: f"Judge {n}")
    seed = factory.Sequence(lambda n: 1000 + n)


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    judge = factory.SubFactory(JudgeFactory)
    explanation = factory.SubFactory(ExplanationFactory, round=factory.SelfAttribute("..judge.round"))
    position = factory.Sequence(lambda n: n)


class RatingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rating

    assignment = factory.SubFactory(AssignmentFactory)
    judge = factory.SelfAttribute("assignment.judge")
    score = 4
    seconds = 12.5
