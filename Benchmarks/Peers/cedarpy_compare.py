#!/usr/bin/env python3
"""Times cedarpy (Cedar's Rust engine behind Python) on the PolicyBenchmarks workload.

Same policies, entities and four rotating requests as Benchmarks/PolicyBenchmarks/PolicyWorkload.swift; policy set and per-request entity
stores are parsed once up front (pre-parsed PolicySet / Entities handles), so the timing covers
`is_authorized` only. Usage: pip install cedarpy && python3 cedarpy_compare.py
"""
import json
import statistics
import time

import cedarpy


def policy_text(count):
    policies = [
        '@id("token-hygiene")\nforbid(principal is Agent, action, resource)\n'
        'when { context.token.remainingSeconds < 30 || context.token.delegationDepth > 2 };',
        '@id("risk")\nforbid(principal, action, resource) when { context.risk.score >= 80 || context.risk.signals.contains("anomaly") };',
        '@checkpoint("sub-agent without supervisor")\nforbid(principal is Agent, action, resource)\n'
        'when { context.token.delegationDepth > 0 && !(principal has supervisor) };',
        '@checkpoint("deletion needs approval")\nforbid(principal, action == Action::"delete", resource) unless { context.approvals.contains("delete") };',
    ]
    i = 0
    while len(policies) < count:
        p = i // 4
        k = i % 4
        if k == 0:
            policies.append(f'permit(principal in AgentClass::"researcher", action in [Action::"read", Action::"list"], resource in Project::"p{p}")\n'
                            'when { context.intent == "summarise" || context.intent == "cite" };')
        elif k == 1:
            policies.append(f'permit(principal in AgentClass::"writer", action == Action::"write", resource in Project::"p{p}")\n'
                            'when { context.token.remainingSeconds > 60 && context.step like "draft-*" };')
        elif k == 2:
            policies.append(f'permit(principal == Agent::"agent-{p}", action, resource in Project::"p{p}")\n'
                            f'when {{ context.task == "task-{p}" }};')
        else:
            policies.append(f'@checkpoint("export of p{p} needs approval")\n'
                            f'forbid(principal, action == Action::"export", resource in Project::"p{p}")\n'
                            f'unless {{ context.approvals.contains("export-p{p}") }};')
        i += 1
    return "\n".join(policies)


def uid(t, i):
    return {"type": t, "id": i}


def entities(count):
    projects = max(1, (count - 4 + 3) // 4)
    out = [{"uid": uid("AgentClass", "researcher"), "attrs": {}, "parents": []},
           {"uid": uid("AgentClass", "writer"), "attrs": {}, "parents": []}]
    for p in range(projects):
        out.append({"uid": uid("Project", f"p{p}"), "attrs": {}, "parents": []})
        out.append({"uid": uid("Folder", f"f{p}"), "attrs": {}, "parents": [uid("Project", f"p{p}")]})
        out.append({"uid": uid("Document", f"d{p}"), "attrs": {"owner": f"team-{p}"}, "parents": [uid("Folder", f"f{p}")]})
    return out


def requests(count):
    complete_projects = max(1, (count - 4) // 4)
    p = complete_projects // 2
    doc = uid("Document", f"d{p}")

    def agent(agent_id, cls, action, intent, task, step, risk=0):
        context = {
            "intent": intent, "task": task, "step": step,
            "token": {"remainingSeconds": 300, "delegationDepth": 0, "audience": "docs.example.org"},
            "risk": {"score": risk, "signals": []}, "approvals": [],
        }
        entity = {"uid": uid("Agent", agent_id), "attrs": {"class": cls}, "parents": [uid("AgentClass", cls)]}
        request = {"principal": uid("Agent", agent_id), "action": uid("Action", action), "resource": doc, "context": context}
        return request, entity

    return [agent("r-1", "researcher", "read", "summarise", "task-x", "read-1"),
            agent("w-1", "writer", "write", "edit", "task-y", "draft-2"),
            agent(f"agent-{p}", "writer", "export", "publish", f"task-{p}", "export-1"),
            agent("r-2", "researcher", "read", "summarise", "task-x", "read-1", risk=95)]


def main():
    print("| policies | cedarpy median (µs) | cedarpy p99 (µs) |")
    print("|---:|---:|---:|")
    for count in (10, 100, 1000, 10000):
        policy_set = cedarpy.PolicySet.from_str(policy_text(count))
        base = entities(count)
        prepared = [(req, cedarpy.Entities.from_json_str(json.dumps(base + [ent]))) for req, ent in requests(count)]
        decisions = [cedarpy.is_authorized(req, policy_set, ents).decision for req, ents in prepared]
        assert [d.value for d in decisions] == ["Allow", "Allow", "Deny", "Deny"], decisions
        samples = []
        for _ in range(200):  # warm-up
            req, ents = prepared[0]
            cedarpy.is_authorized(req, policy_set, ents)
        for i in range(20000 if count < 10000 else 5000):
            req, ents = prepared[i & 3]
            start = time.perf_counter_ns()
            cedarpy.is_authorized(req, policy_set, ents)
            samples.append(time.perf_counter_ns() - start)
        samples.sort()
        median = statistics.median(samples) / 1000
        p99 = samples[int(len(samples) * 0.99)] / 1000
        print(f"| {count:,} | {median:.1f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
