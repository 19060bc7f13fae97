"""The embedded store's address asks PyMongo for no retryable writes (bench/embedded_writes.py: with them,
secantusdb's cost per write grows with every write made), and still connects directly to the one server."""

from urllib.parse import parse_qs, urlsplit

from pymongo.uri_parser import parse_uri

from infra.embedded_mongo import EmbeddedMongo


def test_the_embedded_store_url_turns_retryable_writes_off():
    url = EmbeddedMongo(port=27999).url
    query = parse_qs(urlsplit(url).query)
    assert query["retryWrites"] == ["false"] and query["directConnection"] == ["true"]
    options = parse_uri(url)["options"]  # what PyMongo will do with it
    assert options["retryWrites"] is False and options["directConnection"] is True
