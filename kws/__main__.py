"""``python -m kws``: the same entry point as the ``kws`` console script."""

from kws.cli import main

raise SystemExit(main())
