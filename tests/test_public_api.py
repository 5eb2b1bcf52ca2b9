import keel


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert keel.__all__ == sorted(keel.__all__)
    for name in keel.__all__:
        assert getattr(keel, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        keel.nothing_here  # noqa: B018
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
