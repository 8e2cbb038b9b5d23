"""The one binary-diff stripper every sandbox uses."""
from swegym.diffs import strip_binary

TEXT = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
BINARY = "diff --git a/b.bin b/b.bin\nnew file mode 100644\nindex 0000000..e69de29\nBinary files /dev/null and b/b.bin differ\n"
LITERAL = "diff --git a/c.bin b/c.bin\nindex 1..2 100644\nGIT binary patch\nliteral 3\nKcmZ?\n\n"


def test_binary_sections_are_dropped_text_sections_kept():
    assert strip_binary(BINARY + TEXT + LITERAL) == TEXT
    assert strip_binary(TEXT + BINARY) == TEXT
    assert strip_binary("") == ""


def test_a_text_line_that_mentions_binary_files_is_kept():
    text = TEXT.replace("+y\n", "+Binary files a and b differ here\n")
    assert strip_binary(text) == text
