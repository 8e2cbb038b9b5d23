from textkit import slugify, strip_accents


def test_strip_accents():
    assert strip_accents("Crème brûlée") == "Creme brulee"


def test_slugify_simple():
    assert slugify("Hello World") == "hello-world"


def test_slugify_punctuation():
    assert slugify("Hello, World!") == "hello-world"
