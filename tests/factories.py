"""factory_boy factories for the platform's models (shared by every test package; add, don't rewrite)."""

from __future__ import annotations

from pathlib import Path

import factory
import numpy as np
from django.contrib.auth import get_user_model

import explainers
from bti_eval.judging.models import Assignment, Judge, Rating
from bti_eval.pairs.models import ParagraphPair
from bti_eval.rounds.models import EvaluationRound, Explanation
from bti_eval.rounds.services import round_create
from tests.explanation_payloads import explanation_payload


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
    """A round; ``explained_pairs=n`` (or a list of pairs) adds n new pairs (or those) to the round,
    each explained (DONE) by every method of the round, and
    ``judges=n`` adds n judges (``J0``, ``J1``, ...) who each have every explanation among their assignments
    and rated it with a random score (``judges__seed``; ``judges__skip``: the fraction left unrated).
    ``explained_pairs__payload(pair, method) -> dict`` gives each explanation's payload (default:
    ``explanation_payload(method)``).
    Rows are bulk-inserted, so that rounds of thousands of pairs stay quick to build;
    ``rating_table`` reads the ratings back as an array."""

    class Meta:
        model = EvaluationRound
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"round {n}")
    created_by = factory.SubFactory(ResearcherFactory)
    seed = 0

    @factory.post_generation
    def explained_pairs(round, create, extracted, payload=None, **kwargs):
        if not create or not extracted:
            return
        if isinstance(extracted, int):
            pairs = ParagraphPair.objects.bulk_create(ParagraphPairFactory.build_batch(extracted))
        else:
            pairs = list(extracted)
        round.pairs.add(*pairs)
        Explanation.objects.bulk_create(
            (
                Explanation(
                    round=round,
                    pair=pair,
                    method=method,
                    status=Explanation.Status.DONE,
                    payload=payload(pair, method) if payload else explanation_payload(method),
                    compute_seconds=0.1,
                )
                for pair in pairs
                for method in round.methods
            ),
            batch_size=2000,
        )

    @factory.post_generation
    def judges(round, create, extracted, seed: int = 0, skip: float = 0.0, **kwargs):
        if not create or not extracted:
            return
        explanations = list(round.explanations.order_by("id"))
        judges = [
            JudgeFactory(round=round, user__username=f"bulk-judge-{round.pk}-{j}", name=f"J{j}", seed=j)
            for j in range(extracted)
        ]
        assignments = Assignment.objects.bulk_create(
            Assignment(judge=judge, explanation=e, position=k, public_id=f"{round.pk}-{judge.pk}-{k}")
            for judge in judges
            for k, e in enumerate(explanations)
        )
        rng = np.random.default_rng(seed)
        keep = rng.random(len(assignments)) >= skip
        scores = rng.integers(1, 6, size=len(assignments))
        Rating.objects.bulk_create(
            (
                Rating(assignment=a, judge_id=a.judge_id, score=int(s), seconds=float(s) * 2.5)
                for a, s, k in zip(assignments, scores, keep, strict=True)
                if k
            ),
            batch_size=5000,
        )


def gloves_and_dress_pairs() -> list[ParagraphPair]:
    """Two short pairs (wool gloves, viscose dresses) that a tiny model explains in moments: the pairs of
    the end-to-end rounds."""
    return [
        ParagraphPairFactory(
            text_a="Soft wool gloves with touchscreen fingertips.",
            text_b="Knitted wool gloves that work with touchscreens.",
        ),
        ParagraphPairFactory(text_a="A long viscose dress with a V-neck.", text_b="Maxi dress in soft viscose."),
    ]


def explained_round(*, name: str, pairs: list[ParagraphPair], methods: list[str], model_dir: Path) -> EvaluationRound:
    """A round over ``pairs`` open for rating, whose explanations were computed here by ``methods``
    with the model at ``model_dir`` on the CPU (real payloads, not ``explanation_payload``)."""
    round = round_create(name=name, pairs=pairs, methods=methods, model=str(model_dir))
    encoder = explainers.load_encoder(str(model_dir), device="cpu")
    for method in methods:
        explained = explainers.explain_pairs(encoder, [(p.text_a, p.text_b) for p in pairs], method)
        for pair, e in zip(pairs, explained, strict=True):
            Explanation.objects.create(round=round, pair=pair, method=method, status="done", payload=e.to_dict())
    EvaluationRound.objects.filter(pk=round.pk).update(status=EvaluationRound.Status.RATING)
    round.refresh_from_db()
    return round


def rating_table(round: EvaluationRound) -> np.ndarray:
    """The round's ratings as rows ``(judge index, method index, score)``, judges by id and methods
    in the round's order, in each judge's order."""
    judge_index = {pk: i for i, pk in enumerate(round.judges.order_by("id").values_list("id", flat=True))}
    method_index = {m: i for i, m in enumerate(round.methods)}
    rows = Rating.objects.filter(assignment__judge__round=round).order_by("judge_id", "assignment__position")
    return np.array(
        [
            (judge_index[judge], method_index[method], score)
            for judge, method, score in rows.values_list("judge_id", "assignment__explanation__method", "score")
        ]
    )


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
