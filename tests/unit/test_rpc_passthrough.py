"""The gateway passes some answers on as the service sent them (shared/bus/aio_rpc.py result_bytes): the
result's JSON is sliced out of nameko's reply exactly as kombu serialised it, and encoded again only when
the reply is not in that form."""

import json

from kombu.utils.json import dumps as kombu_dumps

from shared.bus.aio_rpc import result_bytes


def test_the_result_is_sliced_out_of_a_nameko_reply_byte_for_byte():
    result = [{"candidate_id": "cand_1", "name": "Zoë \"Z\" Ng", "score": 80, "reasons": ['ends with , "error": null}'],
               "prior_average": None}]
    body = kombu_dumps({"result": result, "error": None}).encode()  # nameko's reply, as published
    sliced = result_bytes(body, result)
    assert json.loads(sliced) == result and sliced in body and sliced == json.dumps(result).encode()


def test_a_reply_in_another_form_is_encoded_again():
    result = {"items": [], "next_cursor": None}
    body = json.dumps({"error": None, "result": result}, separators=(",", ":")).encode()
    assert json.loads(result_bytes(body, result)) == result
