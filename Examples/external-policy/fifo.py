#!/usr/bin/env python3
"""A FleetTwin external policy: strict first-in, first-out with gang scheduling.

It makes the same decisions as the built-in `fifo` policy: the oldest waiting job (by submit
time, then index) starts on the first cluster, in the fleet's order, of a type it may use
where its whole gang fits under the run's placement rule; the jobs behind it wait until it
has started (head-of-line blocking), and the blocked head reserves every free accelerator of
the clusters it may use.

Protocol (docs/external-policy.md, versions 1 and 2): one JSON request per line on standard input,
one JSON answer per line on standard output. This policy keeps no state between requests:
each request lists the waiting jobs and every cluster's free accelerators per node, and it
places its starts on a copy of those counts, node by node as FleetTwin's placement rules do,
so that it can answer all of a pass's starts in one round trip.

Standard library only. Usage, in a scenario:  policy: { external: "python3 fifo.py" }
"""
import json
import sys

# It reads only members of version 1, which version 2 keeps (it never declines a job).
PROTOCOL_VERSIONS = (1, 2)


def fits(free, per_node, count, rule):
    """Whether `count` accelerators fit on nodes with `free` accelerators (FleetTwin's
    CapacitySummary.fits): node-local rules need whole nodes plus one with the remainder."""
    if rule in ("any", "spread"):
        return sum(free) >= count
    if count <= per_node:
        return max(free, default=0) >= count
    whole, remainder = divmod(count, per_node)
    fully = sum(1 for f in free if f == per_node)
    if remainder == 0:
        return fully >= whole
    partial = max((f for f in free if f < per_node), default=0)
    return fully > whole or (fully == whole and partial >= remainder)


def take(free, per_node, count, rule):
    """Takes `count` accelerators from `free` (a list, changed in place) as the placement rule
    does; which of several equal nodes is taken does not change what fits afterwards."""
    def best_fit(need):
        candidates = [i for i, f in enumerate(free) if f >= need]
        return min(candidates, key=lambda i: free[i])

    if rule == "best-fit":
        if count > per_node:
            for _ in range(count // per_node):
                free[free.index(per_node)] = 0
            count %= per_node
        if count:
            free[best_fit(count)] -= count
    elif rule == "first-fit":
        whole, remainder = (divmod(count, per_node) if count > per_node else (0, count))
        chosen, remainder_node = [], None
        for i, f in enumerate(free):
            if len(chosen) < whole and f == per_node:
                chosen.append(i)
            elif remainder and remainder_node is None and f >= remainder:
                remainder_node = i
            if len(chosen) == whole and (remainder == 0 or remainder_node is not None):
                break
        for i in chosen:
            free[i] = 0
        if remainder_node is not None:
            free[remainder_node] -= remainder
    else:  # any: the fullest nodes first; spread: one at a time from the fullest node
        step = 1 if rule == "spread" else per_node
        while count:
            i = max(range(len(free)), key=lambda k: free[k])
            amount = min(free[i], count, step)
            free[i] -= amount
            count -= amount


def decide(request, fleet):
    rule = fleet["placement"]
    per_node = {c["name"]: c["acceleratorsPerNode"] for c in fleet["clusters"]}
    type_of = {c["name"]: c["acceleratorType"] for c in fleet["clusters"]}
    # A working copy of the free accelerators per node, in the fleet's cluster order.
    clusters = [(c["name"], list(c["freeOnNode"])) for c in request["clusters"]]
    decisions, reservations = [], []
    for job in sorted(request["waiting"], key=lambda j: (j["submit"], j["job"])):
        size, types = job["worldSize"], set(job["acceleratorTypes"])
        usable = [(name, free) for name, free in clusters if type_of[name] in types]
        target = next(((name, free) for name, free in usable if fits(free, per_node[name], size, rule)), None)
        if target is None:
            # The head blocks everything behind it, holding what its clusters have free.
            reservations = [{"job": job["job"], "cluster": name, "accelerators": sum(free)}
                            for name, free in usable if sum(free) > 0]
            break
        name, free = target
        take(free, per_node[name], size, rule)
        decisions.append({"action": "start", "job": job["job"], "cluster": name, "accelerators": size})
    return {"decisions": decisions, "reservations": reservations}


def main():
    stats = sys.argv[sys.argv.index("--stats") + 1] if "--stats" in sys.argv else None
    fleet, requests = None, 0
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("version") not in PROTOCOL_VERSIONS:
            sys.exit(f"fifo.py speaks protocol versions {PROTOCOL_VERSIONS}, got {request.get('version')}")
        fleet = request.get("fleet", fleet)
        requests += 1
        sys.stdout.write(json.dumps(decide(request, fleet), separators=(",", ":")) + "\n")
        sys.stdout.flush()
    if stats:
        with open(stats, "w") as f:
            f.write(f"{requests}\n")


if __name__ == "__main__":
    main()
