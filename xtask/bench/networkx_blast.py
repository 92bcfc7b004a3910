#!/usr/bin/env python3
"""The benchmark's baseline: all-agent crown-jewel reachability as a plain networkx loop.

Usage: networkx_blast.py ESTATE.json AT [--sample N]

Builds a networkx DiGraph of the estate with the reachability rules of ESTATE-FORMAT.md (a
resource has a read side and a write side, so that `read` yields held credentials and `write`
yields the identity it runs as), then, for a sample of agents spread evenly over the sorted agent
ids, runs one BFS per agent (`nx.descendants`) and counts the crown jewels it reaches. The full
loop over every agent takes over an hour on the large estate, so only the sample is timed and the
total is extrapolated linearly (per-agent mean x number of agents). Prints one JSON object.
"""
import json
import sys
import time
from datetime import datetime

import networkx as nx


def instant(text):
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def live(expires_at, at):
    expiry = instant(expires_at)
    return expiry is None or expiry > at


def build(estate, at):
    graph = nx.DiGraph()
    kind = {}
    for key, word in [("agents", "agent"), ("identities", "identity"), ("credentials", "credential"),
                      ("resources", "resource"), ("tools", "tool")]:
        for entity in estate[key]:
            kind[entity["id"]] = word
            graph.add_node(entity["id"])
    for resource in estate["resources"]:
        r = resource["id"]
        graph.add_edge(("read", r), r)
        graph.add_edge(("write", r), r)
        for credential in resource["holds_credentials"]:
            graph.add_edge(("read", r), credential)
        for identity in resource["runs_as"]:
            graph.add_edge(("write", r), identity)

    def into_resource(subject, resource, actions):
        if "read" in actions or "admin" in actions:
            graph.add_edge(subject, ("read", resource))
        if "write" in actions or "admin" in actions:
            graph.add_edge(subject, ("write", resource))

    for agent in estate["agents"]:
        for identity in agent["runs_as"]:
            graph.add_edge(agent["id"], identity)
    for credential in estate["credentials"]:
        if live(credential.get("expires_at"), at):
            graph.add_edge(credential["id"], credential["identity"])
    for tool in estate["tools"]:
        if tool.get("runs_as"):
            graph.add_edge(tool["id"], tool["runs_as"])
        for entry in tool["acts_on"]:
            into_resource(tool["id"], entry["resource"], entry["actions"])
    meaningful = {"identity": {"assume", "impersonate"}, "agent": {"delegate"}, "tool": {"invoke"}}
    for grant in estate["grants"]:
        if not live(grant.get("expires_at"), at):
            continue
        target_kind = kind.get(grant["target"])
        actions = set(grant["actions"])
        if target_kind == "resource":
            into_resource(grant["subject"], grant["target"], actions)
        elif target_kind in meaningful and actions & meaningful[target_kind]:
            graph.add_edge(grant["subject"], grant["target"])
    return graph


def main():
    path, at_text = sys.argv[1], sys.argv[2]
    sample_size = int(sys.argv[sys.argv.index("--sample") + 1]) if "--sample" in sys.argv else 20
    at = instant(at_text)

    start = time.perf_counter()
    with open(path, "rb") as handle:
        estate = json.load(handle)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    graph = build(estate, at)
    build_s = time.perf_counter() - start

    jewels = {r["id"] for r in estate["resources"] if r["crown_jewel"]}
    agents = sorted(a["id"] for a in estate["agents"])
    step = max(1, len(agents) // sample_size)
    sample = agents[::step][:sample_size]

    counts = {}
    start = time.perf_counter()
    for agent in sample:
        counts[agent] = len(nx.descendants(graph, agent) & jewels)
    sample_s = time.perf_counter() - start
    per_agent_s = sample_s / len(sample)
    print(json.dumps({
        "networkx": nx.__version__,
        "python": sys.version.split()[0],
        "load_s": round(load_s, 3),
        "graph_build_s": round(build_s, 3),
        "graph_nodes": graph.number_of_nodes(),
        "graph_edges": graph.number_of_edges(),
        "agents": len(agents),
        "sampled_agents": len(sample),
        "sample_s": round(sample_s, 3),
        "per_agent_s": per_agent_s,
        "extrapolated_all_agents_s": round(per_agent_s * len(agents), 1),
        "sample_jewels": counts,
    }))


if __name__ == "__main__":
    main()
