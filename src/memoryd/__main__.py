"""``python -m memoryd``: the same command line as the ``memoryd`` entry point."""

from memoryd.cli.main import main

if __name__ == "__main__":
    main()
