from django.apps import AppConfig


class JudgingConfig(AppConfig):
    name = "bti_eval.judging"
    label = "judging"

    def ready(self) -> None:
        from bti_eval.judging.receivers import judges_prepare
        from bti_eval.rounds.models import EvaluationRound
        from bti_eval.rounds.signals import round_opened

        round_opened.connect(judges_prepare, sender=EvaluationRound, dispatch_uid="judging.judges_prepare")
