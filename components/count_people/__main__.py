"""Allows ``python -m count_people``."""

from count_people.cli import main

raise SystemExit(main())
