"""Allows ``python -m local_stack``."""

from local_stack.cli import main

raise SystemExit(main())
