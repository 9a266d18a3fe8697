from channels.segments import segments


def test_empty() -> None:
    assert segments("") == ("GSM-7", 1)
