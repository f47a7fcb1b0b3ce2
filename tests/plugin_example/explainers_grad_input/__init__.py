"""The plugin's entry point: a light :class:`explainers.registry.Method` (no torch imported here), so
that listing methods never loads the model libraries; the function is imported on first use."""

from explainers.registry import Method

METHOD = Method(
    name="grad-times-input",
    title="Gradient × Input",
    score_batch="explainers_grad_input.scores:grad_times_input",
)
