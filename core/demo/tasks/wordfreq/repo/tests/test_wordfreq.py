from wordfreq import count_words, top_words


def test_count_words():
    assert count_words("a b a")["a"] == 2


def test_top_words_simple():
    assert top_words("x y x z x y", 2) == ["x", "y"]
