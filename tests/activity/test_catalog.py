"""The event catalogue as declared: one entry per code, each with the words people read.

That every catalogued type is emitted by some path of the product is checked for the whole
suite at once by tests/emitted_events.py, which fails the run naming any type no test emitted.
"""

from __future__ import annotations

from threshold.activity import catalog


def test_every_catalogued_type_is_found_by_its_code_and_has_a_label() -> None:
    assert catalog.CATALOG
    for code, event_type in catalog.CATALOG.items():
        assert catalog.get(code) is event_type
        assert str(event_type.label).strip(), code
        assert catalog.label_for(code) == str(event_type.label)
