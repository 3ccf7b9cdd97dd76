"""``python -m model_governance.inventory upgrade|check [--url URL]`` (see cli.py)."""

from model_governance.inventory.cli import module_main

raise SystemExit(module_main())
