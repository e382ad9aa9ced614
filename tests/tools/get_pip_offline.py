# Copyright (c) replatform.kubernetes contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the get-pip bootstrap script that ansible-test downloads from a host we cannot reach.

tests/run.sh copies it to ~/.ansible/test/cache/get_pip_<version>.py. ansible-test runs it with pip's
install arguments in a fresh virtual environment: we bootstrap pip with ensurepip, then install what
was asked for from the package index this machine is configured for.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> None:
    # ensurepip sets PIP_CONFIG_FILE=/dev/null in os.environ, which would hide the machine's pip
    # configuration (its index and CA bundle): keep the environment from before it.
    environment = dict(os.environ)
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade"], check=True, env=dict(environment),
                   stdout=subprocess.DEVNULL)
    arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    subprocess.run([sys.executable, "-m", "pip", "install", *arguments], check=True, env=environment)


if __name__ == "__main__":
    main()
