import argparse

from .factory import make_app


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--url-prefix", default="")
    args = parser.parse_args(argv)
    make_app(args.url_prefix).run()
