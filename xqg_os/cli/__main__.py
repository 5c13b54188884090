"""``python -m xqg_os.cli``: the same as the ``xqg-os`` console script."""

from xqg_os.cli import main

if __name__ == "__main__":
    main(prog_name="xqg-os")
