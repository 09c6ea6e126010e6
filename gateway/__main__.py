"""``python -m gateway run|enroll --config FILE``: the gateway on a Raspberry Pi.

The same commands as ``territoire gateway``, without the workstation CLI's dependencies, so a
Pi installs only requirements/gateway.txt. Errors are one line on stderr and an exit code
(2: configuration, 3: not enrolled, or the fleet refused, 4: the gateway could not run: a port
in use, a directory it cannot write, no Mosquitto), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.broker import BrokerError
from gateway.config import ConfigError
from gateway.fleet_client import FleetError
from gateway.main import (
    DataDirError,
    GatewayRefused,
    NotEnrolled,
    enroll_gateway,
    enroll_hint,
    run_gateway,
)
from gateway.sealed_keys import SecretError

__all__ = ["main"]

PROG = "python -m gateway"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run until SIGTERM or Ctrl-C")
    run.add_argument("--config", "-c", type=Path, required=True, help="gateway TOML file")
    run.add_argument("--manage-broker", action="store_true",
                     help="start a private Mosquitto (demo and tests)")
    join = commands.add_parser("enroll", help="enroll with the fleet (fleet.url)")
    join.add_argument("--config", "-c", type=Path, required=True, help="gateway TOML file")
    join.add_argument("--token", required=True, help="one-time enrollment token from the fleet")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            run_gateway(args.config, manage_broker=args.manage_broker or None)
        else:
            gateway_id, url = enroll_gateway(args.config, args.token)
            print(f"gateway {gateway_id} enrolled with {url}")
    except ConfigError as exc:
        print(f"error: bad gateway configuration: {exc}", file=sys.stderr)
        return 2
    except NotEnrolled as exc:
        print(f"error: {exc}: run `{enroll_hint(args.config, PROG)}` first", file=sys.stderr)
        return 3
    except GatewayRefused as exc:
        print(f"error: {exc}: enroll it again (`{enroll_hint(args.config, PROG)}`, a new "
              "token from the fleet) or check its clock", file=sys.stderr)
        return 3
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except DataDirError as exc:
        print(f"error: {exc} (the token is not spent: fix data_dir and enroll again)",
              file=sys.stderr)
        return 4
    except (BrokerError, OSError) as exc:
        # a port already in use, a data directory that cannot be written, no Mosquitto...
        print(f"error: the gateway stopped: {exc}", file=sys.stderr)
        return 4
    except SecretError as exc:
        print(f"error: the gateway stopped: {exc}: {SecretError.HINT}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
