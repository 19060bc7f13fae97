"""Measure what one application costs in MongoDB, for the storage arithmetic in docs/scaling.md.

    python -m infra.measure_storage --gateway http://127.0.0.1:8000 --admin-key KEY --mongo-url URL \
        [--namespace hireloop] [--applications 200]

Against a running platform (e.g. `make run`, on its own vhost and HIRELOOP_NAMESPACE), it drives applications
through the loop the way a real group would (most screened and rejected, a fifth interviewed by two
interviewers with scorecards, then passed or failed), waits for the events to settle, and prints every
collection of every hireloop database: documents, BSON bytes (as stored, before compression and indexes) and
bytes per application. Not a benchmark: sizes, not speeds.
"""

from __future__ import annotations

import argparse
import random
import time

import bson
import httpx
from pymongo import MongoClient

SKILLS = ["coffee", "customer service", "latte art", "cash handling", "inventory", "python", "sql", "excel",
          "forklift", "first aid", "scheduling", "negotiation", "german", "spanish", "logistics", "sales"]
FIRST = ["Lin", "Ana", "Bo", "Chidi", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemi"]
LAST = ["Wei", "Silva", "Berg", "Okafor", "Novak", "Haddad", "Kowalski", "Tanaka", "Moreau", "Ionescu"]


def drive(base: str, admin_key: str, applications: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    http = httpx.Client(base_url=base, timeout=30)
    tag = f"{int(time.time())}"

    def key(name: str, role: str) -> dict:
        made = http.post("/v1/api-keys", headers={"Authorization": f"Bearer {admin_key}"},
                         json={"name": name, "role": role, "divisions": ["retail"]})
        made.raise_for_status()
        return {"Authorization": f"Bearer {made.json()['key']}"}

    hr, rec = key(f"hr-{tag}", "hr"), key(f"rec-{tag}", "recruiter")
    ana, bo = key(f"ana{tag}", "interviewer"), key(f"bo{tag}", "interviewer")
    reqs = []
    for n in range(5):
        skills = rnd.sample(SKILLS, 4)
        r = http.post("/v1/requisitions", headers=hr, json={
            "title": f"Store associate {n}", "division": "retail", "department": "stores", "tier": "basic",
            "required_skills": skills[:2], "skills": skills[2:], "min_years": 1})
        r.raise_for_status()
        reqs.append((r.json()["id"], skills))
    apps = []
    for n in range(applications):
        req, skills = rnd.choice(reqs)
        have = (skills[:2] if rnd.random() < 0.4 else rnd.sample(SKILLS, 2)) + rnd.sample(SKILLS, rnd.randint(1, 4))
        name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
        r = http.post("/v1/applications", headers=rec, json={
            "requisition_id": req, "source": rnd.choice(["referral", "job_board", "career_site", "agency"]),
            "talent_pool_consent": rnd.random() < 0.7,
            "candidate": {"name": name, "email": f"cand{tag}{n}@example.com", "phone": f"+44 7700 9{n:05d}",
                          "skills": sorted(set(have)), "years_experience": rnd.randint(0, 12)}})
        r.raise_for_status()
        apps.append(r.json()["id"])
    time.sleep(5)  # screening
    for app in apps:
        if http.get(f"/v1/applications/{app}", headers=rec).json()["status"] != "shortlisted" or rnd.random() > 0.5:
            continue
        i = http.post(f"/v1/applications/{app}/interviews", headers=rec, json={
            "interviewers": [f"ana{tag}", f"bo{tag}"], "scheduled_at": "2026-12-01T09:00:00Z",
            "competencies": ["craft", "service"], "allow_clash": True})
        if i.status_code >= 300:
            continue
        interview = i.json()["id"]
        for who, headers in ((f"ana{tag}", ana), (f"bo{tag}", bo)):
            http.post(f"/v1/interviews/{interview}/scorecards", headers=headers, json={
                "interviewer": who, "ratings": {"craft": rnd.randint(2, 5), "service": rnd.randint(2, 5)},
                "recommendation": rnd.choice(["strong_yes", "yes", "no"]),
                "highlights": ["Calm under a rush, clear about stock rotation"], "notes": "Good rapport " * 8})
        time.sleep(0.3)
        http.post(f"/v1/applications/{app}/decision", headers=hr,
                  json={"outcome": rnd.choice(["pass", "pass", "fail"])})
    time.sleep(10)  # events, notices, pool
    return apps


def measure(mongo_url: str, namespace: str, applications: int) -> None:
    client = MongoClient(mongo_url)
    total = 0
    print(f"{'database.collection':48} {'docs':>7} {'bytes':>10} {'avg':>7} {'per app':>8}")
    for db_name in sorted(n for n in client.list_database_names() if n.startswith(namespace + "_")):
        db = client[db_name]
        for coll in sorted(db.list_collection_names()):
            sizes = [len(bson.encode(doc)) for doc in db[coll].find()]
            if not sizes:
                continue
            total += sum(sizes)
            print(f"{db_name + '.' + coll:48} {len(sizes):7} {sum(sizes):10} {sum(sizes) // len(sizes):7} "
                  f"{sum(sizes) / applications:8.0f}")
    print(f"{'total':48} {'':7} {total:10} {'':7} {total / applications:8.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", default="http://127.0.0.1:8000")
    parser.add_argument("--admin-key", required=True)
    parser.add_argument("--mongo-url", required=True)
    parser.add_argument("--namespace", default="hireloop")
    parser.add_argument("--applications", type=int, default=200)
    args = parser.parse_args()
    apps = drive(args.gateway, args.admin_key, args.applications)
    measure(args.mongo_url, args.namespace, len(apps))


if __name__ == "__main__":
    main()
