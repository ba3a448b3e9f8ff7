"""The ``DriftBookkeeping`` part of the state contract: the fingerprints of what the drift checks
verified, a set kept whole; each save replaces it."""

from __future__ import annotations

import pytest

from webex_provisioner.errors import StateError
from webex_provisioner.model.drift import VERIFIED_BYTES
from webex_provisioner.ports import StateStore


def _fingerprints(*ns: int) -> list[bytes]:
    """The fingerprint numbered N of each of ``ns``: ``VERIFIED_BYTES`` bytes standing for one
    comparison."""
    return [n.to_bytes(VERIFIED_BYTES, "big") for n in ns]


class DriftBookkeepingContract:
    """Fingerprints read back as the set last saved, exactly; a save replaces all of them; a bad
    fingerprint is refused by its position and nothing is written."""

    def test_nothing_is_verified_at_first(self, store: StateStore) -> None:
        """A new store keeps no fingerprint."""
        assert store.verified() == frozenset()

    def test_saved_fingerprints_read_back_equal(self, store: StateStore) -> None:
        """The fingerprints saved read back as a frozenset equal to them."""
        saved = _fingerprints(1, 2, 3)

        store.save_verified(saved)

        got = store.verified()
        assert isinstance(got, frozenset) and got == frozenset(saved)

    def test_any_bytes_read_back_exactly(self, store: StateStore) -> None:
        """A fingerprint is opaque: NUL and high bytes read back byte for byte."""
        saved = {b"\x00" * VERIFIED_BYTES, b"\xff" * VERIFIED_BYTES, bytes(range(240, 240 + VERIFIED_BYTES))}

        store.save_verified(saved)

        assert store.verified() == saved

    def test_saving_again_replaces_everything(self, store: StateStore) -> None:
        """A save keeps only the fingerprints it gives: none kept before survives."""
        store.save_verified(_fingerprints(1, 2, 3))

        store.save_verified(_fingerprints(3, 4))

        assert store.verified() == frozenset(_fingerprints(3, 4))

    def test_an_empty_save_forgets_everything(self, store: StateStore) -> None:
        """Saving no fingerprint forgets all those kept."""
        store.save_verified(_fingerprints(1, 2))

        store.save_verified([])

        assert store.verified() == frozenset()

    def test_duplicates_are_kept_once(self, store: StateStore) -> None:
        """A fingerprint given twice is accepted and kept once."""
        store.save_verified(_fingerprints(1, 2, 1, 1))

        got = store.verified()
        assert got == frozenset(_fingerprints(1, 2)) and len(got) == 2

    @pytest.mark.parametrize(
        ("bad", "flaw"),
        [
            (b"x" * (VERIFIED_BYTES + 1), f"is {VERIFIED_BYTES + 1} bytes long"),
            (b"x" * (VERIFIED_BYTES - 1), f"is {VERIFIED_BYTES - 1} bytes long"),
            (b"", "is 0 bytes long"),
            ("0123456789abcdef", "not bytes"),
            (bytearray(VERIFIED_BYTES), "not bytes"),
            (None, "not bytes"),
        ],
        ids=["too-long", "too-short", "empty", "str", "bytearray", "none"],
    )
    def test_a_bad_fingerprint_is_refused_by_its_position_and_nothing_is_written(
        self, store: StateStore, bad: object, flaw: str
    ) -> None:
        """A fingerprint that is not bytes, or not ``VERIFIED_BYTES`` long, raises ``StateError``
        giving its position and what is wrong; the fingerprints kept before stay."""
        store.save_verified(_fingerprints(1))
        batch = [*_fingerprints(2, 3), bad, *_fingerprints(4)]

        with pytest.raises(StateError) as raised:
            store.save_verified(batch)  # type: ignore[arg-type]

        assert "position 2" in raised.value.message and flaw in raised.value.message
        assert store.verified() == frozenset(_fingerprints(1))

    def test_a_hundred_thousand_fingerprints_round_trip(self, store: StateStore) -> None:
        """100,000 fingerprints (one per linked user of a large directory) read back equal."""
        saved = frozenset(_fingerprints(*range(100_000)))

        store.save_verified(saved)

        assert store.verified() == saved

    def test_what_goes_in_and_comes_out_cannot_change_what_is_stored(self, store: StateStore) -> None:
        """Changing the collection handed to ``save_verified`` changes nothing stored, and what
        ``verified`` returns is a frozenset, which nothing can change."""
        given = _fingerprints(1, 2)
        store.save_verified(given)
        given.append(_fingerprints(3)[0])
        given.remove(_fingerprints(1)[0])

        got = store.verified()

        assert type(got) is frozenset
        assert store.verified() == frozenset(_fingerprints(1, 2))
