"""Allow ``python -m etl_cli``."""

from __future__ import annotations

from etl_cli.cli.main import main

if __name__ == "__main__":
    main()
