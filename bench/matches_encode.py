"""The gateway's CPU for one answer of 50 matches, in process: read into list[Match], model_dump for the
audit and FastAPI's jsonable_encoder + JSONResponse (what the route did), against slicing the result out of
nameko's reply, the audit reading the decoded JSON, and Response (what it does; docs/decisions/005).

    PYTHONPATH=$PWD .venv/bin/python -m bench.matches_encode
"""
import json
import time

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from kombu.utils.json import dumps as kombu_dumps

from gateway.audit import personal_fields
from shared.bus.aio_rpc import result_bytes
from shared.contracts import talent_pool as pool

items = [{"candidate_id": f"cand_{i:024x}", "name": f"Candidate Number {i}", "score": 90 - i // 2,
          "matched_skills": ["Python", "SQL", "Airflow"], "missing_skills": ["Kafka"] if i % 2 else [],
          "prior_average": 4.1, "reasons": ["Has all 2 required skills: Python, SQL.",
                                            "Has 1 of 2 nice-to-have skills: Airflow.",
                                            "Passed the interview for Data Engineer (logistics) with an average"
                                            " of 4.1/5 on 2026-05-01.",
                                            "Declined the previous offer; in the talent pool since 2026-05-10."],
          "pooled_reason": "declined"} for i in range(50)]
body = kombu_dumps({"result": pool.GetMatches.dump_result(items), "error": None}).encode()


def before():
    reply = json.loads(body)
    found = pool.GetMatches.read_result(reply["result"])
    reads = [(m.candidate_id, personal_fields("match", m.model_dump())) for m in found]
    return JSONResponse(jsonable_encoder(found)).body, reads


def after():
    reply = json.loads(body)
    value = reply["result"]
    reads = [(m["candidate_id"], personal_fields("match", m)) for m in value]
    return Response(result_bytes(body, value), media_type="application/json").body, reads


assert json.loads(before()[0]) == json.loads(after()[0]) and before()[1] == after()[1]
for name, fn in (("before", before), ("after", after)):
    for _ in range(200):
        fn()
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    print(f"{name}: {(time.perf_counter() - t0) / n * 1e6:.0f} us per answer (50 matches, {len(body)} bytes)")
