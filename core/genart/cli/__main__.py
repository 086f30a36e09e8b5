"""``python -m genart.cli``."""

from genart.cli import main

if __name__ == "__main__":
    main()
