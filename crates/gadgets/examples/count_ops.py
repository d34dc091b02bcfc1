"""Operations per training step from two callgrind profiles of `step_ops` (docs/gadgets.md).

Usage: python3 count_ops.py PROFILE_OF_3_STEPS PROFILE_OF_1_STEP

Sums the calls each profile recorded to: tch's C functions (`atg_*`: every tensor operation the Rust
code issues), the autograd nodes the backward pass runs (`torch::autograd::Engine::evaluate_function`)
and ATen's dispatcher (`at::_ops::*::call`), and prints (3 steps - 1 step) / 2: the steps after the
first, whose one-time work (the first readback's block, libtorch's first calls) is left out.
"""

import re
import sys
from collections import Counter

KINDS = {
    "tch calls": re.compile(r"^atg_"),
    "backward nodes": re.compile(r"^torch::autograd::Engine::evaluate_function\("),
    "dispatcher calls": re.compile(r"^at::_ops::[^:]+::call\("),
}


def count(path):
    names = {}
    totals = Counter()
    callee = None
    with open(path) as profile:
        for line in profile:
            if line.startswith(("cfn=", "cfni=")):
                match = re.match(r"cfni?=\((\d+)\)(?: (.*))?", line.strip())
                if match:
                    if match.group(2):
                        names[match.group(1)] = match.group(2)
                    callee = names.get(match.group(1))
                else:
                    callee = line.split("=", 1)[1].strip()
            elif line.startswith("fn="):
                match = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
                if match and match.group(2):
                    names[match.group(1)] = match.group(2)
            elif line.startswith("calls=") and callee is not None:
                count = int(line.split()[0].split("=")[1])
                for kind, pattern in KINDS.items():
                    if pattern.search(callee):
                        totals[kind] += count
                callee = None
    return totals


def main(three, one):
    three, one = count(three), count(one)
    for kind in KINDS:
        print(f"{kind}: {(three[kind] - one[kind]) / 2:g}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
