"""``python -m couriers.sandbox --port 8100``: the sandbox courier in the foreground."""
from __future__ import annotations

import argparse
import logging
from datetime import datetime

from couriers.sandbox import DEFAULT_CUSTOMER, DEFAULT_KEY, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m couriers.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--customer", default=DEFAULT_CUSTOMER)
    parser.add_argument("--key", default=DEFAULT_KEY)
    parser.add_argument("--clock-start", type=datetime.fromisoformat, default=None,
                        help="ISO time with offset; the clock is then manual unless --mode real")
    parser.add_argument("--mode", choices=("manual", "real"), default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run(args.host, args.port, seed=args.seed, customer=args.customer, key=args.key,
        clock_start=args.clock_start, mode=args.mode)


if __name__ == "__main__":
    main()
