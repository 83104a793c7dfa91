"""Entry: ``python -m service`` is the ``mwaa-sp`` command (service.cli)."""

from service.cli import main

raise SystemExit(main())
