"""``python -m explainers``: see :mod:`explainers.cli`."""

from explainers.cli import main

raise SystemExit(main())
