"""Helpers the tests share: servers, databases, champions, payloads, prerequisites.

Test modules import from here (``from tests.support.api_servers import ...``), never from
each other."""
